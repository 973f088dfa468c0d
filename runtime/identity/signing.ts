/**
 * Purpose-bound signatures (SPEC §6 "Signing"). What is signed is never the
 * caller's bytes alone but
 *
 *     u32 LE byte length of the purpose ‖ purpose (UTF-8) ‖ message
 *
 * so a signature made for one purpose (an admin command) can never be
 * presented as one for another (a ledger vote), even over the same bytes.
 * The length prefix makes the split unambiguous. The message itself is the
 * caller's fixed-layout encoding (runtime/store/bytes.ts), never JSON.
 *
 * Verification is `Ed25519PublicKey.verify`: the one rule (ed25519.ts).
 */
import { QallowError } from '../errors.js';
import type { Ed25519PublicKey, Ed25519SecretKey } from './ed25519.js';

/** `qallow/<name>/v<N>`: what a signature is for. */
export type SigningPurpose = `qallow/${string}/v${number}`;

export const PURPOSE = {
  ledgerEntry: 'qallow/ledger-entry/v1',
  vote: 'qallow/vote/v1',
  admin: 'qallow/admin/v1',
} as const satisfies Record<string, SigningPurpose>;

const PURPOSE_RULE = /^qallow\/[a-z0-9][a-z0-9.-]*\/v[1-9][0-9]*$/;

export function isSigningPurpose(value: string): value is SigningPurpose {
  return PURPOSE_RULE.test(value);
}

function checkPurpose(purpose: string): Uint8Array {
  if (!isSigningPurpose(purpose)) {
    throw new QallowError('BAD_PARAMETER', `signing purpose must look like "qallow/<name>/v<N>" (got ${JSON.stringify(purpose)})`, { purpose });
  }
  return Buffer.from(purpose, 'utf8');
}

/** The exact bytes that are signed for `purpose` and `message`. */
export function signedBytes(purpose: SigningPurpose, message: Uint8Array): Uint8Array {
  const p = checkPurpose(purpose);
  const out = new Uint8Array(4 + p.byteLength + message.byteLength);
  new DataView(out.buffer).setUint32(0, p.byteLength, true);
  out.set(p, 4);
  out.set(message, 4 + p.byteLength);
  return out;
}

/** Sign `message` for `purpose`: 64 bytes. */
export function sign(purpose: SigningPurpose, message: Uint8Array, secret: Ed25519SecretKey): Uint8Array {
  return secret.sign(signedBytes(purpose, message));
}

/** Whether `signature` is `publicKey`'s signature of `message` for `purpose`, by the one rule. */
export function verify(purpose: SigningPurpose, message: Uint8Array, signature: Uint8Array, publicKey: Ed25519PublicKey): boolean {
  return publicKey.verify(signedBytes(purpose, message), signature);
}

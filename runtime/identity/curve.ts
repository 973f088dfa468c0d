/**
 * CURVE key pairs for the ZeroMQ transport: X25519 keys written as 40-letter
 * Z85 strings, the form zeromq.js takes (`socket.curveSecretKey = ...`).
 * New pairs come from `zeromq.curveKeyPair()` (libsodium); a loaded pair is
 * checked by deriving the public key from the secret one with node:crypto's
 * X25519, so a file whose halves do not belong together is refused.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { curveKeyPair } from 'zeromq';
import { keyInvalid, type KeySource } from './key-error.js';
import { z85Decode, z85Encode } from './z85.js';

export const CURVE_KEY_TEXT_LENGTH = 40;

export interface CurveKeyPair {
  /** Z85, 40 characters. */
  readonly publicKey: string;
  /** Z85, 40 characters. */
  readonly secretKey: string;
}

const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI_LENGTH = 44;

/** The 32 bytes of a Z85 CURVE key, or KEY_INVALID naming `source`. */
export function curveKeyBytes(value: unknown, source: KeySource): Uint8Array {
  if (typeof value !== 'string') {
    throw keyInvalid(source, `must be a ${CURVE_KEY_TEXT_LENGTH}-character Z85 string (got ${value === undefined ? 'nothing' : typeof value})`);
  }
  if (value.length !== CURVE_KEY_TEXT_LENGTH) {
    throw keyInvalid(source, `must be ${CURVE_KEY_TEXT_LENGTH} characters of Z85 (got ${value.length})`);
  }
  const bytes = z85Decode(value);
  if (bytes === undefined) throw keyInvalid(source, 'is not valid Z85 (ZeroMQ RFC 32)');
  return bytes;
}

/** The Z85 public key that belongs to a Z85 secret key. */
export function curvePublicFromSecret(secretKey: string, source: KeySource = { field: 'curve.secretKey' }): string {
  const secret = curveKeyBytes(secretKey, source);
  const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, secret]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return z85Encode(new Uint8Array(spki.subarray(X25519_SPKI_LENGTH - 32)));
}

/** Validate a public CURVE key; returns it unchanged. */
export function curvePublicKey(value: unknown, source: KeySource = { field: 'curve.publicKey' }): string {
  curveKeyBytes(value, source);
  return value as string;
}

/**
 * Validate a CURVE pair: both halves Z85 and the public one derived from the
 * secret one. `sources` name the two fields in errors.
 */
export function curvePair(
  publicKey: unknown,
  secretKey: unknown,
  sources: { readonly publicKey: KeySource; readonly secretKey: KeySource } = {
    publicKey: { field: 'curve.publicKey' },
    secretKey: { field: 'curve.secretKey' },
  },
): CurveKeyPair {
  const pub = curvePublicKey(publicKey, sources.publicKey);
  curveKeyBytes(secretKey, sources.secretKey);
  const derived = curvePublicFromSecret(secretKey as string, sources.secretKey);
  if (derived !== pub) {
    throw keyInvalid(sources.publicKey, `does not belong to ${sources.secretKey.field} (the secret key's public key is ${derived})`);
  }
  return { publicKey: pub, secretKey: secretKey as string };
}

export function generateCurveKeyPair(): CurveKeyPair {
  const { publicKey, secretKey } = curveKeyPair();
  return { publicKey, secretKey };
}

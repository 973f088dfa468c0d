/**
 * A signed admin command: the command, the host it is for, when it was made,
 * a random nonce, and the admin key's signature over the canonical bytes
 * (layout.ts) under the purpose `qallow/admin/v1`. A host accepts it once,
 * within the clock-skew window, from an authorised key (verifier.ts).
 */
import { randomBytes } from 'node:crypto';
import { nodeId, type NodeId } from '../actors/address.js';
import type { Ed25519SecretKey } from '../identity/ed25519.js';
import { PURPOSE, sign, signedBytes } from '../identity/signing.js';
import { parseAdminCommand, type AdminCommand } from './command.js';
import { NONCE_BYTES, adminCommandBytes } from './layout.js';
import { QallowError } from '../errors.js';

export const ADMIN_PURPOSE = PURPOSE.admin;

export interface SignedCommand {
  readonly command: AdminCommand;
  /** The node id of the host the command is for. */
  readonly target: NodeId;
  /** Milliseconds since the Unix epoch, on the signer's clock. */
  readonly timestamp: number;
  /** 16 random bytes; a host accepts each nonce once. */
  readonly nonce: Uint8Array;
  /** Ed25519, 64 bytes. */
  readonly signature: Uint8Array;
  /** The signer's Ed25519 public key, 32 bytes. */
  readonly adminKey: Uint8Array;
}

export interface SignCommandOptions {
  /** Timestamp to sign (default: Date.now()). */
  readonly now?: number | undefined;
  /** Nonce to sign (default: 16 random bytes). Tests only: a reused nonce is refused. */
  readonly nonce?: Uint8Array | undefined;
}

/** The exact bytes the admin key signs for `signed` (purpose prefix included). */
export function signedCommandBytes(signed: Omit<SignedCommand, 'signature' | 'adminKey'>): Uint8Array {
  return signedBytes(ADMIN_PURPOSE, adminCommandBytes(signed.target, signed.command, signed.timestamp, signed.nonce));
}

/**
 * Sign `command` for the host `targetNode`. The command is validated first
 * (BAD_PARAMETER naming the field) and signed in its normalised form.
 */
export function signCommand(command: AdminCommand, adminSecret: Ed25519SecretKey, targetNode: string, options: SignCommandOptions = {}): SignedCommand {
  const normalised = parseAdminCommand(command, 'BAD_PARAMETER');
  const target = nodeId(targetNode, 'target');
  const timestamp = options.now ?? Date.now();
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new QallowError('BAD_PARAMETER', `timestamp must be a non-negative integer of milliseconds (got ${timestamp})`, { field: 'timestamp' });
  }
  const nonce = options.nonce === undefined ? new Uint8Array(randomBytes(NONCE_BYTES)) : new Uint8Array(options.nonce);
  if (nonce.byteLength !== NONCE_BYTES) {
    throw new QallowError('BAD_PARAMETER', `nonce must be ${NONCE_BYTES} bytes (got ${nonce.byteLength})`, { field: 'nonce' });
  }
  const signature = sign(ADMIN_PURPOSE, adminCommandBytes(target, normalised, timestamp, nonce), adminSecret);
  return { command: normalised, target, timestamp, nonce, signature, adminKey: adminSecret.publicKey.bytes };
}

/**
 * The host side of admin commands: accept a signed command only if
 *
 *   1. it is addressed to this host                 else UNAUTHORIZED
 *   2. its admin key is one this host authorises    else UNAUTHORIZED
 *   3. its timestamp is within ±maxSkewMs of now    else STALE_COMMAND
 *      (and after the nonce cache's floor)
 *   4. the signature verifies (the one Ed25519 rule,
 *      purpose qallow/admin/v1, node id inside)     else BAD_SIGNATURE
 *   5. its nonce has not been accepted before       else REPLAYED_COMMAND
 *
 * in that order: cheap checks first, and only a command whose signature
 * verified can put its nonce in the cache (a forger cannot fill or poison
 * it). `verify` is synchronous, so no two calls interleave between the
 * replay check and the recording of the nonce.
 *
 * Time comes from a `WallClock` (ms since the Unix epoch) handed in. The
 * verifier never lets its notion of now go backwards: were the clock set
 * back, a nonce already expired could otherwise be accepted again.
 */
import { nodeId as checkNodeId, type NodeId } from '../actors/address.js';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, Ed25519PublicKey } from '../identity/ed25519.js';
import { QallowError } from '../errors.js';
import type { AdminCommand } from './command.js';
import { NONCE_BYTES } from './layout.js';
import { NonceCache } from './nonce-cache.js';
import { signedCommandBytes, type SignedCommand } from './signed.js';

export interface WallClock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemWallClock: WallClock = { now: () => Date.now() };

export const DEFAULT_MAX_SKEW_MS = 30_000;
export const DEFAULT_MAX_NONCES = 100_000;

export interface AdminVerifierInit {
  /** This host's node id: commands must be addressed to it. */
  readonly node: string;
  /** The authorised admin public keys (config): decoded keys, raw bytes or hex. */
  readonly adminKeys: readonly (Ed25519PublicKey | Uint8Array | string)[];
  /** Largest accepted difference between a command's timestamp and now, either way (default 30 s). */
  readonly maxSkewMs?: number | undefined;
  /** Most nonces remembered at once (default 100 000). */
  readonly maxNonces?: number | undefined;
}

export interface AdminVerifierComponents {
  readonly clock?: WallClock | undefined;
}

export interface VerifiedCommand {
  readonly command: AdminCommand;
  readonly adminKey: Ed25519PublicKey;
  readonly timestamp: number;
  /** Hex. */
  readonly nonce: string;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function short(keyHex: string): string {
  return `${keyHex.slice(0, 16)}…`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** A SignedCommand built in-process rather than decoded may still be malformed. */
function checkShape(s: SignedCommand): void {
  const bad = (field: string, rule: string): QallowError => new QallowError('BAD_FRAME', `signedCommand.${field} ${rule}`, { field: `signedCommand.${field}` });
  if (!Number.isSafeInteger(s.timestamp) || s.timestamp < 0) throw bad('timestamp', 'must be a non-negative integer of milliseconds');
  if (!(s.nonce instanceof Uint8Array) || s.nonce.byteLength !== NONCE_BYTES) throw bad('nonce', `must be ${NONCE_BYTES} bytes`);
  if (!(s.adminKey instanceof Uint8Array) || s.adminKey.byteLength !== ED25519_PUBLIC_KEY_BYTES) throw bad('adminKey', `must be ${ED25519_PUBLIC_KEY_BYTES} bytes`);
  if (!(s.signature instanceof Uint8Array) || s.signature.byteLength !== ED25519_SIGNATURE_BYTES) throw bad('signature', `must be ${ED25519_SIGNATURE_BYTES} bytes`);
}

export class AdminVerifier {
  readonly node: NodeId;
  readonly maxSkewMs: number;
  readonly #keys = new Map<string, Ed25519PublicKey>();
  readonly #clock: WallClock;
  readonly #nonces: NonceCache;
  #lastNow = -Infinity;

  constructor(init: AdminVerifierInit, components: AdminVerifierComponents = {}) {
    this.node = checkNodeId(init.node, 'node');
    this.maxSkewMs = init.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
    if (!Number.isFinite(this.maxSkewMs) || this.maxSkewMs < 0) {
      throw new QallowError('BAD_PARAMETER', `maxSkewMs must be a finite number ≥ 0 (got ${this.maxSkewMs})`, { field: 'maxSkewMs' });
    }
    const maxNonces = init.maxNonces ?? DEFAULT_MAX_NONCES;
    if (!Number.isSafeInteger(maxNonces) || maxNonces < 1) {
      throw new QallowError('BAD_PARAMETER', `maxNonces must be an integer ≥ 1 (got ${maxNonces})`, { field: 'maxNonces' });
    }
    init.adminKeys.forEach((k, i) => {
      const source = { field: `adminKeys[${i}]` };
      const key = k instanceof Ed25519PublicKey ? k : typeof k === 'string' ? Ed25519PublicKey.fromHex(k, source) : Ed25519PublicKey.fromBytes(k, source);
      this.#keys.set(key.hex, key);
    });
    this.#clock = components.clock ?? systemWallClock;
    this.#nonces = new NonceCache(maxNonces, this.maxSkewMs);
  }

  /** Nonces currently remembered. */
  get remembered(): number {
    return this.#nonces.size;
  }

  /** Whether `key` is authorised here. */
  authorises(key: Ed25519PublicKey): boolean {
    return this.#keys.has(key.hex);
  }

  /**
   * Remember the nonce (hex) of a command accepted earlier — by an earlier
   * incarnation of this host, read back from its nonce log (nonce-log.ts) —
   * so that a replay of it is refused as REPLAYED_COMMAND after a restart.
   */
  remember(nonce: string, timestamp: number): void {
    const now = (this.#lastNow = Math.max(this.#lastNow, this.#clock.now()));
    this.#nonces.add(nonce, timestamp, now);
  }

  /** Accept `signed` (and remember its nonce), or throw the refusal. */
  verify(signed: SignedCommand): VerifiedCommand {
    checkShape(signed);
    const now = (this.#lastNow = Math.max(this.#lastNow, this.#clock.now()));
    this.#nonces.expire(now);
    const type = signed.command.type;

    if (signed.target !== this.node) {
      throw new QallowError(
        'UNAUTHORIZED',
        `admin command ${type} is addressed to node "${signed.target}", this is node "${this.node}"; sign it for "${this.node}" or send it to "${signed.target}"`,
        { target: signed.target, node: this.node, type },
      );
    }

    const keyHex = hex(signed.adminKey);
    const key = this.#keys.get(keyHex);
    if (key === undefined) {
      throw new QallowError(
        'UNAUTHORIZED',
        `admin key ${short(keyHex)} is not authorised on node "${this.node}"; add its public key (admin.json) to this host's admin keys`,
        { adminKey: keyHex, node: this.node, type },
      );
    }

    const skew = signed.timestamp - now;
    if (!Number.isFinite(skew) || Math.abs(skew) > this.maxSkewMs) {
      const when = skew > 0 ? `${seconds(skew)} in the future` : `${seconds(-skew)} old`;
      throw new QallowError(
        'STALE_COMMAND',
        `admin command ${type} is stamped ${iso(signed.timestamp)}, ${when} by node "${this.node}"'s clock (the window is ±${seconds(this.maxSkewMs)}); check both clocks and sign it again`,
        { timestamp: signed.timestamp, now, skewMs: skew, maxSkewMs: this.maxSkewMs, type },
      );
    }
    if (signed.timestamp <= this.#nonces.floor) {
      throw new QallowError(
        'STALE_COMMAND',
        `admin command ${type} is stamped ${iso(signed.timestamp)}, no later than commands node "${this.node}" had to forget (its nonce cache of ${this.#nonces.maxEntries} is full), so a replay could not be told apart; sign it again`,
        { timestamp: signed.timestamp, floor: this.#nonces.floor, maxNonces: this.#nonces.maxEntries, type },
      );
    }

    if (!key.verify(signedCommandBytes(signed), signed.signature)) {
      throw new QallowError(
        'BAD_SIGNATURE',
        `admin command ${type} does not carry a valid signature by admin key ${short(keyHex)} for node "${this.node}"; it was altered or signed with another key`,
        { adminKey: keyHex, node: this.node, type },
      );
    }

    const nonce = hex(signed.nonce);
    const first = this.#nonces.seen(nonce, now);
    if (first !== undefined) {
      throw new QallowError(
        'REPLAYED_COMMAND',
        `admin command ${type} with nonce ${nonce} was already accepted (stamped ${iso(first)}); each signed command runs once, so sign a new one`,
        { nonce, timestamp: signed.timestamp, type },
      );
    }
    this.#nonces.add(nonce, signed.timestamp, now);
    return { command: signed.command, adminKey: key, timestamp: signed.timestamp, nonce };
  }
}

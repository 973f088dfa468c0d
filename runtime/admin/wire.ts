/**
 * A SignedCommand on the wire: one msgpackr map
 *
 *   { v: 1, target: str, timestamp: uint, nonce: bin16, adminKey: bin32, signature: bin64, command: map }
 *
 * Integers (`v`, `timestamp`, the command's counts) may come in any exact
 * MessagePack encoding — fixint, uint8..uint64, int8..int64, or a float
 * holding a whole number — and must be at most 2^53 − 1 (runtime/integer.ts);
 * a fraction, a negative timestamp or a larger value is BAD_FRAME.
 *
 * Decoding is validation (STYLE "Decode means validate"): anything that is
 * not exactly this — too large, not msgpack, an unknown version or field, a
 * wrong type or length, a command that `parseAdminCommand` refuses — throws
 * BAD_FRAME with `details.field` naming the part (`signedCommand.nonce`,
 * `command.params.ticks`). BAD_FRAME, not BAD_SIGNATURE: the frame is
 * malformed; whether a well-formed one is authentic is the verifier's call.
 * Decoding does not verify anything cryptographic.
 */
import { Packr, Unpackr } from 'msgpackr';
import { isNodeId } from '../actors/address.js';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from '../identity/ed25519.js';
import { QallowError } from '../errors.js';
import { exactInteger, exactUint, showInteger } from '../integer.js';
import { commandError, isPlainObject, parseAdminCommand } from './command.js';
import { NONCE_BYTES } from './layout.js';
import type { SignedCommand } from './signed.js';

export const SIGNED_COMMAND_WIRE_VERSION = 1;
/** Largest encoded SignedCommand accepted (a run command with 2^20 couplings fits). */
export const MAX_SIGNED_COMMAND_BYTES = 16 * 1024 * 1024;

const FIELDS = ['v', 'target', 'timestamp', 'nonce', 'adminKey', 'signature', 'command'] as const;

// Plain maps only: no records/structures, so a frame is self-describing and
// the decoder never keeps state between frames.
const OPTIONS = { useRecords: false, mapsAsObjects: true, moreTypes: false, bundleStrings: false, structuredClone: false } as const;
const packr = new Packr(OPTIONS);
const unpackr = new Unpackr(OPTIONS);

export function encodeSignedCommand(signed: SignedCommand): Uint8Array {
  // Copy: msgpackr may hand back a view of a buffer it reuses for the next pack.
  return new Uint8Array(packr.pack({
    v: SIGNED_COMMAND_WIRE_VERSION,
    target: signed.target,
    timestamp: signed.timestamp,
    nonce: signed.nonce,
    adminKey: signed.adminKey,
    signature: signed.signature,
    command: parseAdminCommand(signed.command, 'BAD_PARAMETER'),
  }));
}

function bad(field: string, message: string, value: unknown): QallowError {
  return commandError('BAD_FRAME', `signedCommand.${field}`, message, value);
}

function bytes(o: Record<string, unknown>, field: string, length: number): Uint8Array {
  const v = o[field];
  if (!(v instanceof Uint8Array)) throw bad(field, `must be ${length} bytes of binary`, v === null ? null : typeof v);
  if (v.byteLength !== length) throw bad(field, `must be ${length} bytes`, v);
  return new Uint8Array(v); // own copy, off msgpackr's shared buffer
}

export function decodeSignedCommand(frame: Uint8Array): SignedCommand {
  if (frame.byteLength > MAX_SIGNED_COMMAND_BYTES) {
    throw new QallowError('BAD_FRAME', `signedCommand is ${frame.byteLength} bytes, more than the limit of ${MAX_SIGNED_COMMAND_BYTES}`, { field: 'signedCommand', bytes: frame.byteLength });
  }
  let raw: unknown;
  try {
    raw = unpackr.unpack(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
  } catch (e) {
    throw new QallowError('BAD_FRAME', `signedCommand is not valid msgpack (${e instanceof Error ? e.message : String(e)})`, { field: 'signedCommand' });
  }
  if (!isPlainObject(raw)) throw commandError('BAD_FRAME', 'signedCommand', 'must be a map', raw);
  const o = raw;
  for (const k of Object.keys(o)) {
    if (!(FIELDS as readonly string[]).includes(k)) throw bad(k, `is not a field of a signed command (fields: ${FIELDS.join(', ')})`, o[k]);
  }
  for (const k of FIELDS) if (!Object.hasOwn(o, k)) throw bad(k, 'is missing', undefined);
  if (exactInteger(o['v']) !== SIGNED_COMMAND_WIRE_VERSION) throw bad('v', `must be ${SIGNED_COMMAND_WIRE_VERSION} (this host speaks version ${SIGNED_COMMAND_WIRE_VERSION})`, o['v']);
  const target = o['target'];
  if (typeof target !== 'string' || !isNodeId(target)) throw bad('target', 'must be a node id', target);
  // Any exact integer encoding: a uint64/int64 (a BigInt here), a smaller int, or a whole float.
  const timestamp = exactUint(o['timestamp']);
  if (timestamp === undefined) {
    throw bad('timestamp', 'must be a non-negative integer of milliseconds, at most 2^53 − 1 (any MessagePack integer encoding, or a whole float)', showInteger(o['timestamp']));
  }
  return {
    target,
    timestamp,
    nonce: bytes(o, 'nonce', NONCE_BYTES),
    adminKey: bytes(o, 'adminKey', ED25519_PUBLIC_KEY_BYTES),
    signature: bytes(o, 'signature', ED25519_SIGNATURE_BYTES),
    command: parseAdminCommand(o['command'], 'BAD_FRAME', 'command'),
  };
}

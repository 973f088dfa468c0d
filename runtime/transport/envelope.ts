/**
 * The wire envelope and frame codec (SPEC §6).
 *
 * An envelope is {version, id, from, to, type, body}. On the wire it is a
 * MessagePack array in that fixed order — `[1, id, from, to, type, body]` —
 * so the layout is fixed, the version comes first (a later version may
 * change everything after it) and no key names are repeated per message.
 * Plain MessagePack only: no msgpackr records or shared structures, so every
 * frame decodes on its own.
 *
 * A frame is either one envelope or a batch: an array of 1..`maxBatch`
 * envelopes from one sender, which is how the transport gets many small
 * actor messages through one ZeroMQ frame. The first item tells them apart
 * (the integer version vs. an envelope array). A batch is accepted or
 * rejected as a whole: a correct sender never mixes in a bad envelope.
 *
 * Decode means validate. `decodeFrame`/`decodeFrames` either return fully
 * checked envelopes or throw QallowError BAD_FRAME with `details.field`
 * naming what was wrong (`frame`, `version`, `id`, `from`, `to`, `type`,
 * `body.payload.x[2]`, prefixed by `envelopes[i].` inside a batch) and
 * `details.reason`: `oversized` | `truncated` | `malformed` | `too-deep` |
 * `version` | `unknown-type` | `invalid`. Nothing else is ever thrown.
 */
import { Packr } from 'msgpackr';
import { isNodeId, parseAddress, type NodeId } from '../actors/address.js';
import { QallowError } from '../errors.js';
import { checkBody, isWireType, show, type BodyRules, type Reject, type WireBodies, type WireType } from './messages.js';
import { ScanError, scanMsgpack } from './scan.js';

export const WIRE_VERSION = 1;

export type Envelope<T extends WireType = WireType> = {
  [K in T]: {
    readonly version: typeof WIRE_VERSION;
    /** Unique per sender and incarnation, increasing. */
    readonly id: number;
    readonly from: NodeId;
    /** `qallow://NODE/ACTOR`, validated. */
    readonly to: string;
    readonly type: K;
    readonly body: WireBodies[K];
  };
}[T];

export interface FrameLimits {
  /** Largest frame accepted or produced, in bytes. */
  readonly maxFrameBytes: number;
  /** Most envelopes in one batch frame. */
  readonly maxBatch: number;
  /** Deepest nesting inside an actor payload. */
  readonly maxDepth: number;
}

/** The receiver's limits must be at least the sender's: keep them cluster-wide. */
export const DEFAULT_FRAME_LIMITS: FrameLimits = { maxFrameBytes: 4 * 1024 * 1024, maxBatch: 4096, maxDepth: 32 };

export const MAX_ADDRESS_LENGTH = 1024;

/** The BAD_FRAME reasons, by the stats counter they go to. */
export type BadFrameKind = 'malformed' | 'oversized' | 'unknownType';

export function badFrameKind(e: QallowError): BadFrameKind {
  const reason = e.details['reason'];
  return reason === 'oversized' ? 'oversized' : reason === 'unknown-type' ? 'unknownType' : 'malformed';
}

// Plain MessagePack: no records, maps as plain objects, 64-bit integers as numbers
// (integer fields are then checked to be safe integers).
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, bundleStrings: false, structuredClone: false, int64AsType: 'number' });

function badFrame(field: string, message: string, reason = 'invalid'): QallowError {
  return new QallowError('BAD_FRAME', `frame rejected: ${field} ${message}`, { field, reason });
}

function badParameter(field: string, message: string): QallowError {
  return new QallowError('BAD_PARAMETER', `message rejected: ${field} ${message}`, { field });
}

// Addresses and node ids repeat from message to message; remember the valid ones (bounded).
const validAddresses = new Set<string>();
const VALID_CACHE_MAX = 8192;

const validNodeIds = new Set<string>();

/** `isNodeId`, remembering the valid ones. */
export function isNodeIdText(v: unknown): v is NodeId {
  if (typeof v !== 'string') return false;
  if (validNodeIds.has(v)) return true;
  if (!isNodeId(v)) return false;
  if (validNodeIds.size >= VALID_CACHE_MAX) validNodeIds.clear();
  validNodeIds.add(v);
  return true;
}

export function isAddressText(v: unknown): v is string {
  if (typeof v !== 'string' || v.length > MAX_ADDRESS_LENGTH) return false;
  if (validAddresses.has(v)) return true;
  try {
    parseAddress(v);
  } catch {
    return false;
  }
  if (validAddresses.size >= VALID_CACHE_MAX) validAddresses.clear();
  validAddresses.add(v);
  return true;
}

/** The header values last seen valid in this frame: a batch repeats them, and equal strings compare faster than they validate. */
interface Seen {
  from: unknown;
  to: unknown;
  type: unknown;
}

/** `reject` names fields relative to the envelope; '' is the envelope itself. */
function checkEnvelope(v: unknown, rules: BodyRules, reject: Reject, seen: Seen): Envelope {
  if (!Array.isArray(v)) throw reject('', `must be an envelope array [version, id, from, to, type, body] (got ${show(v)})`, 'malformed');
  const version: unknown = v[0];
  // Another version may have another layout: say so before looking at the rest.
  if (typeof version === 'number' && version !== WIRE_VERSION) throw reject('version', `must be ${WIRE_VERSION} (got ${show(version)})`, 'version');
  if (v.length !== 6) throw reject('', `must have 6 items [version, id, from, to, type, body] (got ${v.length})`, 'malformed');
  if (version !== WIRE_VERSION) throw reject('version', `must be ${WIRE_VERSION} (got ${show(version)})`, 'malformed');
  const id: unknown = v[1];
  const from: unknown = v[2];
  const to: unknown = v[3];
  const type: unknown = v[4];
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw reject('id', `must be an integer ≥ 0 (got ${show(id)})`);
  if (from !== seen.from) {
    if (!isNodeIdText(from)) throw reject('from', `must be a node id (got ${show(from)})`);
    seen.from = from;
  }
  if (to !== seen.to) {
    if (!isAddressText(to)) throw reject('to', `must be an address qallow://NODE/ACTOR (got ${show(to)})`);
    seen.to = to;
  }
  if (type !== seen.type) {
    if (!isWireType(type)) throw reject('type', `is not a known message type (got ${show(type)})`, 'unknown-type');
    seen.type = type;
  }
  return { version: WIRE_VERSION, id, from, to, type, body: checkBody(type as WireType, v[5], 'body', rules, reject) } as Envelope;
}

const packMessage = (id: number, from: string, to: string, type: WireType, body: unknown, limits: FrameLimits): Uint8Array => {
  const checked = checkBody(type, body, 'body', { maxDepth: limits.maxDepth, copyBytes: false }, badParameter);
  const bytes = packr.pack([WIRE_VERSION, id, from, to, type, checked]) as Uint8Array;
  if (bytes.byteLength > limits.maxFrameBytes) {
    throw new QallowError('BAD_PARAMETER', `message rejected: it encodes to ${bytes.byteLength} bytes, more than the ${limits.maxFrameBytes}-byte frame limit; send large data in parts`, {
      field: 'body',
      reason: 'oversized',
      bytes: bytes.byteLength,
    });
  }
  return bytes;
};

/**
 * Encode a message whose header the caller has already checked (`from` a
 * node id, `to` an address, `type` a wire type, `id` ≥ 0); the body is
 * checked here. For the transport's send path.
 */
export function encodeChecked(id: number, from: NodeId, to: string, type: WireType, body: unknown, limits: FrameLimits): Uint8Array {
  return packMessage(id, from, to, type, body, limits);
}

/**
 * Check an envelope built by this host and encode it as a one-envelope
 * frame. A bad field throws BAD_PARAMETER naming it; a message larger than
 * `maxFrameBytes` throws BAD_PARAMETER with `details.reason: 'oversized'`.
 */
export function encodeEnvelope(env: Envelope, limits: FrameLimits = DEFAULT_FRAME_LIMITS): Uint8Array {
  if (env.version !== WIRE_VERSION) throw badParameter('version', `must be ${WIRE_VERSION} (got ${show(env.version)})`);
  if (!Number.isSafeInteger(env.id) || env.id < 0) throw badParameter('id', `must be an integer ≥ 0 (got ${show(env.id)})`);
  if (!isNodeIdText(env.from)) throw badParameter('from', `must be a node id (got ${show(env.from)})`);
  if (!isAddressText(env.to)) throw badParameter('to', `must be an address qallow://NODE/ACTOR (got ${show(env.to)})`);
  if (!isWireType(env.type)) throw badParameter('type', `is not a known message type (got ${show(env.type)})`);
  return packMessage(env.id, env.from, env.to, env.type, env.body, limits);
}

/** Bytes of the MessagePack array header for `n` items. */
export function batchHeaderBytes(n: number): number {
  return n <= 15 ? 1 : n <= 0xffff ? 3 : 5;
}

/**
 * One batch frame from envelopes encoded by `encodeEnvelope` (one sender,
 * in order). A single envelope is its own frame: no header, no copy.
 */
export function encodeBatch(parts: readonly Uint8Array[]): Uint8Array {
  const n = parts.length;
  if (n === 1) return parts[0]!;
  if (n === 0) throw badParameter('parts', 'must hold at least one envelope');
  const head = batchHeaderBytes(n);
  let total = head;
  for (const p of parts) total += p.byteLength;
  const out = Buffer.allocUnsafe(total);
  if (head === 1) out[0] = 0x90 | n;
  else if (head === 3) {
    out[0] = 0xdc;
    out.writeUInt16BE(n, 1);
  } else {
    out[0] = 0xdd;
    out.writeUInt32BE(n, 1);
  }
  let at = head;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function unpackChecked(bytes: Uint8Array, limits: FrameLimits): { value: unknown; hasBytes: boolean; topArrayLength: number } {
  if (!(bytes instanceof Uint8Array)) throw badFrame('frame', `must be bytes (got ${show(bytes)})`, 'malformed');
  if (bytes.byteLength > limits.maxFrameBytes) throw badFrame('frame', `is ${bytes.byteLength} bytes, more than the ${limits.maxFrameBytes}-byte limit`, 'oversized');
  if (bytes.byteLength === 0) throw badFrame('frame', 'is empty', 'truncated');
  let scan;
  try {
    // batch array > envelope array > body map > payload (depth 1) ...
    scan = scanMsgpack(bytes, limits.maxDepth + 3);
  } catch (e) {
    if (e instanceof ScanError) throw badFrame('frame', `is not valid MessagePack: ${e.message}`, e.reason);
    throw e;
  }
  let value: unknown;
  try {
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    value = packr.unpack(buf);
  } catch (e) {
    throw badFrame('frame', `is not valid MessagePack: ${e instanceof Error ? e.message : String(e)}`, 'malformed');
  }
  return { value, ...scan };
}

// Decoding is synchronous, so one Reject and one record of the envelope being checked serve every call.
let decodingIndex = -1;
const decodeReject: Reject = (field, message, reason) => {
  const i = decodingIndex;
  return badFrame(i < 0 ? field || 'frame' : field ? `envelopes[${i}].${field}` : `envelopes[${i}]`, message, reason);
};
const seen: Seen = { from: undefined, to: undefined, type: undefined };

function resetSeen(): Seen {
  seen.from = undefined;
  seen.to = undefined;
  seen.type = undefined;
  return seen;
}

/** Decode and validate a one-envelope frame. */
export function decodeFrame(bytes: Uint8Array, limits: FrameLimits = DEFAULT_FRAME_LIMITS): Envelope {
  const { value, hasBytes } = unpackChecked(bytes, limits);
  if (Array.isArray(value) && Array.isArray(value[0])) throw badFrame('frame', `is a batch of ${value.length} envelopes; decodeFrames reads batches`, 'malformed');
  decodingIndex = -1;
  return checkEnvelope(value, { maxDepth: limits.maxDepth, copyBytes: hasBytes }, decodeReject, resetSeen());
}

/** Decode and validate a frame that is one envelope or a batch; returns its envelopes in order. */
export function decodeFrames(bytes: Uint8Array, limits: FrameLimits = DEFAULT_FRAME_LIMITS): Envelope[] {
  const { value, hasBytes, topArrayLength } = unpackChecked(bytes, limits);
  const rules: BodyRules = { maxDepth: limits.maxDepth, copyBytes: hasBytes };
  const memo = resetSeen();
  decodingIndex = -1;
  if (!Array.isArray(value) || !Array.isArray(value[0])) return [checkEnvelope(value, rules, decodeReject, memo)];
  if (topArrayLength > limits.maxBatch) throw badFrame('frame', `batches ${topArrayLength} envelopes, more than the limit of ${limits.maxBatch}`, 'oversized');
  const out = new Array<Envelope>(value.length);
  for (let i = 0; i < value.length; i++) {
    decodingIndex = i;
    out[i] = checkEnvelope(value[i], rules, decodeReject, memo);
  }
  return out;
}

/**
 * The wire envelope and frame codec (SPEC §6).
 *
 * An envelope is {version, id, from, to, type, body}. On the wire it is a
 * MessagePack array in that fixed order — `[1, id, from, to, type, body]` —
 * so the layout is fixed, the version comes first (a later version may
 * change everything after it) and no key names are repeated per message.
 * Plain MessagePack only: no msgpackr records or shared structures, so every
 * frame decodes on its own (any MessagePack library reads it).
 *
 * A frame is either one envelope or a batch: an array of 1..`maxBatch`
 * envelopes from one sender, which is how the transport gets many small
 * actor messages through one ZeroMQ frame. The first item tells them apart
 * (the integer version vs. an envelope array). A batch is accepted or
 * rejected as a whole: a correct sender never mixes in a bad envelope.
 *
 * Encoding: `BatchWriter` writes each envelope, when it is sent, straight
 * into the batch frame being built for its peer (5 bytes are kept in front
 * for the batch header, written when the frame leaves), so a batch costs
 * no copy per envelope and the bytes are fixed at `send` time. The writer
 * is this module's own: it writes exactly what the body rules
 * (messages.ts) accepted, refuses anything else, and writes nothing that
 * the reader would refuse.
 *
 * Decode means validate. `decodeFrame`/`decodeFrames` either return fully
 * checked envelopes or throw QallowError BAD_FRAME with `details.field`
 * naming what was wrong (`frame`, `version`, `id`, `from`, `to`, `type`,
 * `body.payload.x[2]`, prefixed by `envelopes[i].` inside a batch) and
 * `details.reason`: `oversized` | `truncated` | `malformed` | `too-deep` |
 * `trailing` | `version` | `unknown-type` | `invalid`. Nothing else is ever
 * thrown. The bytes are read by scan.ts (structure checked while reading).
 */
import { isNodeId, parseAddress, type NodeId } from '../actors/address.js';
import { QallowError } from '../errors.js';
import { exactUint } from '../integer.js';
import { checkBody, isWireType, show, type BodyRules, type Reject, type WireBodies, type WireType } from './messages.js';
import { ScanError, readMsgpack } from './scan.js';

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
  const idN = exactUint(id);
  if (idN === undefined) throw reject('id', `must be an integer from 0 to 2^53 − 1 (got ${show(id)})`);
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
  return { version: WIRE_VERSION, id: idN, from, to, type, body: checkBody(type as WireType, v[5], 'body', rules, reject) } as Envelope;
}

// ------------------------------------------------------------------ writing

/** Bytes kept in front of a batch for its MessagePack array header (array 32 at most). */
const HEAD = 5;

// Writer state: encoding is synchronous, so the writer being filled lends its buffer to these
// module variables for one envelope and takes it back after (faster than fields on every byte).
let wbuf: Buffer = Buffer.alloc(0);
let wpos = 0;
/** Where the envelope being written starts, and how large it may grow (oversized check while growing). */
let wstart = 0;
let wmax = 0;
let wdepth = 0;
let writing = false;

function oversized(bytes: number, max: number): QallowError {
  return new QallowError('BAD_PARAMETER', `message rejected: it encodes to ${bytes} bytes, more than the ${max}-byte frame limit; send large data in parts`, {
    field: 'body',
    reason: 'oversized',
    bytes,
  });
}

// The body rules ran before writing; a value they would refuse can only come from a getter or a
// handler that changed the message while it was being written.
function changed(what: string): QallowError {
  return badParameter('body', `changed while it was being encoded (${what}); send plain data that stays put`);
}

function ensure(n: number): void {
  if (wpos + n <= wbuf.length) return;
  const want = wpos + n;
  // Stop before allocating for a message that will be refused anyway.
  if (want - wstart > wmax + 16) throw oversized(want - wstart, wmax);
  const next = Buffer.allocUnsafe(Math.max(want, wbuf.length * 2, 256));
  wbuf.copy(next, 0, 0, wpos);
  wbuf = next;
}

function writeString(s: string): void {
  const n = s.length;
  if (n < 256) {
    // ASCII fast path: one byte per character, the header known up front.
    const head = n < 32 ? 1 : 2;
    ensure(head + n);
    let p = wpos + head;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      wbuf[p++] = c;
    }
    if (i === n) {
      if (head === 1) wbuf[wpos] = 0xa0 | n;
      else {
        wbuf[wpos] = 0xd9;
        wbuf[wpos + 1] = n;
      }
      wpos = p;
      return;
    }
  }
  const len = Buffer.byteLength(s, 'utf8');
  if (len < 32) {
    ensure(1 + len);
    wbuf[wpos++] = 0xa0 | len;
  } else if (len < 0x100) {
    ensure(2 + len);
    wbuf[wpos++] = 0xd9;
    wbuf[wpos++] = len;
  } else if (len < 0x10000) {
    ensure(3 + len);
    wbuf[wpos++] = 0xda;
    wbuf.writeUInt16BE(len, wpos);
    wpos += 2;
  } else {
    ensure(5 + len);
    wbuf[wpos++] = 0xdb;
    wbuf.writeUInt32BE(len, wpos);
    wpos += 4;
  }
  wpos += wbuf.write(s, wpos, len, 'utf8');
}

// `from`, `to` and `type` repeat from envelope to envelope: the bytes of the last three are kept.
let lastFrom = '';
let lastTo = '';
let lastType = '';
let lastHeader: Uint8Array = new Uint8Array(0);

function writeHeaderStrings(from: string, to: string, type: string): void {
  if (from !== lastFrom || to !== lastTo || type !== lastType) {
    const start = wpos;
    writeString(from);
    writeString(to);
    writeString(type);
    // A copy: the batch's bytes may be taken back (removeLast) and written over.
    lastHeader = new Uint8Array(wbuf.subarray(start, wpos));
    lastFrom = from;
    lastTo = to;
    lastType = type;
    return;
  }
  const n = lastHeader.length;
  ensure(n);
  wbuf.set(lastHeader, wpos);
  wpos += n;
}

function writeNumber(v: number): void {
  ensure(9);
  if (Number.isInteger(v) && v >= -0x20_0000_0000_0000 && v <= 0x20_0000_0000_0000) {
    if (v >= 0) {
      if (v < 0x80) wbuf[wpos++] = v;
      else if (v < 0x100) {
        wbuf[wpos++] = 0xcc;
        wbuf[wpos++] = v;
      } else if (v < 0x10000) {
        wbuf[wpos++] = 0xcd;
        wbuf[wpos++] = v >>> 8;
        wbuf[wpos++] = v & 0xff;
      } else if (v < 0x1_0000_0000) {
        wbuf[wpos++] = 0xce;
        wbuf.writeUInt32BE(v, wpos);
        wpos += 4;
      } else {
        wbuf[wpos++] = 0xcf;
        wbuf.writeUInt32BE(Math.floor(v / 0x1_0000_0000), wpos);
        wbuf.writeUInt32BE(v >>> 0, wpos + 4);
        wpos += 8;
      }
      return;
    }
    if (v >= -0x20) wbuf[wpos++] = v & 0xff;
    else if (v >= -0x80) {
      wbuf[wpos++] = 0xd0;
      wbuf[wpos++] = v & 0xff;
    } else if (v >= -0x8000) {
      wbuf[wpos++] = 0xd1;
      wbuf.writeInt16BE(v, wpos);
      wpos += 2;
    } else if (v >= -0x8000_0000) {
      wbuf[wpos++] = 0xd2;
      wbuf.writeInt32BE(v, wpos);
      wpos += 4;
    } else {
      wbuf[wpos++] = 0xd3;
      wbuf.writeInt32BE(Math.floor(v / 0x1_0000_0000), wpos);
      wbuf.writeUInt32BE(v >>> 0, wpos + 4);
      wpos += 8;
    }
    return;
  }
  wbuf[wpos++] = 0xcb;
  wbuf.writeDoubleBE(v, wpos);
  wpos += 8;
}

function writeBytes(v: Uint8Array): void {
  const n = v.byteLength;
  if (n < 0x100) {
    ensure(2 + n);
    wbuf[wpos++] = 0xc4;
    wbuf[wpos++] = n;
  } else if (n < 0x10000) {
    ensure(3 + n);
    wbuf[wpos++] = 0xc5;
    wbuf.writeUInt16BE(n, wpos);
    wpos += 2;
  } else {
    ensure(5 + n);
    wbuf[wpos++] = 0xc6;
    wbuf.writeUInt32BE(n, wpos);
    wpos += 4;
  }
  wbuf.set(v, wpos);
  wpos += n;
}

function writeContainerHead(n: number, fix: number, x16: number): void {
  ensure(5);
  if (n < 16) wbuf[wpos++] = fix | n;
  else if (n < 0x10000) {
    wbuf[wpos++] = x16;
    wbuf[wpos++] = n >>> 8;
    wbuf[wpos++] = n & 0xff;
  } else {
    wbuf[wpos++] = x16 + 1;
    wbuf.writeUInt32BE(n, wpos);
    wpos += 4;
  }
}

function writeValue(v: unknown, depth: number): void {
  switch (typeof v) {
    case 'string':
      writeString(v);
      return;
    case 'number':
      writeNumber(v);
      return;
    case 'boolean':
      ensure(1);
      wbuf[wpos++] = v ? 0xc3 : 0xc2;
      return;
    case 'object': {
      if (v === null) {
        ensure(1);
        wbuf[wpos++] = 0xc0;
        return;
      }
      if (v instanceof Uint8Array) {
        writeBytes(v);
        return;
      }
      if (depth > wdepth) throw changed('nesting past the limit');
      if (Array.isArray(v)) {
        const n = v.length;
        writeContainerHead(n, 0x90, 0xdc);
        for (let i = 0; i < n; i++) writeValue(v[i], depth + 1);
        return;
      }
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) throw changed('not a plain object');
      // One pass: a one-byte fixmap head, widened afterwards in the rare map of 16 keys or more.
      const o = v as Record<string, unknown>;
      ensure(1);
      const head = wpos++;
      let n = 0;
      for (const k in o) {
        if (!Object.hasOwn(o, k)) continue;
        if (k === '__proto__') throw changed('a __proto__ key');
        writeString(k);
        writeValue(o[k], depth + 1);
        n++;
      }
      if (n < 16) wbuf[head] = 0x80 | n;
      else {
        const extra = n < 0x10000 ? 2 : 4;
        ensure(extra);
        wbuf.copyWithin(head + 1 + extra, head + 1, wpos);
        wpos += extra;
        if (extra === 2) {
          wbuf[head] = 0xde;
          wbuf.writeUInt16BE(n, head + 1);
        } else {
          wbuf[head] = 0xdf;
          wbuf.writeUInt32BE(n, head + 1);
        }
      }
      return;
    }
    default:
      throw changed(`a ${typeof v}`);
  }
}

/**
 * The batch frame being built for one peer: envelopes are written into it
 * as they are sent; `finish` adds the batch header (none for a single
 * envelope, which is its own frame) and hands out the bytes, after which
 * the writer is done. The buffer grows by doubling, so it holds at most
 * about twice its envelopes' bytes.
 */
export class BatchWriter {
  #buf: Buffer;
  #pos = HEAD;
  #count = 0;
  #done = false;

  constructor(capacity = 256) {
    this.#buf = Buffer.allocUnsafe(Math.max(HEAD + 16, capacity));
  }

  /** Envelopes in the batch. */
  get count(): number {
    return this.#count;
  }

  /** Bytes of its envelopes (the header is not counted). */
  get bytes(): number {
    return this.#pos - HEAD;
  }

  /**
   * Check the body (messages.ts rules) and write the envelope
   * `[1, id, from, to, type, body]`; returns its size in bytes. The header
   * fields must be checked by the caller (`from` a node id, `to` an
   * address, `type` a wire type, `id` ≥ 0). A bad body throws
   * BAD_PARAMETER naming the field; an envelope above `maxFrameBytes`
   * throws BAD_PARAMETER with `details.reason: 'oversized'`. A throw
   * leaves the batch as it was.
   */
  append(id: number, from: NodeId, to: string, type: WireType, body: unknown, limits: FrameLimits): number {
    if (this.#done) throw new QallowError('BAD_USAGE', 'batch writer: append after finish');
    if (writing) throw changed('a message was sent from inside a getter of another');
    const checked = checkBody(type, body, 'body', { maxDepth: limits.maxDepth, copyBytes: false }, badParameter);
    writing = true;
    wbuf = this.#buf;
    wpos = wstart = this.#pos;
    wmax = limits.maxFrameBytes;
    // batch > envelope > body > payload (depth 1 in the body rules) ...
    wdepth = limits.maxDepth + 2;
    try {
      ensure(2);
      wbuf[wpos++] = 0x96;
      wbuf[wpos++] = WIRE_VERSION;
      writeNumber(id);
      writeHeaderStrings(from, to, type);
      writeValue(checked, 1);
      const size = wpos - wstart;
      if (size > limits.maxFrameBytes) throw oversized(size, limits.maxFrameBytes);
      this.#pos = wpos;
      this.#count++;
      return size;
    } finally {
      // The buffer may have grown; keep it either way (bytes past #pos are not part of the batch).
      this.#buf = wbuf;
      wbuf = EMPTY_BUFFER;
      writing = false;
    }
  }

  /** Append an envelope encoded by another writer (`take` of the last one). */
  appendEncoded(envelope: Uint8Array): void {
    if (this.#done) throw new QallowError('BAD_USAGE', 'batch writer: append after finish');
    const n = envelope.byteLength;
    if (this.#pos + n > this.#buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.#pos + n, this.#buf.length * 2));
      this.#buf.copy(next, 0, 0, this.#pos);
      this.#buf = next;
    }
    this.#buf.set(envelope, this.#pos);
    this.#pos += n;
    this.#count++;
  }

  /** Take back the last envelope appended, `size` bytes long; returns a copy of its bytes. */
  removeLast(size: number): Uint8Array {
    if (this.#count === 0 || size > this.#pos - HEAD) throw new QallowError('BAD_USAGE', 'batch writer: nothing of that size to remove');
    const bytes = new Uint8Array(size);
    bytes.set(this.#buf.subarray(this.#pos - size, this.#pos));
    this.#pos -= size;
    this.#count--;
    return bytes;
  }

  /** The frame: the envelope alone, or the batch header and the envelopes. The writer is done. */
  finish(): Uint8Array {
    if (this.#count === 0) throw badParameter('parts', 'must hold at least one envelope');
    this.#done = true;
    const n = this.#count;
    if (n === 1) return this.#buf.subarray(HEAD, this.#pos);
    const head = batchHeaderBytes(n);
    const at = HEAD - head;
    const b = this.#buf;
    if (head === 1) b[at] = 0x90 | n;
    else if (head === 3) {
      b[at] = 0xdc;
      b.writeUInt16BE(n, at + 1);
    } else {
      b[at] = 0xdd;
      b.writeUInt32BE(n, at + 1);
    }
    return b.subarray(at, this.#pos);
  }
}

const EMPTY_BUFFER = Buffer.alloc(0);

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
  const w = new BatchWriter();
  w.append(env.id, env.from, env.to, env.type, env.body, limits);
  return w.finish();
}

/** Bytes of the MessagePack array header for `n` items. */
export function batchHeaderBytes(n: number): number {
  return n <= 15 ? 1 : n <= 0xffff ? 3 : 5;
}

/**
 * One batch frame from one-envelope frames made by `encodeEnvelope` (one
 * sender, in order). A single envelope is its own frame: no header, no
 * copy. (The transport builds batches with `BatchWriter`; this is for
 * tools and tests.)
 */
export function encodeBatch(parts: readonly Uint8Array[]): Uint8Array {
  const n = parts.length;
  if (n === 1) return parts[0]!;
  if (n === 0) throw badParameter('parts', 'must hold at least one envelope');
  let total = 0;
  for (const p of parts) total += p.byteLength;
  const w = new BatchWriter(HEAD + total);
  for (const p of parts) w.appendEncoded(p);
  return w.finish();
}

function readChecked(bytes: Uint8Array, limits: FrameLimits): { value: unknown; topArrayLength: number } {
  if (!(bytes instanceof Uint8Array)) throw badFrame('frame', `must be bytes (got ${show(bytes)})`, 'malformed');
  if (bytes.byteLength > limits.maxFrameBytes) throw badFrame('frame', `is ${bytes.byteLength} bytes, more than the ${limits.maxFrameBytes}-byte limit`, 'oversized');
  if (bytes.byteLength === 0) throw badFrame('frame', 'is empty', 'truncated');
  try {
    // batch array > envelope array > body map > payload (depth 1) ...
    return readMsgpack(bytes, limits.maxDepth + 3);
  } catch (e) {
    if (e instanceof ScanError) throw badFrame('frame', `is not valid MessagePack: ${e.message}`, e.reason);
    throw e;
  }
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
  const { value } = readChecked(bytes, limits);
  if (Array.isArray(value) && Array.isArray(value[0])) throw badFrame('frame', `is a batch of ${value.length} envelopes; decodeFrames reads batches`, 'malformed');
  decodingIndex = -1;
  return checkEnvelope(value, { maxDepth: limits.maxDepth, copyBytes: false }, decodeReject, resetSeen());
}

/** Decode and validate a frame that is one envelope or a batch; returns its envelopes in order. */
export function decodeFrames(bytes: Uint8Array, limits: FrameLimits = DEFAULT_FRAME_LIMITS): Envelope[] {
  const { value, topArrayLength } = readChecked(bytes, limits);
  // The reader copied byte strings out of the frame already.
  const rules: BodyRules = { maxDepth: limits.maxDepth, copyBytes: false };
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

/**
 * Reading MessagePack from untrusted bytes: one pass that checks the
 * structure and builds the value.
 *
 * Bytes from the network are untrusted, so the reader checks that the
 * input is exactly one well-formed value before anything is trusted: every
 * length fits in the bytes that remain (checked before reading or
 * allocating), every container's item count could fit (each item takes at
 * least one byte, so a huge declared count costs nothing), nesting stays
 * within `maxDepth` (recursion is bounded by it), map keys are strings
 * other than `__proto__`, and there are no extension types (timestamps,
 * msgpackr records, `undefined`) and no reserved byte 0xc1. The first
 * problem in byte order is reported as a `ScanError`.
 *
 * The values are plain data: null, booleans, numbers (64-bit integers as
 * numbers, possibly unsafe; the callers check integers they rely on),
 * strings (UTF-8, invalid sequences replaced), arrays, plain objects, and
 * byte strings copied out of the frame into their own aligned Uint8Array.
 * It replaces msgpackr on the receive path: the structural pass it needed
 * anyway now builds the value too, and short strings that repeat (map
 * keys, node ids, addresses, type tags) are taken from a small cache
 * instead of being decoded again.
 */

export class ScanError extends Error {
  constructor(
    readonly offset: number,
    readonly reason: 'truncated' | 'malformed' | 'too-deep' | 'trailing',
    message: string,
  ) {
    super(message);
  }
}

export interface ReadResult {
  readonly value: unknown;
  /** The outermost array's item count, or -1 when the value is not an array. */
  readonly topArrayLength: number;
}

// ------------------------------------------------------------------ string cache

// Direct-mapped, keyed by the bytes: slot i keeps its bytes at arena[i * CACHE_MAX_LEN], and
// an entry is trusted only after comparing them all (four at a time).
const CACHE_SIZE = 512;
const CACHE_MAX_LEN = 64;
const cacheArena = new Uint8Array(CACHE_SIZE * CACHE_MAX_LEN);
const cacheView = new DataView(cacheArena.buffer);
const cacheLengths = new Int32Array(CACHE_SIZE).fill(-1);
const cacheStrings: string[] = new Array<string>(CACHE_SIZE).fill('');
const internalizer: Record<string, number> = Object.create(null) as Record<string, number>;

/** The internalized copy of `s` (property keys are internalized). */
function internalize(s: string): string {
  internalizer[s] = 0;
  const k = Object.keys(internalizer)[0]!;
  delete internalizer[k];
  return k;
}

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

// Reader state: decoding is synchronous and not re-entrant, so one set serves every call.
let src: Uint8Array = new Uint8Array(0);
let view: DataView = new DataView(src.buffer);
let pos = 0;
let end = 0;
let maxDepth = 0;

function truncated(at: number, n: number): ScanError {
  return new ScanError(at, 'truncated', `value at byte ${at} needs ${n} more bytes, ${end - pos} left`);
}

function need(n: number, at: number): void {
  if (end - pos < n) throw truncated(at, n);
}

function readString(len: number, at: number, key: boolean): string {
  need(len, at);
  const start = pos;
  pos += len;
  if (len === 0) return '';
  if (len <= CACHE_MAX_LEN) {
    // Keyed by the length and a few sampled bytes (constant time); a hit is confirmed byte by byte.
    const h = Math.imul(len, 0x9e3779b1) ^ Math.imul(src[start]!, 0x85ebca6b) ^ Math.imul(src[pos - 1]!, 0xc2b2ae35) ^ Math.imul(src[start + (len >>> 1)]!, 0x27d4eb2f) ^ (src[start + (len >>> 2)]! << 7);
    const slot = (h ^ (h >>> 15)) & (CACHE_SIZE - 1);
    const base = slot * CACHE_MAX_LEN;
    if (cacheLengths[slot] === len) {
      let i = 0;
      while (i + 4 <= len && view.getUint32(start + i) === cacheView.getUint32(base + i)) i += 4;
      if (i + 4 > len) {
        while (i < len && src[start + i] === cacheArena[base + i]) i++;
        if (i === len) return cacheStrings[slot]!;
      }
    }
    let ascii = true;
    for (let i = start; i < pos; i++) {
      if (src[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      // A key is internalized (as property names are), so storing it needs no string-table lookup
      // per map; values are not, so a frame of many distinct strings costs no more than decoding them.
      const decoded = String.fromCharCode.apply(null, src.subarray(start, pos) as unknown as number[]);
      const s = key ? internalize(decoded) : decoded;
      cacheArena.set(src.subarray(start, pos), base);
      cacheLengths[slot] = len;
      cacheStrings[slot] = s;
      return s;
    }
  }
  return utf8.decode(src.subarray(start, pos));
}

function readBytes(len: number, at: number): Uint8Array {
  need(len, at);
  // A copy in its own buffer: nothing keeps the frame alive, and the bytes are aligned for typed-array views.
  const out = new Uint8Array(len);
  out.set(src.subarray(pos, pos + len));
  pos += len;
  return out;
}

function readArray(n: number, at: number, depth: number): unknown[] {
  if (n > end - pos) throw new ScanError(at, 'truncated', `array at byte ${at} declares ${n} entries but only ${end - pos} bytes remain`);
  if (depth > maxDepth) throw new ScanError(at, 'too-deep', `nesting at byte ${at} is deeper than ${maxDepth} levels`);
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) out[i] = readValue(depth);
  return out;
}

function readKey(): string {
  const at = pos;
  need(1, at);
  const b = src[pos++]!;
  let len: number;
  if (b >= 0xa0 && b <= 0xbf) len = b & 0x1f;
  else if (b === 0xd9) {
    need(1, at);
    len = src[pos++]!;
  } else if (b === 0xda) {
    need(2, at);
    len = view.getUint16(pos);
    pos += 2;
  } else if (b === 0xdb) {
    need(4, at);
    len = view.getUint32(pos);
    pos += 4;
  } else {
    pos = at;
    // Report the byte as the structure pass always did: an extension or reserved byte first, then the key rule.
    if (b === 0xc1 || (b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8)) throw badByte(b, at);
    throw new ScanError(at, 'malformed', `map key at byte ${at} must be a string`);
  }
  const k = readString(len, at, true);
  if (k === '__proto__') throw new ScanError(at, 'malformed', `map key at byte ${at} is "__proto__", which the wire does not carry`);
  return k;
}

function readMap(n: number, at: number, depth: number): Record<string, unknown> {
  if (n * 2 > end - pos) throw new ScanError(at, 'truncated', `map at byte ${at} declares ${n} entries but only ${end - pos} bytes remain`);
  if (depth > maxDepth) throw new ScanError(at, 'too-deep', `nesting at byte ${at} is deeper than ${maxDepth} levels`);
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const k = readKey();
    out[k] = readValue(depth);
  }
  return out;
}

function badByte(b: number, at: number): ScanError {
  return new ScanError(at, 'malformed', `byte 0x${b.toString(16)} at ${at} is ${b === 0xc1 ? 'reserved' : 'an extension type, which the wire does not use'}`);
}

/** One value; `depth` is the nesting of the container it sits in (0 at the top). */
function readValue(depth: number): unknown {
  const at = pos;
  need(1, at);
  const b = src[pos++]!;
  if (b <= 0x7f) return b;
  if (b >= 0xe0) return b - 0x100;
  if (b <= 0x8f) return readMap(b & 0x0f, at, depth + 1);
  if (b <= 0x9f) return readArray(b & 0x0f, at, depth + 1);
  if (b <= 0xbf) return readString(b & 0x1f, at, false);
  let v: number;
  switch (b) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      need(1, at);
      return readBytes(src[pos++]!, at);
    case 0xc5:
      need(2, at);
      v = view.getUint16(pos);
      pos += 2;
      return readBytes(v, at);
    case 0xc6:
      need(4, at);
      v = view.getUint32(pos);
      pos += 4;
      return readBytes(v, at);
    case 0xca:
      need(4, at);
      v = view.getFloat32(pos);
      pos += 4;
      return v;
    case 0xcb:
      need(8, at);
      v = view.getFloat64(pos);
      pos += 8;
      return v;
    case 0xcc:
      need(1, at);
      return src[pos++]!;
    case 0xcd:
      need(2, at);
      v = view.getUint16(pos);
      pos += 2;
      return v;
    case 0xce:
      need(4, at);
      v = view.getUint32(pos);
      pos += 4;
      return v;
    case 0xcf:
      need(8, at);
      v = view.getUint32(pos) * 0x1_0000_0000 + view.getUint32(pos + 4);
      pos += 8;
      return v;
    case 0xd0:
      need(1, at);
      return view.getInt8(pos++);
    case 0xd1:
      need(2, at);
      v = view.getInt16(pos);
      pos += 2;
      return v;
    case 0xd2:
      need(4, at);
      v = view.getInt32(pos);
      pos += 4;
      return v;
    case 0xd3:
      need(8, at);
      v = view.getInt32(pos) * 0x1_0000_0000 + view.getUint32(pos + 4);
      pos += 8;
      return v;
    case 0xd9:
      need(1, at);
      return readString(src[pos++]!, at, false);
    case 0xda:
      need(2, at);
      v = view.getUint16(pos);
      pos += 2;
      return readString(v, at, false);
    case 0xdb:
      need(4, at);
      v = view.getUint32(pos);
      pos += 4;
      return readString(v, at, false);
    case 0xdc:
      need(2, at);
      v = view.getUint16(pos);
      pos += 2;
      return readArray(v, at, depth + 1);
    case 0xdd:
      need(4, at);
      v = view.getUint32(pos);
      pos += 4;
      return readArray(v, at, depth + 1);
    case 0xde:
      need(2, at);
      v = view.getUint16(pos);
      pos += 2;
      return readMap(v, at, depth + 1);
    case 0xdf:
      need(4, at);
      v = view.getUint32(pos);
      pos += 4;
      return readMap(v, at, depth + 1);
    default:
      // 0xc1 (never used), 0xc7-0xc9 and 0xd4-0xd8 (extensions)
      throw badByte(b, at);
  }
}

/**
 * Read exactly one MessagePack value from `bytes`; container depth counts
 * from 1 for the outermost array or map. Throws ScanError (and nothing
 * else) naming the first problem.
 */
export function readMsgpack(bytes: Uint8Array, depthLimit: number): ReadResult {
  // Always a plain Uint8Array view, so element reads see one kind of array.
  src = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  pos = 0;
  end = bytes.byteLength;
  maxDepth = depthLimit;
  try {
    const first = end > 0 ? bytes[0]! : 0;
    const value = readValue(0);
    if (pos !== end) throw new ScanError(pos, 'trailing', `${end - pos} bytes follow the value that ends at byte ${pos}`);
    const topArrayLength = (first & 0xf0) === 0x90 || first === 0xdc || first === 0xdd ? (value as unknown[]).length : -1;
    return { value, topArrayLength };
  } finally {
    // Do not keep the frame alive through the module state.
    src = EMPTY;
    view = EMPTY_VIEW;
  }
}

const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer);

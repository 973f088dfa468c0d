/**
 * Fixed-layout, little-endian bytes for hashing and for storing float arrays.
 *
 * Everything that is hashed (state, checkpoints) is written through a
 * `LayoutWriter`, field by field, in an order the caller documents; nothing
 * is hashed through JSON or a re-encoding that could reorder keys. The
 * primitives:
 *
 *   u8        1 byte
 *   u32       4 bytes, little-endian unsigned
 *   u64       8 bytes, little-endian unsigned (safe integers only)
 *   f64       8 bytes, IEEE 754 binary64, little-endian
 *   str(s)    u32 byte length ‖ UTF-8 bytes
 *   hash32(h) the 32 raw bytes of a 64-digit hex SHA-256
 *   f64s(a)   u32 count ‖ f64 × count
 *   f32s(a)   u32 count ‖ raw IEEE 754 binary32 × count, little-endian, bit for bit (NaN payloads, -0 kept)
 *
 * A writer feeds a sink: `collect` gathers the bytes, `sha256Hex` streams them
 * into a hash without building the whole buffer (a state can be 100+ MB).
 */
import { createHash } from 'node:crypto';

export type ByteSink = (chunk: Uint8Array) => void;

/** Whether this machine stores numbers little-endian (then float bytes are copied as they are). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const utf8 = new TextEncoder();

export class LayoutWriter {
  constructor(private readonly sink: ByteSink) {}

  u8(v: number): void {
    this.sink(Uint8Array.of(v & 0xff));
  }

  u32(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new RangeError(`u32 out of range: ${v}`);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.sink(b);
  }

  u64(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`u64 must be a non-negative safe integer: ${v}`);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    this.sink(b);
  }

  f64(v: number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.sink(b);
  }

  str(s: string): void {
    const b = utf8.encode(s);
    this.u32(b.byteLength);
    this.sink(b);
  }

  hash32(hex: string): void {
    this.sink(hexToBytes(hex));
  }

  f64s(values: readonly number[]): void {
    this.u32(values.length);
    this.sink(float64ToLE(values));
  }

  f32s(values: Float32Array): void {
    this.u32(values.length);
    this.sink(HOST_LITTLE_ENDIAN ? new Uint8Array(values.buffer, values.byteOffset, values.byteLength) : float32ToLE(values));
  }
}

/** The bytes a layout function writes, in one buffer. */
export function collect(write: (w: LayoutWriter) => void): Uint8Array {
  const chunks: Uint8Array[] = [];
  let length = 0;
  write(
    new LayoutWriter((c) => {
      // Copy: a chunk may view memory the caller goes on changing.
      chunks.push(c.slice());
      length += c.byteLength;
    }),
  );
  const out = new Uint8Array(length);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/** Hex SHA-256 of the bytes a layout function writes, streamed. */
export function sha256Hex(write: (w: LayoutWriter) => void): string {
  const h = createHash('sha256');
  write(new LayoutWriter((c) => h.update(c)));
  return h.digest('hex');
}

const HEX64 = /^[0-9a-f]{64}$/;

/** A SHA-256 in lowercase hex: exactly 64 digits. */
export function isHash(v: unknown): v is string {
  return typeof v === 'string' && HEX64.test(v);
}

export function hexToBytes(hex: string): Uint8Array {
  if (!isHash(hex)) throw new RangeError(`not a 64-digit lowercase hex hash: ${String(hex).slice(0, 80)}`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Little-endian binary32 bytes of a float array, copied bit for bit. */
/**
 * The little-endian bytes of `a` for a consumer that copies them anyway
 * (msgpackr's pack): a view on little-endian hosts, a converted copy elsewhere.
 */
export function float32BytesLE(a: Float32Array): Uint8Array {
  return HOST_LITTLE_ENDIAN ? new Uint8Array(a.buffer, a.byteOffset, a.byteLength) : float32ToLE(a);
}

export function float32ToLE(a: Float32Array): Uint8Array {
  const out = new Uint8Array(a.byteLength);
  if (HOST_LITTLE_ENDIAN) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  } else {
    const src = new DataView(a.buffer, a.byteOffset, a.byteLength);
    const dst = new DataView(out.buffer);
    // Move raw words, not float values: a float round trip may canonicalise NaN payloads.
    for (let i = 0; i < a.length; i++) dst.setUint32(4 * i, src.getUint32(4 * i, false), true);
  }
  return out;
}

/**
 * A new, aligned Float32Array from little-endian binary32 bytes. Always
 * copies: decoded binary may sit at any offset of a larger buffer (msgpackr
 * hands out unaligned slices), and a Float32Array view needs 4-byte alignment.
 */
export function float32FromLE(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) throw new RangeError(`float32 bytes must be a multiple of 4 long (got ${bytes.byteLength})`);
  const out = new Float32Array(bytes.byteLength / 4);
  const raw = new Uint8Array(out.buffer);
  raw.set(bytes);
  if (!HOST_LITTLE_ENDIAN) {
    const v = new DataView(out.buffer);
    for (let i = 0; i < out.length; i++) v.setUint32(4 * i, v.getUint32(4 * i, true), false);
  }
  return out;
}

export function float64ToLE(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(8 * values.length);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => v.setFloat64(8 * i, x, true));
  return out;
}

export function float64FromLE(bytes: Uint8Array): number[] {
  if (bytes.byteLength % 8 !== 0) throw new RangeError(`float64 bytes must be a multiple of 8 long (got ${bytes.byteLength})`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.byteLength / 8 }, (_, i) => v.getFloat64(8 * i, true));
}

/**
 * The decoding side of runtime/store/bytes.ts's LayoutWriter: reads the same
 * primitives (u8, u32, u64, f64, str, 32-byte hashes) from untrusted bytes and
 * fails with a QallowError that names the field being read. Every ledger
 * decoder reads through one of these and ends with `end()`, so short input,
 * trailing bytes and invalid UTF-8 are all refused by name.
 */
import { QallowError, type ErrorCode } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class ByteReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    /** What is being decoded, for messages ("ledger entry", "ledger record"). */
    private readonly what: string,
    private readonly code: ErrorCode = 'LEDGER_BAD_ENTRY',
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** A typed error naming `field`. */
  fail(field: string, problem: string): QallowError {
    return new QallowError(this.code, `${this.what}: ${field} ${problem}`, { field, offset: this.offset });
  }

  private take(field: string, n: number): number {
    if (this.offset + n > this.bytes.byteLength) {
      throw this.fail(field, `is cut short (needs ${n} bytes at offset ${this.offset}, ${this.bytes.byteLength - this.offset} left)`);
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(field: string): number {
    return this.view.getUint8(this.take(field, 1));
  }

  u32(field: string): number {
    return this.view.getUint32(this.take(field, 4), true);
  }

  /** A u64 that must be a safe integer (what LayoutWriter.u64 writes). */
  u64(field: string): number {
    const v = this.view.getBigUint64(this.take(field, 8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.fail(field, `must be at most 2^53 − 1 (got ${v})`);
    return Number(v);
  }

  /**
   * A binary64. NaN must be the one canonical quiet NaN (0x7ff8000000000000)
   * that every writer produces, so one value has one encoding.
   */
  f64(field: string): number {
    const at = this.take(field, 8);
    const v = this.view.getFloat64(at, true);
    if (Number.isNaN(v) && (this.view.getUint32(at + 4, true) !== 0x7ff80000 || this.view.getUint32(at, true) !== 0)) {
      throw this.fail(field, 'is a NaN with a non-canonical bit pattern');
    }
    return v;
  }

  raw(field: string, n: number): Uint8Array {
    const at = this.take(field, n);
    return this.bytes.slice(at, at + n);
  }

  hash32(field: string): string {
    return Buffer.from(this.raw(field, 32)).toString('hex');
  }

  /** u32 byte length ‖ UTF-8, at most `max` bytes. */
  str(field: string, max: number): string {
    const n = this.u32(`${field} length`);
    if (n > max) throw this.fail(field, `must be at most ${max} bytes (got ${n})`);
    const b = this.raw(field, n);
    try {
      return utf8.decode(b);
    } catch {
      throw this.fail(field, 'is not valid UTF-8');
    }
  }

  /** A u32 count bounded by `max` (so a corrupt count cannot allocate gigabytes). */
  count(field: string, max: number): number {
    const n = this.u32(`${field} count`);
    if (n > max) throw this.fail(field, `must have at most ${max} items (got ${n})`);
    return n;
  }

  get remaining(): number {
    return this.bytes.byteLength - this.offset;
  }

  /** Nothing may follow the last field. */
  end(): void {
    if (this.offset !== this.bytes.byteLength) throw this.fail('end', `has ${this.bytes.byteLength - this.offset} unexpected trailing bytes`);
  }
}

/**
 * The nonces of accepted admin commands, on disk, so that a restart does not
 * reopen the replay window (issue 11 item 3: a `shutdown` accepted once was
 * accepted again by the restarted host within its ±30 s window).
 *
 * One append-only file in the host's data directory
 * (`DATA/admin-nonces.log`): a header line, then fixed 24-byte records
 *
 *   u64be timestamp (ms, as signed) ‖ u8×16 nonce
 *
 * A command's record is appended and fdatasync'ed *before* the command runs
 * (AdminEndpoint's `accept`), so a command that ran is always in the file;
 * a crash mid-write leaves a short tail, which is ignored (that command
 * never ran). At open, records whose timestamp has left the window
 * (timestamp + windowMs < now) are dropped and the file is rewritten with
 * the rest (written to a temporary name, fsynced, renamed); the host hands
 * the rest to its verifier, which then refuses their replays. The file is
 * compacted the same way once it holds `compactEvery` records.
 *
 * Trade-off: this trusts the data directory. A host started on an empty
 * data directory (first start, or wiped) has no record of what an earlier
 * incarnation accepted; refusing every command stamped before the host
 * started would close that too, but would also refuse an operator whose
 * clock is a little behind the host's for the first window after a start.
 * Keeping the nonces needs no clock agreement beyond the skew window.
 */
import { open, rename, type FileHandle } from 'node:fs/promises';
import { QallowError } from '../errors.js';
import { NONCE_BYTES } from './layout.js';

const HEADER = Buffer.from('qallow/admin-nonces/v1\n');
const RECORD = 8 + NONCE_BYTES;
export const DEFAULT_COMPACT_EVERY = 10_000;

export interface NonceRecord {
  /** Hex, as the verifier keys nonces. */
  readonly nonce: string;
  readonly timestamp: number;
}

export interface NonceLogInit {
  readonly path: string;
  /** How long after its timestamp a nonce must be remembered (the verifier's skew window). */
  readonly windowMs: number;
  /** Records in the file before it is compacted (default 10 000). */
  readonly compactEvery?: number | undefined;
}

export interface NonceLogComponents {
  readonly now?: (() => number) | undefined;
}

function ioError(path: string, what: string, e: unknown): QallowError {
  const code = (e as NodeJS.ErrnoException).code ?? 'error';
  return new QallowError('IO_ERROR', `admin nonce log ${path}: cannot ${what} (${code}); check the data directory's disk and permissions`, { path, code }, { cause: e });
}

function encode(records: readonly NonceRecord[]): Buffer {
  const out = Buffer.alloc(HEADER.length + records.length * RECORD);
  HEADER.copy(out, 0);
  let at = HEADER.length;
  for (const r of records) {
    out.writeBigUInt64BE(BigInt(r.timestamp), at);
    out.write(r.nonce, at + 8, NONCE_BYTES, 'hex');
    at += RECORD;
  }
  return out;
}

export class NonceLog {
  #fh: FileHandle | undefined;
  #live: NonceRecord[];
  #records: number;
  #queue: Promise<void> = Promise.resolve();
  readonly #now: () => number;

  private constructor(
    private readonly init: NonceLogInit,
    fh: FileHandle,
    live: NonceRecord[],
    now: () => number,
  ) {
    this.#fh = fh;
    this.#live = live;
    this.#records = live.length;
    this.#now = now;
  }

  /** Read the log (missing: empty), drop expired records, rewrite it, and open it for appending. */
  static async open(init: NonceLogInit, c: NonceLogComponents = {}): Promise<NonceLog> {
    const now = c.now ?? Date.now;
    const live = (await NonceLog.read(init.path)).filter((r) => r.timestamp + init.windowMs >= now());
    await NonceLog.rewrite(init.path, live);
    let fh: FileHandle;
    try {
      fh = await open(init.path, 'a', 0o600);
    } catch (e) {
      throw ioError(init.path, 'open it for appending', e);
    }
    return new NonceLog(init, fh, live, now);
  }

  /** Every whole record in the file (a short tail is a write that never finished). */
  static async read(path: string): Promise<NonceRecord[]> {
    let bytes: Buffer;
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, 'r');
      bytes = await fh.readFile();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw ioError(path, 'read it', e);
    } finally {
      await fh?.close();
    }
    if (bytes.length < HEADER.length || !bytes.subarray(0, HEADER.length).equals(HEADER)) {
      // Not ours, or a header torn by a crash during the very first write: refuse to guess.
      if (bytes.length === 0 || HEADER.subarray(0, bytes.length).equals(bytes)) return [];
      throw new QallowError('STORE_CORRUPT', `admin nonce log ${path} does not start with "${HEADER.toString().trim()}"; move it away (the host then forgets which admin commands it accepted in the last window)`, { path });
    }
    const out: NonceRecord[] = [];
    for (let at = HEADER.length; at + RECORD <= bytes.length; at += RECORD) {
      const ts = bytes.readBigUInt64BE(at);
      if (ts > BigInt(Number.MAX_SAFE_INTEGER)) continue;
      out.push({ timestamp: Number(ts), nonce: bytes.toString('hex', at + 8, at + RECORD) });
    }
    return out;
  }

  private static async rewrite(path: string, records: readonly NonceRecord[]): Promise<void> {
    const temp = `${path}.tmp`;
    try {
      const fh = await open(temp, 'w', 0o600);
      try {
        await fh.writeFile(encode(records));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(temp, path);
    } catch (e) {
      throw ioError(path, 'rewrite it', e);
    }
  }

  /** Records not yet expired when the log was opened (hand them to the verifier). */
  get live(): readonly NonceRecord[] {
    return this.#live;
  }

  /** Append one accepted command's nonce and make it durable; resolves once it is on disk. */
  append(nonce: string, timestamp: number): Promise<void> {
    const run = async (): Promise<void> => {
      const fh = this.#fh;
      if (!fh) throw new QallowError('STORE_CLOSED', `admin nonce log ${this.init.path} is closed: the host is stopping`, { path: this.init.path });
      this.#live.push({ nonce, timestamp });
      const record = encode([{ nonce, timestamp }]).subarray(HEADER.length);
      try {
        await fh.write(record);
        await fh.datasync();
      } catch (e) {
        throw ioError(this.init.path, 'append to it', e);
      }
      if (++this.#records >= (this.init.compactEvery ?? DEFAULT_COMPACT_EVERY)) await this.compact();
    };
    const p = this.#queue.then(run);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  private async compact(): Promise<void> {
    const now = this.#now();
    this.#live = this.#live.filter((r) => r.timestamp + this.init.windowMs >= now);
    await this.#fh?.close();
    this.#fh = undefined;
    await NonceLog.rewrite(this.init.path, this.#live);
    this.#fh = await open(this.init.path, 'a', 0o600);
    this.#records = this.#live.length;
  }

  async close(): Promise<void> {
    await this.#queue;
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close();
  }
}

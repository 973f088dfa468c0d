/**
 * The vote log: a host's validator votes (and its own round in flight),
 * made durable by one sequential append and one fdatasync, in front of the
 * LMDB `ledger-votes` database they are later folded into.
 *
 * Why not write each vote straight into LMDB, as the rest of the ledger is?
 * A vote sits on the critical path of every governance decision (SPEC §6:
 * a validator persists its vote before it signs), and an LMDB commit is two
 * flushes (data pages, then the meta page) plus a hop to lmdb-js's write
 * thread and back. Measured on the 2-core CI machine with three validators
 * writing at once, 20 ms apart (the light-load pattern): an LMDB commit
 * p50 1.46 ms, p99 4.3 ms; an append + fdatasync p50 0.49 ms, p99 0.98 ms.
 * So — as a database puts a write-ahead log in front of its B-tree — votes
 * are appended here first and acknowledged once the append is on disk; the
 * store keeps the recent ones in memory and folds them into LMDB in one
 * transaction now and then (and on every start), after which the segments
 * they came from are deleted. Nothing is acknowledged before it is durable;
 * noSync is never involved.
 *
 * Layout: `<dir>/votes-NNNNNNNN.log` segments, appended in number order.
 * A record is
 *
 *     u32 LE payload length ‖ first 4 bytes of SHA-256(payload) ‖ payload
 *
 * and the payload is MessagePack: a `votes` record (one origin's
 * consecutive seqs and the 32-byte entry hash voted for each) or a `round`
 * record (this host's own batch in flight: header, origin signature and
 * entry bytes — it is at once the origin's pending round, proposed again
 * unchanged after a crash, and this host's vote on it).
 *
 * Each append flushes at once, on the calling thread. Tried and measured
 * against it (governance bench, same machine, same session): a group commit
 * — write now, fdatasync on libuv's thread pool, appends made meanwhile
 * sharing the next flush — was slower at light load (p50 8.5–9.0 ms
 * against 7.4–8.2 ms: the thread hop) and under load too (one-entry
 * batches 115–120 against 144–154 entries/s); a vote is short and the
 * flush is the wait the validator must make before it signs anyway.
 *
 * Reading a segment back: a record cut short at the end of a segment (the
 * host stopped while appending; that append was never acknowledged) is
 * ignored. A complete record that fails its checksum or does not decode,
 * with more bytes after it, is corruption: STORE_CORRUPT naming the file
 * and offset, and the host does not start — a validator that forgot a vote
 * could sign a second, different entry for the same seq.
 *
 * A deleted log: the store records in LMDB (ledger-meta `vote-log`) the
 * first segment not yet folded; `open` with `expectFrom` refuses
 * (STORE_CORRUPT) a directory that is missing or lacks any segment from that
 * one to the newest. Rebuilding the votes from the ledger is not safe: the
 * certified entries show the votes that made it into certificates, but not
 * those cast for rounds that were still in flight, and a validator that
 * forgot such a vote could sign a conflicting entry for the same (origin,
 * seq). So the host does not start, and the message says what to do. The
 * other way round too: a new ledger store (its LMDB environment deleted or
 * replaced) that finds an old vote log (`expectNew`) lost the votes already
 * folded, and is refused the same way.
 *
 * A failed append (ENOSPC, EIO): the segment is cut back to its last
 * acknowledged length (ftruncate + fdatasync), so no half-written record is
 * left between good ones, and the append fails with IO_ERROR; the vote was
 * not cast. If even that fails, appends keep failing (and retry the cut) until
 * it succeeds — once the disk has room again, the validator votes again.
 */
import { createHash } from 'node:crypto';
import { closeSync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { isNodeId } from '../actors/address.js';
import { QallowError, errorMessage } from '../errors.js';
import type { BatchHeader } from './batch.js';

/** One origin's consecutive seqs from `firstSeq`, and the entry hash (hex) voted for each. */
export interface VotesRecord {
  readonly kind: 'votes';
  readonly origin: string;
  readonly firstSeq: number;
  readonly hashes: readonly string[];
}

/** This host's own batch in flight (its pending round and its vote on it). */
export interface RoundRecord {
  readonly kind: 'round';
  readonly header: BatchHeader;
  readonly originSignature: Uint8Array;
  readonly entries: readonly Uint8Array[];
  /** The entries' hashes (hex), one per entry: the votes this record stands for. */
  readonly hashes: readonly string[];
}

export type VoteLogRecord = VotesRecord | RoundRecord;

/** The votes a record stands for: `origin`'s seqs from `firstSeq`, one hash each (a round is its origin's vote too). */
export function votesOf(r: VoteLogRecord): { readonly origin: string; readonly firstSeq: number; readonly hashes: readonly string[] } {
  return r.kind === 'votes' ? r : { origin: r.header.origin, firstSeq: r.header.firstSeq, hashes: r.hashes };
}

const SEGMENT = /^votes-(\d{8})\.log$/;
const HEAD = 8;
/** Far above any record qallow writes (MAX_BATCH_ENTRIES entries); a larger length is a broken header. */
const MAX_RECORD_BYTES = 64 << 20;
const packr = new Packr({ useRecords: false, moreTypes: false });

function segmentName(n: number): string {
  return `votes-${String(n).padStart(8, '0')}.log`;
}

/** The segment numbers in `dir`, ascending; undefined when it is not a directory that can be read. */
function segmentNumbers(dir: string): number[] | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  return names
    .map((n) => SEGMENT.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

function checksum(payload: Uint8Array): Buffer {
  return createHash('sha256').update(payload).digest().subarray(0, 4);
}

function hex32(b: unknown, what: string): string {
  if (!(b instanceof Uint8Array) || b.byteLength !== 32) throw new Error(`${what} must be 32 bytes`);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function seqOf(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new Error(`${what} must be a positive integer`);
  return v;
}

function originOf(v: unknown): string {
  if (typeof v !== 'string' || !isNodeId(v)) throw new Error('origin must be a node id');
  return v;
}

export function encodeVoteLogRecord(r: VoteLogRecord): Buffer {
  const body =
    r.kind === 'votes'
      ? { k: 'v', o: r.origin, s: r.firstSeq, h: r.hashes.map((h) => Buffer.from(h, 'hex')) }
      : { k: 'r', o: r.header.origin, s: r.header.firstSeq, n: r.header.count, m: Buffer.from(r.header.root, 'hex'), g: r.originSignature, e: [...r.entries], h: r.hashes.map((h) => Buffer.from(h, 'hex')) };
  const payload = packr.pack(body);
  const out = Buffer.allocUnsafe(HEAD + payload.byteLength);
  out.writeUInt32LE(payload.byteLength, 0);
  checksum(payload).copy(out, 4);
  payload.copy(out, HEAD);
  return out;
}

/** Decode means validate: every field is checked, so a record that decodes can be trusted. */
export function decodeVoteLogPayload(payload: Uint8Array): VoteLogRecord {
  const o = packr.unpack(payload) as Record<string, unknown> | null;
  if (o === null || typeof o !== 'object') throw new Error('not a map');
  const origin = originOf(o['o']);
  const firstSeq = seqOf(o['s'], 'first seq');
  if (!Array.isArray(o['h']) || o['h'].length === 0) throw new Error('hashes must be a non-empty list');
  const hashes = (o['h'] as unknown[]).map((h, i) => hex32(h, `hash ${i}`));
  seqOf(firstSeq + hashes.length - 1, 'last seq');
  if (o['k'] === 'v') return { kind: 'votes', origin, firstSeq, hashes };
  if (o['k'] !== 'r') throw new Error(`unknown record kind ${JSON.stringify(o['k'])}`);
  const count = seqOf(o['n'], 'count');
  const g = o['g'];
  if (!(g instanceof Uint8Array) || g.byteLength !== 64) throw new Error('origin signature must be 64 bytes');
  if (!Array.isArray(o['e']) || o['e'].length !== count || hashes.length !== count) throw new Error('a round needs count entries and count hashes');
  const entries = (o['e'] as unknown[]).map((e, i) => {
    if (!(e instanceof Uint8Array)) throw new Error(`entry ${i} must be bytes`);
    if (hex32(createHash('sha256').update(e).digest(), 'hash') !== hashes[i]) throw new Error(`entry ${i} does not match its hash`);
    return e;
  });
  return { kind: 'round', header: { origin: origin as BatchHeader['origin'], firstSeq, count, root: hex32(o['m'], 'root') }, originSignature: g, entries, hashes };
}

/** The records of one segment's bytes, and whether it ended in a record cut short. */
export function scanSegment(buf: Buffer, file: string): { records: VoteLogRecord[]; torn: boolean } {
  const records: VoteLogRecord[] = [];
  let at = 0;
  while (at < buf.byteLength) {
    if (buf.byteLength - at < HEAD) return { records, torn: true };
    const len = buf.readUInt32LE(at);
    const end = at + HEAD + len;
    if (len > MAX_RECORD_BYTES || end > buf.byteLength) {
      // The length runs past the end: the last append was cut short (nothing after it to lose).
      return { records, torn: true };
    }
    const payload = buf.subarray(at + HEAD, end);
    const last = end === buf.byteLength;
    let problem: string | undefined;
    if (!checksum(payload).equals(buf.subarray(at + 4, at + HEAD))) problem = 'checksum mismatch';
    else {
      try {
        records.push(decodeVoteLogPayload(payload));
      } catch (e) {
        problem = `does not decode: ${errorMessage(e)}`;
      }
    }
    if (problem !== undefined) {
      if (last) return { records, torn: true };
      throw new QallowError(
        'STORE_CORRUPT',
        `vote log ${file}: the record at byte ${at} is damaged (${problem}) and more records follow it; this validator cannot know which votes it signed. Restore the data directory from a backup, or move the votes directory aside only if this host's votes may be forgotten (it could then sign a conflicting entry)`,
        { key: file, offset: at },
      );
    }
    at = end;
  }
  return { records, torn: false };
}

export class VoteLog {
  #fd: number | undefined;
  #segment: number;
  #bytes = 0;
  #broken: QallowError | undefined;

  private constructor(
    readonly dir: string,
    segment: number,
  ) {
    this.#segment = segment;
  }

  /**
   * Open the log in `dir` (created if missing): every record of every
   * segment in order, and a fresh segment for new appends. The earlier
   * segments stay until `remove`d (after what they hold is folded).
   */
  static open(
    dir: string,
    logger?: { warn(obj: object, msg: string): void },
    opts: { readonly expectFrom?: number | undefined; readonly expectNew?: boolean | undefined } = {},
  ): { log: VoteLog; records: VoteLogRecord[]; segments: string[] } {
    if (opts.expectFrom !== undefined) VoteLog.#checkPresent(dir, opts.expectFrom);
    if (opts.expectNew && (segmentNumbers(dir)?.length ?? 0) > 0) {
      throw new QallowError(
        'STORE_CORRUPT',
        `the vote log ${dir} holds segments, but the ledger store in LMDB is new: the LMDB environment (data.mdb) was deleted or replaced, and with it the votes this validator had already folded; it could sign a conflicting entry for the same origin and seq. Restore the data directory from a backup; if it is lost, move the whole data directory aside and start this host with an empty one, so that it catches up the ledger from its peers`,
        { path: dir },
      );
    }
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new QallowError('IO_ERROR', `cannot create the vote log directory ${dir}: ${errorMessage(e)}`, { path: dir }, { cause: e });
    }
    const names = readdirSync(dir)
      .filter((n) => SEGMENT.test(n))
      .sort();
    const records: VoteLogRecord[] = [];
    for (const name of names) {
      const file = join(dir, name);
      const scanned = scanSegment(readFileSync(file), file);
      if (scanned.torn) logger?.warn({ component: 'vote-log', file }, 'ignored a vote-log record cut short (the host stopped while writing it; it was never acknowledged)');
      records.push(...scanned.records);
    }
    const last = names.length ? Number(SEGMENT.exec(names.at(-1)!)![1]) : 0;
    const log = new VoteLog(dir, last);
    log.#create(last + 1);
    return { log, records, segments: names.map((n) => join(dir, n)) };
  }

  /** Refuse a log directory that lost segments the store has not folded (see the top of this file). */
  static #checkPresent(dir: string, from: number): void {
    const missing = (what: string): QallowError =>
      new QallowError(
        'STORE_CORRUPT',
        `the vote log ${dir} ${what}, but the ledger store says its votes from ${segmentName(from)} on were not yet folded into LMDB: this validator cannot know which entries it signed, and could sign a conflicting entry for the same origin and seq. Restore ${dir} from a backup of this data directory; if it is lost, move the whole data directory aside and start this host with an empty one, so that it catches up the ledger from its peers (safe while fewer than a third of the validators have forgotten their votes)`,
        { path: dir, segment: segmentName(from) },
      );
    const all = segmentNumbers(dir);
    if (all === undefined) throw missing('is missing');
    const numbers = all.filter((n) => n >= from);
    if (numbers[0] !== from) throw missing(`has no ${segmentName(from)}`);
    const gap = numbers.findIndex((n, i) => n !== from + i);
    if (gap >= 0) throw missing(`has no ${segmentName(from + gap)}`);
  }

  /** Bytes appended to the current segment. */
  get size(): number {
    return this.#bytes;
  }

  /** Number of the segment appends go to. */
  get segment(): number {
    return this.#segment;
  }

  /** Append records and return once they are on disk (one write, one fdatasync). */
  append(records: readonly VoteLogRecord[]): void {
    if (this.#fd === undefined) throw new QallowError('STORE_CLOSED', 'the vote log is closed', {});
    if (this.#broken && !this.#cutBack()) throw this.#broken;
    const buf = records.length === 1 ? encodeVoteLogRecord(records[0]!) : Buffer.concat(records.map(encodeVoteLogRecord));
    try {
      for (let off = 0; off < buf.byteLength; ) off += writeSync(this.#fd, buf, off, buf.byteLength - off);
      fdatasyncSync(this.#fd);
    } catch (e) {
      const file = join(this.dir, segmentName(this.#segment));
      // Part of the record may be on disk: cut the segment back to what was acknowledged (until that works, no vote is cast).
      const err = new QallowError('IO_ERROR', `vote log ${file}: ${errorMessage(e)}; this vote was not cast, and this host signs no votes until its disk takes writes again`, { key: segmentName(this.#segment), path: file }, { cause: e });
      this.#broken = err;
      this.#cutBack();
      throw err;
    }
    this.#bytes += buf.byteLength;
  }

  /** Cut the segment back to its acknowledged length; whether that worked (the log is whole again). */
  #cutBack(): boolean {
    try {
      ftruncateSync(this.#fd!, this.#bytes);
      fdatasyncSync(this.#fd!);
    } catch {
      return false;
    }
    this.#broken = undefined;
    return true;
  }

  /** Continue in a new segment; returns the path of the one that was current. */
  rotate(): string {
    const old = join(this.dir, segmentName(this.#segment));
    this.#close();
    this.#create(this.#segment + 1);
    return old;
  }

  /** Delete segments whose records are stored elsewhere (folded into LMDB). */
  remove(paths: readonly string[]): void {
    for (const p of paths) unlinkSync(p);
    this.#syncDir();
  }

  close(): void {
    this.#close();
  }

  #create(n: number): void {
    this.#segment = n;
    this.#bytes = 0;
    const file = join(this.dir, segmentName(n));
    try {
      this.#fd = openSync(file, 'a');
      // The new name must survive a crash as well as what is appended under it.
      this.#syncDir();
    } catch (e) {
      throw new QallowError('IO_ERROR', `cannot create vote log segment ${file}: ${errorMessage(e)}`, { path: file }, { cause: e });
    }
  }

  #syncDir(): void {
    const d = openSync(this.dir, 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  }

  #close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

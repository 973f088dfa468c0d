/**
 * The LedgerStore in the host's LMDB environment (SPEC §4: one environment
 * per host). It does not open an environment of its own: it is handed the
 * host's store (runtime/store/lmdb.ts, `environment()`) and adds four named
 * sub-databases to it, start()ed after that store and stop()ped before it:
 *
 *   ledger-entries  [origin, seq] → record bytes (record.ts)
 *   ledger-heads    origin        → u64 seq ‖ 32 hash (the origin's height and head hash)
 *   ledger-votes    [origin, seq] → 32-byte entry hash this host voted for
 *                   (folded in from the vote log, vote-log.ts: a vote is made
 *                   durable there first, by one append and one fdatasync)
 *   ledger-meta     'format'      → "qallow/ledger/v1"
 *                   'pending-rounds' → this host's newest own rounds (vote-log records)
 *                   'validators'  → the validator set, as its JSON file (validators.ts)
 *                   'vote-log'    → u32 LE: the first vote-log segment not yet folded
 *                   (a start refuses a vote log that lost it or a later one: vote-log.ts)
 *
 * Every write goes through the host store's one LMDB writer
 * (runtime/store/lmdb-writer.ts: one transaction, awaited until it is synced
 * — one durability policy for the whole environment; a failed commit, a full
 * disk say, is IO_ERROR and leaves no lmdb-js promise unhandled).
 * lmdb-js does not roll back a transaction callback that throws after
 * writing, so each callback makes all its checks before its first write.
 * Signature checks run before the transaction, outside the write lock; the
 * records of one whole batch (the usual append: a committed round) are
 * checked together — one Merkle tree for the batch instead of a proof walk
 * per record, and the signatures once (BatchCache).
 */
import type { Database, RootDatabase } from 'lmdb';
import { isNodeId } from '../actors/address.js';
import { QallowError, errorMessage } from '../errors.js';
import type { LmdbWriter } from '../store/lmdb-writer.js';
import { ChainChecker, chainStep, type ChainHead } from './chain.js';
import type { AppendResult, LedgerStore, PendingRound, RawRecord } from './contract.js';
import { ZERO_HASH } from './entry.js';
import { merkleTree } from './merkle.js';
import { BatchCache, RECORD_PURPOSE, checkRecord, decodeRecord, encodeRecord, type LedgerRecord } from './record.js';
import { parseValidatorSet, type ValidatorSet } from './validators.js';
import { encodeVoteLogRecord, scanSegment, votesOf, VoteLog, type RoundRecord, type VoteLogRecord, type VotesRecord } from './vote-log.js';

export const LEDGER_FORMAT = 'qallow/ledger/v1';
export const LEDGER_DATABASES = ['ledger-entries', 'ledger-heads', 'ledger-votes', 'ledger-meta'] as const;
const MAX_SEQ = Number.MAX_SAFE_INTEGER;

type SeqKey = [string, number];
type Env = Pick<RootDatabase<Buffer, SeqKey | string>, 'openDB'>;

export interface LmdbLedgerStoreInit {
  /**
   * The configured validator set. Stored on first start; a later start with a
   * different set is LEDGER_CONFLICT. Leave it out to use the stored one
   * (offline tools).
   */
  readonly validators?: ValidatorSet | undefined;
}

export interface LmdbLedgerStoreComponents {
  /** The host's LMDB store, started before this one (runtime/store/lmdb.ts). */
  readonly store: { environment(): Env; writer(): LmdbWriter };
  readonly logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void } | undefined;
  /**
   * Batches whose signatures already verified. A host shares it with its
   * ledger service, which adds the batches it certified itself (it verified
   * every vote as it came), so its own appends do not check them again.
   */
  readonly verified?: BatchCache | undefined;
  /**
   * Where this host's vote log lives (vote-log.ts). Only the host that
   * votes opens it; a store opened without one (offline tools reading the
   * ledger) refuses vote writes.
   */
  readonly voteLogDir?: string | undefined;
}

/** Fold the vote log into LMDB once this many votes are held in memory, or its segment reaches FOLD_BYTES. */
const FOLD_VOTES = 1 << 16;
const FOLD_BYTES = 32 << 20;

function voteKey(origin: string, seq: number): string {
  return `${origin} ${seq}`;
}

/**
 * Own rounds kept: the one in flight and the one proposed while its
 * predecessor's append syncs (LedgerService pipelining), with room to spare.
 */
const KEEP_ROUNDS = 4;

/** Pending rounds as kept in ledger-meta: vote-log records, checksums and all. */
function decodeRounds(b: Buffer): RoundRecord[] {
  const { records, torn } = scanSegment(b, 'ledger-meta pending-rounds');
  if (torn || records.some((r) => r.kind !== 'round')) throw new QallowError('STORE_CORRUPT', 'ledger-meta pending-rounds is not a list of round records', { key: 'pending-rounds' });
  return records as RoundRecord[];
}

interface Handles {
  readonly env: Env;
  readonly writer: LmdbWriter;
  readonly entries: Database<Buffer, SeqKey>;
  readonly heads: Database<Buffer, string>;
  readonly votes: Database<Buffer, SeqKey>;
  readonly meta: Database<Buffer, string>;
}

function headBytes(seq: number, hash: string): Buffer {
  const b = Buffer.alloc(40);
  b.writeBigUInt64LE(BigInt(seq), 0);
  Buffer.from(hash, 'hex').copy(b, 8);
  return b;
}

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export class LmdbLedgerStore implements LedgerStore {
  private h: Handles | undefined;
  private set: ValidatorSet | undefined;
  private readonly listeners = new Set<(r: LedgerRecord) => void>();
  private readonly cache: BatchCache;
  private readonly inflight = new Set<Promise<unknown>>();
  private log: VoteLog | undefined;
  /** Votes in the log not yet folded into ledger-votes: "origin seq" → hash. */
  private readonly recent = new Map<string, string>();
  /** This host's newest own rounds, oldest first (vote log or ledger-meta). */
  private rounds: RoundRecord[] = [];
  private folding: Promise<void> | undefined;

  constructor(
    private readonly init: LmdbLedgerStoreInit,
    private readonly components: LmdbLedgerStoreComponents,
  ) {
    this.cache = components.verified ?? new BatchCache();
  }

  async start(): Promise<void> {
    if (this.h) return;
    const env = this.components.store.environment();
    const open = <K extends SeqKey | string>(name: string): Database<Buffer, K> => env.openDB<Buffer, K>({ name, encoding: 'binary' });
    const writer = this.components.store.writer();
    const h: Handles = { env, writer, entries: open('ledger-entries'), heads: open('ledger-heads'), votes: open('ledger-votes'), meta: open('ledger-meta') };
    const format = h.meta.get('format');
    // A new ledger (no format yet) must not find an old vote log: the LMDB side was lost (openVoteLog).
    const fresh = format === undefined;
    if (format !== undefined && format.toString('utf8') !== LEDGER_FORMAT) {
      throw new QallowError('STORE_CORRUPT', `ledger-meta format is ${JSON.stringify(format.toString('utf8').slice(0, 64))}, not ${LEDGER_FORMAT}`, { key: 'format' });
    }
    const storedJson = h.meta.get('validators');
    let stored: ValidatorSet | undefined;
    if (storedJson !== undefined) {
      try {
        stored = parseValidatorSet(JSON.parse(storedJson.toString('utf8')), 'ledger-meta validators');
      } catch (e) {
        throw new QallowError('STORE_CORRUPT', `the stored validator set does not decode: ${errorMessage(e)}`, { key: 'validators' }, { cause: e });
      }
    }
    const wanted = this.init.validators;
    if (stored && wanted && !stored.equals(wanted)) {
      throw new QallowError('LEDGER_CONFLICT', 'this ledger was created with a different validator set than the one configured; changing the validator set is not supported by qallow/ledger/v1', {
        problem: 'validator-set',
      });
    }
    if (!stored && wanted) {
      await writer.write(
        'store the ledger format and validator set',
        () => undefined,
        () => {
          void h.meta.put('format', Buffer.from(LEDGER_FORMAT));
          void h.meta.put('validators', Buffer.from(JSON.stringify(wanted.toJSON())));
        },
      );
    }
    this.set = stored ?? wanted;
    this.h = h;
    const roundBytes = h.meta.get('pending-rounds');
    this.rounds = roundBytes === undefined ? [] : decodeRounds(roundBytes);
    if (this.components.voteLogDir !== undefined) {
      try {
        await this.openVoteLog(this.components.voteLogDir, fresh);
      } catch (e) {
        this.h = undefined;
        throw e;
      }
    }
    this.components.logger?.info({ validators: this.set?.size ?? 0, quorum: this.set?.quorum ?? 0 }, 'ledger store opened');
  }

  async stop(): Promise<void> {
    if (!this.h) return;
    this.h = undefined;
    await Promise.allSettled([...this.inflight]);
    this.log?.close();
    this.log = undefined;
    this.recent.clear();
    this.listeners.clear();
  }

  validatorSet(): ValidatorSet | undefined {
    return this.set;
  }

  async append(record: LedgerRecord): Promise<AppendResult> {
    return (await this.appendMany([record]))[0]!;
  }

  /**
   * `encoded[i]`, when given, must be record i's storage bytes — the bytes it
   * was decoded from, or `encodeRecord(records[i])` — and is stored instead
   * of encoding it again (a replica appends what it received as it came).
   */
  appendMany(records: readonly LedgerRecord[], encoded?: readonly Uint8Array[]): Promise<AppendResult[]> {
    return this.write(
      'append ledger records',
      () => {
        const set = this.set;
        if (!set) throw new QallowError('CONFIG_INVALID', 'the ledger store has no validator set; start it with the configured validators', { field: 'validators' });
        if (encoded && encoded.length !== records.length) throw new QallowError('BAD_PARAMETER', `appendMany: ${encoded.length} encodings for ${records.length} records`, { field: 'encoded' });
        checkRecords(records, set, this.cache);
        return records.map((r, i) => {
          const b = encoded?.[i];
          if (b === undefined) return encodeRecord(r);
          // The entry bytes sit right after the purpose and their length (record.ts): a cheap guard against a mismatched pairing.
          const at = ENTRY_OFFSET;
          if (b.byteLength < at + r.bytes.byteLength || Buffer.compare(b.subarray(at, at + r.bytes.byteLength), r.bytes) !== 0) {
            throw new QallowError('BAD_PARAMETER', `appendMany: the encoding given for ${r.entry.origin}#${r.entry.seq} is not that record's`, { field: 'encoded' });
          }
          return b;
        });
      },
      (h, encoded) => {
        // Checks first (chain steps against the stored heads plus this batch's own records)...
        const heads = new Map<string, ChainHead>();
        const results = records.map((r) => {
          const head = heads.get(r.entry.origin) ?? this.readHead(h, r.entry.origin);
          const step = chainStep(head, { origin: r.entry.origin, seq: r.entry.seq, prevHash: r.entry.prevHash, hash: r.hash }, (seq) => this.hashAt(h, r.entry.origin, seq));
          if (step === 'append') heads.set(r.entry.origin, { origin: r.entry.origin, seq: r.entry.seq, hash: r.hash });
          return step === 'append' ? 'appended' : 'duplicate';
        });
        // ...then the writes.
        records.forEach((r, i) => {
          if (results[i] === 'appended') void h.entries.put([r.entry.origin, r.entry.seq], toBuffer(encoded[i]!));
        });
        for (const head of heads.values()) void h.heads.put(head.origin, headBytes(head.seq, head.hash));
        return results as AppendResult[];
      },
      (results) => {
        records.forEach((r, i) => {
          if (results[i] !== 'appended') return;
          for (const l of this.listeners) {
            try {
              l(r);
            } catch (e) {
              this.components.logger?.warn({ err: errorMessage(e) }, 'ledger subscriber threw');
            }
          }
        });
      },
    );
  }

  recordVote(origin: string, seq: number, hash: string): Promise<boolean> {
    return this.recordVotes(origin, [{ seq, hash }]);
  }

  async recordVotes(origin: string, votes: readonly { seq: number; hash: string }[]): Promise<boolean> {
    if (!isNodeId(origin)) throw new QallowError('BAD_PARAMETER', `vote origin must be a node id (got ${JSON.stringify(origin)})`, { field: 'origin' });
    for (const v of votes) {
      if (!Number.isSafeInteger(v.seq) || v.seq < 1) throw new QallowError('BAD_PARAMETER', `vote seq must be a positive integer (got ${v.seq})`, { field: 'seq' });
      if (!/^[0-9a-f]{64}$/.test(v.hash)) throw new QallowError('BAD_PARAMETER', 'vote hash must be 64 lowercase hex digits', { field: 'hash' });
    }
    const fresh = this.freshVotes(origin, votes);
    if (fresh === false) return false;
    // Runs of consecutive seqs, one record each, all in one append.
    const records: VotesRecord[] = [];
    for (const v of fresh) {
      const last = records.at(-1);
      if (last && last.firstSeq + last.hashes.length === v.seq) (last.hashes as string[]).push(v.hash);
      else records.push({ kind: 'votes', origin, firstSeq: v.seq, hashes: [v.hash] });
    }
    if (records.length > 0) this.appendLog(records);
    return true;
  }

  async recordRound(round: PendingRound, hashes: readonly string[]): Promise<boolean> {
    const { header } = round;
    if (hashes.length !== header.count || round.entries.length !== header.count) throw new QallowError('BAD_PARAMETER', `recordRound: ${round.entries.length} entries and ${hashes.length} hashes for a batch of ${header.count}`, { field: 'hashes' });
    const votes = hashes.map((hash, i) => ({ seq: header.firstSeq + i, hash }));
    if (this.freshVotes(header.origin, votes) === false) return false;
    const record: RoundRecord = { kind: 'round', header, originSignature: round.originSignature, entries: round.entries, hashes };
    this.appendLog([record]);
    this.keepRound(record);
    return true;
  }

  pendingRounds(): readonly PendingRound[] {
    this.open();
    return [...this.rounds];
  }

  async votedFor(origin: string, seq: number): Promise<string | undefined> {
    return this.voted(this.open(), origin, seq);
  }

  /**
   * Reads wait for the appends in flight when they are made, so an append
   * whose promise has not settled yet (the ledger service resolves `record`
   * once its append is queued) is already seen by any read made after it.
   */
  private async settled(): Promise<void> {
    if (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  async height(origin: string): Promise<number> {
    await this.settled();
    return this.readHead(this.open(), origin).seq;
  }

  async heads(): Promise<ChainHead[]> {
    await this.settled();
    const h = this.open();
    const out: ChainHead[] = [];
    for (const { key } of h.heads.getRange()) out.push(this.readHead(h, key));
    return out;
  }

  async get(origin: string, seq: number): Promise<LedgerRecord | undefined> {
    await this.settled();
    const h = this.open();
    const b = h.entries.get([origin, seq]);
    return b === undefined ? undefined : this.decode(origin, seq, b);
  }

  async entriesFrom(origin: string, seq: number, limit: number): Promise<LedgerRecord[]> {
    await this.settled();
    const h = this.open();
    const out: LedgerRecord[] = [];
    for (const { key, value } of h.entries.getRange({ start: [origin, seq], end: [origin, MAX_SEQ], limit })) {
      out.push(this.decode(origin, key[1], value));
    }
    return out;
  }

  *raw(): Iterable<RawRecord> {
    const h = this.open();
    for (const { key, value } of h.entries.getRange()) {
      yield { origin: String(key[0]), seq: Number(key[1]), bytes: new Uint8Array(value) };
    }
  }

  subscribe(listener: (record: LedgerRecord) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  // ------------------------------------------------------------ internals

  private keepRound(r: RoundRecord): void {
    this.rounds = [...this.rounds.filter((x) => x.header.firstSeq !== r.header.firstSeq), r].slice(-KEEP_ROUNDS);
  }

  /** The hash this host voted for (origin, seq): the vote log's unfolded votes, then ledger-votes. */
  private voted(h: Handles, origin: string, seq: number): string | undefined {
    return this.recent.get(voteKey(origin, seq)) ?? h.votes.get([origin, seq])?.toString('hex');
  }

  /** The votes not cast before, or false if any seq was voted for a different hash. */
  private freshVotes(origin: string, votes: readonly { seq: number; hash: string }[]): { seq: number; hash: string }[] | false {
    const h = this.open();
    const fresh: { seq: number; hash: string }[] = [];
    for (const v of votes) {
      const had = this.voted(h, origin, v.seq);
      if (had === undefined) fresh.push(v);
      else if (had !== v.hash) return false;
    }
    return fresh;
  }

  /** Durable on return (one append, one fdatasync); folded into LMDB later. */
  private appendLog(records: readonly VoteLogRecord[]): void {
    this.open();
    const log = this.log;
    if (!log) throw new QallowError('BAD_USAGE', 'this ledger store was opened without a vote log (read-only for votes); the host opens it with voteLogDir', { field: 'voteLogDir' });
    log.append(records);
    for (const r of records) {
      const { origin, firstSeq, hashes } = votesOf(r);
      hashes.forEach((hash, i) => this.recent.set(voteKey(origin, firstSeq + i), hash));
    }
    if (!this.folding && (this.recent.size >= FOLD_VOTES || log.size >= FOLD_BYTES)) {
      const segment = log.rotate();
      this.folding = this.fold([segment], false, log.segment).finally(() => {
        this.folding = undefined;
      });
    }
  }

  /** Replay the log into memory, fold it into LMDB, and delete the segments it came from. */
  private async openVoteLog(dir: string, fresh: boolean): Promise<void> {
    const h = this.open();
    const marker = h.meta.get('vote-log');
    if (marker !== undefined && marker.byteLength !== 4) throw new QallowError('STORE_CORRUPT', `ledger-meta vote-log is ${marker.byteLength} bytes, not 4`, { key: 'vote-log' });
    const { log, records, segments } = VoteLog.open(dir, this.components.logger, { expectFrom: marker?.readUInt32LE(0), expectNew: fresh && marker === undefined });
    this.log = log;
    for (const r of records) {
      const { origin, firstSeq, hashes } = votesOf(r);
      hashes.forEach((hash, i) => {
        const seq = firstSeq + i;
        const had = this.voted(h, origin, seq);
        if (had !== undefined && had !== hash) {
          throw new QallowError('STORE_CORRUPT', `the vote log holds two different votes for ${origin}#${seq}; restore the data directory from a backup`, { origin, seq });
        }
        this.recent.set(voteKey(origin, seq), hash);
      });
      if (r.kind === 'round') this.keepRound(r);
    }
    // Every start records where the unfolded votes begin: the new segment (the older ones are folded now).
    if (segments.length > 0 || marker?.readUInt32LE(0) !== log.segment) await this.fold(segments, true, log.segment);
    if (records.length > 0) this.components.logger?.info({ component: 'vote-log', records: records.length, segments: segments.length }, 'vote log folded into the ledger store');
  }

  /**
   * Write the votes held in memory (and the newest own round) into LMDB in
   * one durable transaction, then delete `segments`, whose records that
   * covers. On failure the segments stay and are read again at the next start.
   */
  private async fold(segments: readonly string[], throwOnError: boolean, firstLive: number): Promise<void> {
    const votes = [...this.recent];
    const rounds = this.rounds;
    try {
      await this.write(
        'fold the vote log into ledger-votes',
        () => (rounds.length > 0 ? Buffer.concat(rounds.map(encodeVoteLogRecord)) : undefined),
        (h, roundBytes) => {
          for (const [key, hash] of votes) {
            const sp = key.lastIndexOf(' ');
            void h.votes.put([key.slice(0, sp), Number(key.slice(sp + 1))], Buffer.from(hash, 'hex'));
          }
          if (roundBytes) void h.meta.put('pending-rounds', roundBytes);
          const live = Buffer.alloc(4);
          live.writeUInt32LE(firstLive, 0);
          void h.meta.put('vote-log', live);
        },
      );
      this.log?.remove(segments);
      for (const [key] of votes) this.recent.delete(key);
    } catch (e) {
      if (throwOnError) throw e;
      this.components.logger?.warn({ component: 'vote-log', err: errorMessage(e) }, 'could not fold the vote log into the ledger store; its segments are kept and read again at the next start');
    }
  }

  private open(): Handles {
    if (!this.h) throw new QallowError('STORE_CLOSED', 'the ledger store is not open; start it (after the host store) first', {});
    return this.h;
  }

  private decode(origin: string, seq: number, bytes: Uint8Array): LedgerRecord {
    const r = decodeRecord(new Uint8Array(bytes), `ledger record ${origin}#${seq}`);
    if (r.entry.origin !== origin || r.entry.seq !== seq) {
      throw new QallowError('STORE_CORRUPT', `ledger record stored under ${origin}#${seq} holds ${r.entry.origin}#${r.entry.seq}`, { origin, seq });
    }
    return r;
  }

  private readHead(h: Handles, origin: string): ChainHead {
    const b = h.heads.get(origin);
    if (b === undefined) return { origin, seq: 0, hash: ZERO_HASH };
    if (b.byteLength !== 40) throw new QallowError('STORE_CORRUPT', `ledger head of ${origin} is ${b.byteLength} bytes, not 40`, { origin });
    return { origin, seq: Number(b.readBigUInt64LE(0)), hash: b.subarray(8).toString('hex') };
  }

  private hashAt(h: Handles, origin: string, seq: number): string | undefined {
    const b = h.entries.get([origin, seq]);
    return b === undefined ? undefined : this.decode(origin, seq, b).hash;
  }

  /** One durable write through the host's LMDB writer; `after` runs once it is committed. */
  private write<P, R>(action: string, prepare: () => P, apply: (h: Handles, prepared: P) => R, after?: (result: R) => void): Promise<R> {
    let p: Promise<R>;
    try {
      const h = this.open();
      p = h.writer.write(action, prepare, (prepared) => apply(h, prepared)).then((result) => {
        after?.(result);
        return result;
      });
    } catch (e) {
      return Promise.reject(e);
    }
    this.inflight.add(p);
    const done = (): void => void this.inflight.delete(p);
    p.then(done, done);
    return p;
  }
}

/** Where a record's entry bytes start in its storage bytes: u32 len ‖ purpose, then u32 n. */
const ENTRY_OFFSET = 4 + Buffer.byteLength(RECORD_PURPOSE) + 4;

/** Whether two records carry the same batch header, origin signature and certificate. */
function sameBatch(a: LedgerRecord, b: LedgerRecord): boolean {
  if (a.batch !== b.batch) {
    const x = a.batch;
    const y = b.batch;
    if (x.origin !== y.origin || x.firstSeq !== y.firstSeq || x.count !== y.count || x.root !== y.root) return false;
  }
  if (a.originSignature !== b.originSignature && Buffer.compare(a.originSignature, b.originSignature) !== 0) return false;
  if (a.certificate === b.certificate) return true;
  const u = a.certificate.votes;
  const v = b.certificate.votes;
  if (u.length !== v.length) return false;
  for (let i = 0; i < u.length; i++) {
    if (u[i]!.validator !== v[i]!.validator) return false;
    if (u[i]!.signature !== v[i]!.signature && Buffer.compare(u[i]!.signature, v[i]!.signature) !== 0) return false;
  }
  return true;
}

/**
 * checkRecord for every record (throws the first problem, as it would).
 * A run of records that is one whole batch — the same header, signature and
 * certificate, seqs firstSeq … firstSeq+count−1 in order — is checked as a
 * batch: the Merkle tree of its entry hashes must have the signed root and
 * give each record exactly its proof (a valid proof for a position is
 * unique), and checkRecord on its first record checks the signatures. Any
 * other run, or a batch that fails that, goes record by record.
 */
function checkRecords(records: readonly LedgerRecord[], set: ValidatorSet, cache: BatchCache): void {
  let i = 0;
  while (i < records.length) {
    const first = records[i]!;
    let j = i + 1;
    while (j < records.length && sameBatch(first, records[j]!)) j++;
    if (!wholeBatchHolds(records, i, j)) for (let k = i; k < j; k++) checkRecord(records[k]!, set, cache);
    else checkRecord(first, set, cache);
    i = j;
  }
}

function wholeBatchHolds(records: readonly LedgerRecord[], from: number, to: number): boolean {
  const first = records[from]!;
  const { origin, firstSeq, count, root } = first.batch;
  if (to - from !== count || count < 2) return false;
  for (let k = from; k < to; k++) {
    const r = records[k]!;
    if (r.entry.seq !== firstSeq + (k - from) || r.entry.origin !== origin) return false;
  }
  const tree = merkleTree(records.slice(from, to).map((r) => r.hash));
  if (tree.root !== root) return false;
  for (let k = from; k < to; k++) {
    const want = tree.proofs[k - from]!;
    const got = records[k]!.proof;
    if (got.length !== want.length) return false;
    for (let p = 0; p < want.length; p++) if (got[p] !== want[p]) return false;
  }
  return true;
}

/** Build (no I/O until start()) the ledger store over the host's LMDB store. */
export function createLmdbLedgerStore(init: LmdbLedgerStoreInit, components: LmdbLedgerStoreComponents): LmdbLedgerStore {
  return new LmdbLedgerStore(init, components);
}

export { ChainChecker };

/**
 * The LedgerStore in the host's LMDB environment (SPEC §4: one environment
 * per host). It does not open an environment of its own: it is handed the
 * host's store (runtime/store/lmdb.ts, `environment()`) and adds four named
 * sub-databases to it, start()ed after that store and stop()ped before it:
 *
 *   ledger-entries  [origin, seq] → record bytes (record.ts)
 *   ledger-heads    origin        → u64 seq ‖ 32 hash (the origin's height and head hash)
 *   ledger-votes    [origin, seq] → 32-byte entry hash this host voted for
 *   ledger-meta     'format'      → "qallow/ledger/v1"
 *                   'validators'  → the validator set, as its JSON file (validators.ts)
 *
 * Every write is one LMDB transaction whose commit is awaited, then
 * `flushed` (the environment never runs with noSync). lmdb-js does not roll
 * back a transaction callback that throws after writing, so each callback
 * makes all its checks before its first write. Signature checks run before
 * the transaction, outside the write lock.
 */
import type { Database, RootDatabase } from 'lmdb';
import { isNodeId } from '../actors/address.js';
import { QallowError, errorMessage } from '../errors.js';
import { ChainChecker, chainStep, type ChainHead } from './chain.js';
import type { AppendResult, LedgerStore, RawRecord } from './contract.js';
import { ZERO_HASH } from './entry.js';
import { BatchCache, checkRecord, decodeRecord, encodeRecord, type LedgerRecord } from './record.js';
import { parseValidatorSet, type ValidatorSet } from './validators.js';

export const LEDGER_FORMAT = 'qallow/ledger/v1';
export const LEDGER_DATABASES = ['ledger-entries', 'ledger-heads', 'ledger-votes', 'ledger-meta'] as const;
const MAX_SEQ = Number.MAX_SAFE_INTEGER;

type SeqKey = [string, number];
type Env = Pick<RootDatabase<Buffer, SeqKey | string>, 'openDB' | 'transaction' | 'flushed'>;

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
  readonly store: { environment(): Env };
  readonly logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void } | undefined;
}

interface Handles {
  readonly env: Env;
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
  private readonly cache = new BatchCache();
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    private readonly init: LmdbLedgerStoreInit,
    private readonly components: LmdbLedgerStoreComponents,
  ) {}

  async start(): Promise<void> {
    if (this.h) return;
    const env = this.components.store.environment();
    const open = <K extends SeqKey | string>(name: string): Database<Buffer, K> => env.openDB<Buffer, K>({ name, encoding: 'binary' });
    const h: Handles = { env, entries: open('ledger-entries'), heads: open('ledger-heads'), votes: open('ledger-votes'), meta: open('ledger-meta') };
    const format = h.meta.get('format');
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
      await env.transaction(() => {
        void h.meta.put('format', Buffer.from(LEDGER_FORMAT));
        void h.meta.put('validators', Buffer.from(JSON.stringify(wanted.toJSON())));
      });
      await env.flushed;
    }
    this.set = stored ?? wanted;
    this.h = h;
    this.components.logger?.info({ validators: this.set?.size ?? 0, quorum: this.set?.quorum ?? 0 }, 'ledger store opened');
  }

  async stop(): Promise<void> {
    if (!this.h) return;
    this.h = undefined;
    await Promise.allSettled([...this.inflight]);
    this.listeners.clear();
  }

  validatorSet(): ValidatorSet | undefined {
    return this.set;
  }

  async append(record: LedgerRecord): Promise<AppendResult> {
    return (await this.appendMany([record]))[0]!;
  }

  appendMany(records: readonly LedgerRecord[]): Promise<AppendResult[]> {
    return this.write(
      () => {
        const set = this.set;
        if (!set) throw new QallowError('CONFIG_INVALID', 'the ledger store has no validator set; start it with the configured validators', { field: 'validators' });
        for (const r of records) checkRecord(r, set, this.cache);
        return records.map(encodeRecord);
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

  recordVotes(origin: string, votes: readonly { seq: number; hash: string }[]): Promise<boolean> {
    return this.write(
      () => {
        if (!isNodeId(origin)) throw new QallowError('BAD_PARAMETER', `vote origin must be a node id (got ${JSON.stringify(origin)})`, { field: 'origin' });
        for (const v of votes) {
          if (!Number.isSafeInteger(v.seq) || v.seq < 1) throw new QallowError('BAD_PARAMETER', `vote seq must be a positive integer (got ${v.seq})`, { field: 'seq' });
          if (!/^[0-9a-f]{64}$/.test(v.hash)) throw new QallowError('BAD_PARAMETER', 'vote hash must be 64 lowercase hex digits', { field: 'hash' });
        }
      },
      (h) => {
        const fresh: { seq: number; hash: string }[] = [];
        for (const v of votes) {
          const had = h.votes.get([origin, v.seq]);
          if (had === undefined) fresh.push(v);
          else if (had.toString('hex') !== v.hash) return false;
        }
        for (const v of fresh) void h.votes.put([origin, v.seq], Buffer.from(v.hash, 'hex'));
        return true;
      },
    );
  }

  async votedFor(origin: string, seq: number): Promise<string | undefined> {
    const h = this.open();
    return h.votes.get([origin, seq])?.toString('hex');
  }

  async height(origin: string): Promise<number> {
    return this.readHead(this.open(), origin).seq;
  }

  async heads(): Promise<ChainHead[]> {
    const h = this.open();
    const out: ChainHead[] = [];
    for (const { key } of h.heads.getRange()) out.push(this.readHead(h, key));
    return out;
  }

  async get(origin: string, seq: number): Promise<LedgerRecord | undefined> {
    const h = this.open();
    const b = h.entries.get([origin, seq]);
    return b === undefined ? undefined : this.decode(origin, seq, b);
  }

  async entriesFrom(origin: string, seq: number, limit: number): Promise<LedgerRecord[]> {
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

  private write<P, R>(prepare: () => P, apply: (h: Handles, prepared: P) => R, after?: (result: R) => void): Promise<R> {
    let p: Promise<R>;
    try {
      const h = this.open();
      const prepared = prepare();
      p = h.env
        .transaction(() => apply(h, prepared))
        .then(async (result) => {
          await h.env.flushed;
          after?.(result);
          return result;
        })
        .catch((e: unknown) => {
          throw e instanceof QallowError ? e : new QallowError('IO_ERROR', `ledger store: ${errorMessage(e)}`, {}, { cause: e });
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

/** Build (no I/O until start()) the ledger store over the host's LMDB store. */
export function createLmdbLedgerStore(init: LmdbLedgerStoreInit, components: LmdbLedgerStoreComponents): LmdbLedgerStore {
  return new LmdbLedgerStore(init, components);
}

export { ChainChecker };

/**
 * The production Store: one LMDB environment per data directory
 * (`<dataDir>/lmdb`), opened on start() and closed on stop().
 *
 * Sub-databases (all values are bytes from codec.ts, `encoding: 'binary'`, so
 * lmdb-js's own msgpack encoder, which mangles typed arrays, is never used):
 *   checkpoints  [run, epoch]  → checkpoint record
 *   states       [run, epoch]  → state snapshot
 *   journal      [run, seq]    → journal entry
 *   runs         run           → run record
 *   quarantine   [run, epoch, n, 'checkpoint' | 'state'] → bytes moved out by discardAfter
 *   meta         'format'      → "qallow/store/v1"
 * Array keys use lmdb-js's ordered-binary key encoding, which sorts by run,
 * then numerically by epoch or seq, so a run's checkpoints or journal are
 * one range scan.
 *
 * Durability: every write goes through the environment's one LmdbWriter
 * (lmdb-writer.ts: one transaction, awaited until synced; a failed commit is
 * IO_ERROR and no lmdb-js promise is left unhandled). The environment is
 * opened with `overlappingSync: false` (lmdb-js defaults it on for Linux), so
 * a transaction's promise resolves only after LMDB's commit has synced to
 * disk, not merely become visible. noSync and noMetaSync are never set. A
 * checkpoint and its state are one transaction.
 *
 * Before the environment is mapped, its data file is checked (lmdb-check.ts):
 * a truncated or damaged file makes lmdb-js die of SIGBUS or SIGSEGV, so it is
 * refused with STORE_CORRUPT naming the file and what to do.
 *
 * lmdb-js does not roll back a `transaction()` whose callback throws after
 * writing, so every check in a callback comes before its first write.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { QallowError, errorMessage } from '../errors.js';
import type { Checkpoint } from './checkpoint.js';
import { checkLmdbEnvironment } from './lmdb-check.js';
import { LmdbWriter } from './lmdb-writer.js';
import type { RecoveredCheckpoint, Store, StoreComponents, StoreLogger } from './contract.js';
import type { JournalEntry, JournalRecord } from './journal.js';
import {
  assertRunId,
  assertU32,
  auditCheckpoints,
  type AuditedCheckpoint,
  checkExtends,
  prepareCheckpoint,
  prepareJournalEntry,
  prepareRunRecord,
  readCheckpoint,
  readJournalEntry,
  readRunRecord,
  readSnapshot,
  recoverLatest,
  type StoredCheckpoint,
} from './rules.js';
import type { RunRecord } from './run.js';
import type { StateSnapshot } from './snapshot.js';
import { MAX_U32 } from './validate.js';

export const LMDB_DIR = 'lmdb';
export const LMDB_DATABASES = ['checkpoints', 'states', 'journal', 'runs', 'quarantine', 'meta'] as const;
export type LmdbDatabaseName = (typeof LMDB_DATABASES)[number];
export const STORE_FORMAT = 'qallow/store/v1';

/**
 * Environment flags. lmdb-js shares one native environment per path in a
 * process and the first opener's sync flags win, so anything else that opens
 * this path should use these too (the writer also awaits `flushed` when the
 * environment turns out to run with overlappingSync, so writes stay durable
 * either way). `eventTurnBatching: false`: with it on, lmdb-js makes a promise
 * per batch that no caller can reach, and a failed commit (a full disk)
 * rejects it as an unhandled rejection that kills the process (lmdb-writer.ts).
 * Transactions made in one event turn still share one commit. (lmdb-js turns
 * batching back on when anything subscribes to 'beforecommit': nothing may.)
 */
export const LMDB_ENV_OPTIONS = { maxDbs: 16, overlappingSync: false, noSync: false, noMetaSync: false, eventTurnBatching: false } as const;

/** Where a data directory's LMDB environment lives. */
export function lmdbPath(dataDir: string): string {
  return join(dataDir, LMDB_DIR);
}

export interface LmdbStoreInit {
  readonly dataDir: string;
}

type Key = [string, number] | [string, number, number, string] | string;
type Db = Database<Buffer, Key>;

/** A run's key range: [run, 0] ≤ key < [run, MAX_U32 + 1]. */
function range(run: string, from = 0): { start: Key; end: Key } {
  return { start: [run, from], end: [run, MAX_U32 + 1] };
}

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Own the bytes: values handed out by a range read may be reused by the next one. */
function own(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

interface Handles {
  readonly root: RootDatabase<Buffer, Key>;
  readonly dbs: Record<LmdbDatabaseName, Db>;
  readonly writer: LmdbWriter;
}

export class LmdbStore implements Store {
  readonly path: string;
  private handles: Handles | undefined;
  private starting: Promise<void> | undefined;
  private readonly logger: StoreLogger | undefined;

  constructor(init: LmdbStoreInit, components: StoreComponents = {}) {
    if (typeof init.dataDir !== 'string' || init.dataDir.length === 0) {
      throw new QallowError('BAD_PARAMETER', `dataDir must be a directory path (got ${JSON.stringify(init.dataDir)})`, { param: 'dataDir' });
    }
    this.path = lmdbPath(init.dataDir);
    this.logger = components.logger;
  }

  async start(): Promise<void> {
    if (this.handles) return;
    this.starting ??= this.openEnv().finally(() => (this.starting = undefined));
    await this.starting;
  }

  async stop(): Promise<void> {
    const h = this.handles;
    if (!h) return;
    this.handles = undefined; // new calls fail with STORE_CLOSED from here on
    await h.writer.settled();
    try {
      await h.root.close();
    } catch (e) {
      throw this.io('close', e);
    }
    this.logger?.info({ path: this.path }, 'store closed');
  }

  putRun(record: RunRecord): Promise<void> {
    return this.write('putRun', () => prepareRunRecord(record), (h, bytes) => void h.dbs.runs.put(record.run, toBuffer(bytes)));
  }

  async getRun(run: string): Promise<RunRecord | undefined> {
    const h = this.open();
    assertRunId(run);
    const bytes = this.read(() => h.dbs.runs.get(run));
    return bytes ? readRunRecord(run, bytes) : undefined;
  }

  async runs(): Promise<string[]> {
    const h = this.open();
    const keys = this.read(() => [...h.dbs.runs.getKeys()]);
    return keys.filter((k): k is string => typeof k === 'string').sort();
  }

  putCheckpoint(checkpoint: Checkpoint, snapshot: StateSnapshot): Promise<void> {
    return this.write(
      'putCheckpoint',
      () => prepareCheckpoint(checkpoint, snapshot),
      (h, prepared) => {
        const run = checkpoint.run;
        const newest = this.scan(h.dbs.checkpoints, run, { reverse: true, limit: 1 })[0];
        checkExtends(checkpoint, newest);
        void h.dbs.checkpoints.put([run, checkpoint.epoch], toBuffer(prepared.checkpoint));
        void h.dbs.states.put([run, checkpoint.epoch], toBuffer(prepared.state));
      },
    );
  }

  async listCheckpoints(run: string): Promise<Checkpoint[]> {
    const h = this.open();
    assertRunId(run);
    return this.read(() => this.scan(h.dbs.checkpoints, run)).map((s) => readCheckpoint(run, s.epoch, s.bytes));
  }

  async getSnapshot(run: string, epoch: number): Promise<StateSnapshot> {
    const h = this.open();
    assertRunId(run);
    assertU32('epoch', epoch);
    const bytes = this.read(() => h.dbs.states.get([run, epoch]));
    if (!bytes) throw new QallowError('CHECKPOINT_NOT_FOUND', `run ${JSON.stringify(run)} has no stored state at epoch ${epoch}`, { run, epoch });
    return readSnapshot(run, epoch, bytes);
  }

  async latestValidCheckpoint(run: string): Promise<RecoveredCheckpoint> {
    const h = this.open();
    assertRunId(run);
    const stored = this.read(() => this.scan(h.dbs.checkpoints, run));
    const found = recoverLatest(run, stored, (epoch) => this.read(() => h.dbs.states.get([run, epoch])));
    if (found.skipped.length > 0) {
      this.logger?.warn({ run, epoch: found.checkpoint.epoch, skipped: found.skipped }, 'skipped unusable checkpoints');
    }
    return found;
  }

  /** Every checkpoint of a run checked in full, chain and stored state (rules.ts `auditCheckpoints`; `qallow checkpoint list`). */
  async auditCheckpoints(run: string): Promise<AuditedCheckpoint[]> {
    const h = this.open();
    assertRunId(run);
    const stored = this.read(() => this.scan(h.dbs.checkpoints, run));
    return auditCheckpoints(run, stored, (epoch) => this.read(() => h.dbs.states.get([run, epoch])));
  }

  async discardAfter(run: string, epoch: number): Promise<number> {
    const moved = await this.write(
      'discardAfter',
      () => {
        assertRunId(run);
        assertU32('epoch', epoch);
      },
      (h) => {
        const later = this.scan(h.dbs.checkpoints, run, { from: epoch + 1 });
        for (const s of later) {
          const n = h.dbs.quarantine.getKeysCount({ start: [run, s.epoch, 0, ''], end: [run, s.epoch, MAX_U32 + 1, ''] });
          const state = h.dbs.states.get([run, s.epoch]);
          void h.dbs.quarantine.put([run, s.epoch, n, 'checkpoint'], toBuffer(s.bytes));
          if (state) void h.dbs.quarantine.put([run, s.epoch, n, 'state'], state);
          void h.dbs.checkpoints.remove([run, s.epoch]);
          void h.dbs.states.remove([run, s.epoch]);
        }
        return later.length;
      },
    );
    if (moved > 0) this.logger?.warn({ run, after: epoch, count: moved }, 'moved checkpoints to quarantine');
    return moved;
  }

  appendJournal(run: string, entry: JournalEntry): Promise<number> {
    return this.write(
      'appendJournal',
      () => prepareJournalEntry(run, entry),
      (h, bytes) => {
        const last = this.scan(h.dbs.journal, run, { reverse: true, limit: 1 })[0];
        const seq = last ? last.epoch + 1 : 1;
        void h.dbs.journal.put([run, seq], toBuffer(bytes));
        return seq;
      },
    );
  }

  async journal(run: string, fromSeq = 1): Promise<JournalRecord[]> {
    const h = this.open();
    assertRunId(run);
    assertU32('fromSeq', fromSeq);
    return this.read(() => this.scan(h.dbs.journal, run, { from: fromSeq })).map((s) => ({ seq: s.epoch, entry: readJournalEntry(run, s.epoch, s.bytes) }));
  }

  /**
   * The open LMDB environment, for components that keep their own named
   * sub-databases in it (the governance ledger: runtime/ledger/lmdb-store.ts,
   * databases `ledger-*`), so a host keeps one environment (SPEC §4). Valid
   * between start() and stop(); start such a component after this store and
   * stop it before. Its writes go through `writer()`.
   */
  environment(): RootDatabase<Buffer, Key> {
    return this.open().root;
  }

  /** The environment's one writer (lmdb-writer.ts), for components that keep sub-databases in it. */
  writer(): LmdbWriter {
    return this.open().writer;
  }

  // ------------------------------------------------------------ internals

  private async openEnv(): Promise<void> {
    let root: RootDatabase<Buffer, Key>;
    try {
      await mkdir(this.path, { recursive: true });
    } catch (e) {
      throw this.io('open', e);
    }
    // Mapping a damaged file crashes the process (SIGBUS, SIGSEGV): check it first.
    await checkLmdbEnvironment(this.path);
    try {
      root = open<Buffer, Key>({ path: this.path, ...LMDB_ENV_OPTIONS, encoding: 'binary' });
    } catch (e) {
      throw this.io('open', e);
    }
    const dbs = Object.fromEntries(LMDB_DATABASES.map((name) => [name, root.openDB<Buffer, Key>({ name, encoding: 'binary' })])) as Record<LmdbDatabaseName, Db>;
    const writer = new LmdbWriter(root, { path: this.path }, { logger: this.logger });
    const h: Handles = { root, dbs, writer };
    const format = dbs.meta.get('format');
    if (format === undefined) {
      try {
        await writer.write('write the store format', () => undefined, () => void dbs.meta.put('format', Buffer.from(STORE_FORMAT)));
      } catch (e) {
        await root.close().catch(() => undefined);
        throw e;
      }
    } else if (format.toString('utf8') !== STORE_FORMAT) {
      await root.close().catch(() => undefined);
      throw new QallowError('STORE_CORRUPT', `${this.path} holds ${JSON.stringify(format.toString('utf8').slice(0, 64))}, not a ${STORE_FORMAT} store`, { path: this.path });
    }
    this.handles = h;
    this.logger?.info({ path: this.path }, 'store opened');
  }

  private open(): Handles {
    if (!this.handles) throw new QallowError('STORE_CLOSED', `the store at ${this.path} is not open; start it first`, { path: this.path });
    return this.handles;
  }

  private io(action: string, e: unknown): QallowError {
    return new QallowError('IO_ERROR', `store at ${this.path}: could not ${action}: ${errorMessage(e)}`, { path: this.path, action }, { cause: e });
  }

  private read<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof QallowError) throw e;
      throw this.io('read', e);
    }
  }

  /** A run's (key number, bytes) in key order, from `from` up; `epoch` is the key's number (a journal's seq). */
  private scan(db: Db, run: string, opts: { from?: number; reverse?: boolean; limit?: number } = {}): StoredCheckpoint[] {
    const r = range(run, opts.from ?? 0);
    const options = opts.reverse ? { start: r.end, end: [run, (opts.from ?? 0) - 1] as Key, reverse: true } : r;
    const out: StoredCheckpoint[] = [];
    for (const { key, value } of db.getRange({ ...options, ...(opts.limit === undefined ? {} : { limit: opts.limit }) })) {
      out.push({ epoch: (key as [string, number])[1], bytes: own(value) });
    }
    return out;
  }

  /** One durable write through the environment's writer (lmdb-writer.ts); `apply` runs inside the transaction. */
  private write<P, R>(action: string, prepare: () => P, apply: (h: Handles, prepared: P) => R): Promise<R> {
    let h: Handles;
    try {
      h = this.open();
    } catch (e) {
      return Promise.reject(e);
    }
    return h.writer.write(action, prepare, (prepared) => apply(h, prepared));
  }
}

/** Build (no I/O until start()) the LMDB store of a data directory. */
export function createLmdbStore(init: LmdbStoreInit, components: StoreComponents = {}): LmdbStore {
  return new LmdbStore(init, components);
}

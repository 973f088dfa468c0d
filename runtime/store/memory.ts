/**
 * An in-memory Store for tests. It keeps the same encoded bytes the LMDB
 * store writes and reads them back through the same rules (rules.ts), so a
 * test on it exercises decoding, validation and recovery, not a shortcut.
 * Nothing survives the process.
 */
import { QallowError } from '../errors.js';
import type { Checkpoint } from './checkpoint.js';
import type { RecoveredCheckpoint, Store, StoreComponents, StoreLogger } from './contract.js';
import type { JournalEntry, JournalRecord } from './journal.js';
import {
  assertRunId,
  assertU32,
  checkExtends,
  prepareCheckpoint,
  prepareJournalEntry,
  prepareRunRecord,
  readCheckpoint,
  readJournalEntry,
  readRunRecord,
  readSnapshot,
  recoverLatest,
} from './rules.js';
import type { RunRecord } from './run.js';
import type { StateSnapshot } from './snapshot.js';

/** The keyed tables, as the LMDB store has them (for tests that tamper with stored bytes). */
export type MemoryTable = 'checkpoints' | 'states' | 'journal';

export class MemoryStore implements Store {
  private open = false;
  private readonly tables: Record<MemoryTable, Map<string, Map<number, Uint8Array>>> = {
    checkpoints: new Map(),
    states: new Map(),
    journal: new Map(),
  };
  private readonly runRecords = new Map<string, Uint8Array>();
  private readonly quarantine: Array<{ run: string; epoch: number; checkpoint: Uint8Array; state: Uint8Array | undefined }> = [];
  private readonly logger: StoreLogger | undefined;

  constructor(components: StoreComponents = {}) {
    this.logger = components.logger;
  }

  async start(): Promise<void> {
    this.open = true;
  }

  async stop(): Promise<void> {
    this.open = false;
  }

  async putRun(record: RunRecord): Promise<void> {
    this.assertOpen();
    this.runRecords.set(record.run, prepareRunRecord(record));
  }

  async getRun(run: string): Promise<RunRecord | undefined> {
    this.assertOpen();
    assertRunId(run);
    const bytes = this.runRecords.get(run);
    return bytes ? readRunRecord(run, bytes) : undefined;
  }

  async runs(): Promise<string[]> {
    this.assertOpen();
    return [...this.runRecords.keys()].sort();
  }

  async putCheckpoint(checkpoint: Checkpoint, snapshot: StateSnapshot): Promise<void> {
    this.assertOpen();
    const prepared = prepareCheckpoint(checkpoint, snapshot);
    const newest = this.sorted('checkpoints', checkpoint.run).at(-1);
    checkExtends(checkpoint, newest);
    this.row('checkpoints', checkpoint.run).set(checkpoint.epoch, prepared.checkpoint);
    this.row('states', checkpoint.run).set(checkpoint.epoch, prepared.state);
  }

  async listCheckpoints(run: string): Promise<Checkpoint[]> {
    this.assertOpen();
    assertRunId(run);
    return this.sorted('checkpoints', run).map((s) => readCheckpoint(run, s.epoch, s.bytes));
  }

  async getSnapshot(run: string, epoch: number): Promise<StateSnapshot> {
    this.assertOpen();
    assertRunId(run);
    assertU32('epoch', epoch);
    const bytes = this.tables.states.get(run)?.get(epoch);
    if (!bytes) throw new QallowError('CHECKPOINT_NOT_FOUND', `run ${JSON.stringify(run)} has no stored state at epoch ${epoch}`, { run, epoch });
    return readSnapshot(run, epoch, bytes);
  }

  async latestValidCheckpoint(run: string): Promise<RecoveredCheckpoint> {
    this.assertOpen();
    assertRunId(run);
    const found = recoverLatest(run, this.sorted('checkpoints', run), (epoch) => this.tables.states.get(run)?.get(epoch));
    if (found.skipped.length > 0) this.logger?.warn({ run, epoch: found.checkpoint.epoch, skipped: found.skipped }, 'skipped unusable checkpoints');
    return found;
  }

  async discardAfter(run: string, epoch: number): Promise<number> {
    this.assertOpen();
    assertRunId(run);
    assertU32('epoch', epoch);
    const later = this.sorted('checkpoints', run).filter((s) => s.epoch > epoch);
    for (const s of later) {
      this.quarantine.push({ run, epoch: s.epoch, checkpoint: s.bytes, state: this.tables.states.get(run)?.get(s.epoch) });
      this.tables.checkpoints.get(run)!.delete(s.epoch);
      this.tables.states.get(run)?.delete(s.epoch);
    }
    if (later.length > 0) this.logger?.warn({ run, after: epoch, count: later.length }, 'moved checkpoints to quarantine');
    return later.length;
  }

  async appendJournal(run: string, entry: JournalEntry): Promise<number> {
    this.assertOpen();
    const bytes = prepareJournalEntry(run, entry);
    const last = this.sorted('journal', run).at(-1);
    const seq = last ? last.epoch + 1 : 1;
    this.row('journal', run).set(seq, bytes);
    return seq;
  }

  async journal(run: string, fromSeq = 1): Promise<JournalRecord[]> {
    this.assertOpen();
    assertRunId(run);
    assertU32('fromSeq', fromSeq);
    return this.sorted('journal', run)
      .filter((s) => s.epoch >= fromSeq)
      .map((s) => ({ seq: s.epoch, entry: readJournalEntry(run, s.epoch, s.bytes) }));
  }

  /** Test hook: the stored bytes under (table, run, key), or undefined. */
  rawGet(table: MemoryTable, run: string, key: number): Uint8Array | undefined {
    return this.tables[table].get(run)?.get(key);
  }

  /** Test hook: overwrite stored bytes, as disk corruption would. */
  rawSet(table: MemoryTable, run: string, key: number, bytes: Uint8Array): void {
    this.row(table, run).set(key, bytes);
  }

  /** Quarantined checkpoints (see Store.discardAfter), oldest first. */
  quarantined(run: string): Array<{ epoch: number; checkpoint: Uint8Array }> {
    return this.quarantine.filter((q) => q.run === run).map((q) => ({ epoch: q.epoch, checkpoint: q.checkpoint }));
  }

  private assertOpen(): void {
    if (!this.open) throw new QallowError('STORE_CLOSED', 'the store is not open; start it first', {});
  }

  private row(table: MemoryTable, run: string): Map<number, Uint8Array> {
    let m = this.tables[table].get(run);
    if (!m) this.tables[table].set(run, (m = new Map()));
    return m;
  }

  /** (key, bytes) of a run in key order; `epoch` is the key (a journal's seq). */
  private sorted(table: MemoryTable, run: string): Array<{ epoch: number; bytes: Uint8Array }> {
    const m = this.tables[table].get(run);
    if (!m) return [];
    return [...m.entries()].sort((a, b) => a[0] - b[0]).map(([epoch, bytes]) => ({ epoch, bytes }));
  }
}

export function createMemoryStore(components: StoreComponents = {}): MemoryStore {
  return new MemoryStore(components);
}

/**
 * The origin's round in flight, kept durably: the batch it proposed and has
 * not yet seen certified. Validators never sign a different entry for a seq
 * they signed, so after a crash the origin must propose the *same* batch
 * again; this is where it finds it. One named database (`governance-pending`)
 * in the host's one LMDB environment; written (and flushed) before any
 * validator is asked.
 */
import type { Database, RootDatabase } from 'lmdb';
import { Packr } from 'msgpackr';
import type { BatchHeader } from '../ledger/batch.js';
import { decodePropose } from './wire.js';

export interface PendingBatch {
  readonly header: BatchHeader;
  readonly originSignature: Uint8Array;
  readonly entries: readonly Uint8Array[];
}

export interface PendingStore {
  load(): Promise<PendingBatch | undefined>;
  save(b: PendingBatch): Promise<void>;
  clear(): Promise<void>;
}

const packr = new Packr({ useRecords: false, moreTypes: false });
const KEY = 'round';

type Env = Pick<RootDatabase<Buffer, string>, 'openDB' | 'transaction' | 'flushed'>;

export class LmdbPendingStore implements PendingStore {
  private db: Database<Buffer, string> | undefined;

  constructor(private readonly env: () => Env) {}

  private open(): Database<Buffer, string> {
    this.db ??= this.env().openDB<Buffer, string>({ name: 'governance-pending', encoding: 'binary' });
    return this.db;
  }

  async load(): Promise<PendingBatch | undefined> {
    const raw = this.open().get(KEY);
    if (raw === undefined) return undefined;
    // Decode means validate, for our own bytes too: a torn or corrupted record is refused by name.
    const m = decodePropose({ type: 'propose', ...(packr.unpack(raw) as Record<string, unknown>) });
    return { header: m.header, originSignature: m.originSignature, entries: m.entries };
  }

  async save(b: PendingBatch): Promise<void> {
    const db = this.open();
    const bytes = packr.pack({ header: { ...b.header }, originSignature: b.originSignature, entries: [...b.entries] });
    await this.env().transaction(() => void db.put(KEY, bytes));
    await this.env().flushed;
  }

  async clear(): Promise<void> {
    const db = this.open();
    await this.env().transaction(() => void db.remove(KEY));
    await this.env().flushed;
  }
}

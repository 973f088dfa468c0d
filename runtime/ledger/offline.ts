/**
 * A stopped host's ledger, opened from its data directory by the offline
 * tools (`qallow ledger verify` and `export`, the demo's summary): the
 * LMDB environment and the ledger store in it, without a validator set
 * (the stored one is used) or a vote log, closed again when `use` is done.
 * A running host makes its ledger store through runtime/compose instead.
 */
import { createLmdbStore } from '../store/lmdb.js';
import { createLmdbLedgerStore, type LmdbLedgerStore } from './lmdb-store.js';

export async function withOfflineLedger<T>(dataDir: string, use: (ledger: LmdbLedgerStore) => Promise<T>): Promise<T> {
  const store = createLmdbStore({ dataDir });
  await store.start();
  const ledger = createLmdbLedgerStore({}, { store });
  try {
    await ledger.start();
    return await use(ledger);
  } finally {
    await ledger.stop();
    await store.stop();
  }
}

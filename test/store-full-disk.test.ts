/**
 * A full disk under the LMDB store (a real 8 MiB tmpfs, filled by a real
 * file): a write fails with IO_ERROR naming the cause, no promise of lmdb-js
 * is left to reject unhandled (that killed the host: issue 11 item 9), what
 * was stored stays readable, and the same write succeeds once space returns.
 */
import { join } from 'node:path';
import test from 'ava';
import { isQallowError } from '../runtime/errors.js';
import { createLmdbStore } from '../runtime/store/lmdb.js';
import { chain, link, phase13Snapshot, tempDir } from './fixtures/store-fixtures.js';
import { certify, chainOf, cluster, openLedger } from './helpers/ledger.js';
import { mountSmallDisk } from './helpers/tmpfs.js';

const C = cluster(4);

/** Unhandled rejections seen while `f` runs and for one turn of the event loop after (when Node reports them). */
async function unhandledDuring<T>(f: () => Promise<T>): Promise<{ result: T; unhandled: unknown[] }> {
  const unhandled: unknown[] = [];
  const on = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', on);
  try {
    const result = await f();
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    return { result, unhandled };
  } finally {
    process.off('unhandledRejection', on);
  }
}

test('a write to a full disk is IO_ERROR with its cause, leaves no unhandled rejection, keeps what was stored, and succeeds once space returns', async (t) => {
  const dir = await tempDir(t, 'qallow-fulldisk-');
  const disk = await mountSmallDisk(t, join(dir, 'disk'));
  const store = createLmdbStore({ dataDir: join(disk.dir, 'data') });
  await store.start();
  t.teardown(() => store.stop());

  const [genesis, first] = chain('r', 2);
  await store.putRun({ run: 'r', params: genesis!.snapshot.params, backend: 'js', epochTicks: 10, state: 'running' });
  await store.putCheckpoint(genesis!.checkpoint, genesis!.snapshot);
  await store.putCheckpoint(first!.checkpoint, first!.snapshot);
  // A state too big to fit in pages LMDB already has: the commit must grow the file.
  const big = link('r', 2, phase13Snapshot(20, 7, 40_000, 2), first!.checkpoint);

  await disk.fill();
  const failed = await unhandledDuring(async () => {
    const writes = [store.putCheckpoint(big.checkpoint, big.snapshot), store.appendJournal('r', { type: 'pause', tick: 20 })];
    return Promise.allSettled(writes);
  });
  t.deepEqual(failed.unhandled, [], 'no promise left unhandled');
  for (const r of failed.result) {
    t.is(r.status, 'rejected');
    if (r.status !== 'rejected') continue;
    t.true(isQallowError(r.reason, 'IO_ERROR'), `typed IO_ERROR (got ${String(r.reason)})`);
    t.regex((r.reason as Error).message, /No space left on device/, 'the message gives the real cause');
  }

  // Reads still work and nothing of the failed writes is there.
  t.deepEqual((await store.listCheckpoints('r')).map((c) => c.epoch), [0, 1]);
  t.is((await store.latestValidCheckpoint('r')).checkpoint.epoch, 1);
  t.deepEqual(await store.journal('r'), []);

  // Closing and reopening while the disk is still full: the failed commit does not stop the store from closing.
  await store.stop();
  await store.start();
  t.deepEqual((await store.listCheckpoints('r')).map((c) => c.epoch), [0, 1]);

  await disk.free();
  const retried = await unhandledDuring(() => store.putCheckpoint(big.checkpoint, big.snapshot));
  t.deepEqual(retried.unhandled, []);
  t.deepEqual((await store.listCheckpoints('r')).map((c) => c.epoch), [0, 1, 2]);
  t.is((await store.getSnapshot('r', 2)).tick, 20);
  t.is(await store.appendJournal('r', { type: 'pause', tick: 20 }), 1);
});

test('the ledger store shares the writer: an append to a full disk is IO_ERROR, heads stay readable, and the same append succeeds once space returns', async (t) => {
  const dir = await tempDir(t, 'qallow-fulldisk-');
  const disk = await mountSmallDisk(t, join(dir, 'disk'));
  const { ledger } = await openLedger(t, join(disk.dir, 'data'), { validators: C.set, voteLog: false });
  const records = certify(C, chainOf(C.ids[0]!, 400));
  t.deepEqual(new Set(await ledger.appendMany(records.slice(0, 10))), new Set(['appended']));

  await disk.fill();
  const failed = await unhandledDuring(() => ledger.appendMany(records.slice(10)).then(() => 'appended', (e: unknown) => e));
  t.deepEqual(failed.unhandled, [], 'no promise left unhandled');
  t.true(isQallowError(failed.result, 'IO_ERROR'), String(failed.result));
  t.regex((failed.result as Error).message, /could not append ledger records/);
  t.is(await ledger.height(C.ids[0]!), 10, 'reads still work; nothing of the failed append is there');

  await disk.free();
  t.is((await ledger.appendMany(records.slice(10))).length, 390);
  t.is(await ledger.height(C.ids[0]!), 400);
});

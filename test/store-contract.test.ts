/**
 * The Store contract, run against every implementation (STYLE: one contract
 * suite per interface): LMDB in a temp directory, and in memory.
 */
import test, { type ExecutionContext } from 'ava';
import { isQallowError, type ErrorCode, type QallowError } from '../runtime/errors.js';
import { verifyChain, type Checkpoint } from '../runtime/store/checkpoint.js';
import type { Store } from '../runtime/store/contract.js';
import type { JournalEntry } from '../runtime/store/journal.js';
import { createLmdbStore } from '../runtime/store/lmdb.js';
import { createMemoryStore, type MemoryTable } from '../runtime/store/memory.js';
import type { RunRecord } from '../runtime/store/run.js';
import { canonicalStateBytes, stateHash, type StateSnapshot } from '../runtime/store/snapshot.js';
import { chain, flipByte, garbage, link, phase13Snapshot, tamperLmdb, tempDir, truncate } from './fixtures/store-fixtures.js';

type Mutate = (bytes: Uint8Array) => Uint8Array;

interface Subject {
  /** The store under test (tampering with LMDB stops it and opens a new one). */
  store: Store;
  /** Overwrite stored bytes as disk corruption would; afterwards `store` is open again. */
  tamper(table: MemoryTable, run: string, key: number, mutate: Mutate): Promise<void>;
}

interface Implementation {
  readonly name: string;
  make(t: ExecutionContext): Promise<Subject>;
}

const implementations: readonly Implementation[] = [
  {
    name: 'lmdb',
    async make(t) {
      const dataDir = await tempDir(t);
      const subject: Subject = {
        store: createLmdbStore({ dataDir }),
        async tamper(table, run, key, mutate) {
          await subject.store.stop();
          await tamperLmdb(dataDir, table, [run, key], mutate);
          subject.store = createLmdbStore({ dataDir });
          await subject.store.start();
        },
      };
      await subject.store.start();
      t.teardown(() => subject.store.stop());
      return subject;
    },
  },
  {
    name: 'memory',
    async make(t) {
      const store = createMemoryStore();
      await store.start();
      t.teardown(() => store.stop());
      return {
        store,
        async tamper(table, run, key, mutate) {
          const before = store.rawGet(table, run, key);
          if (!before) throw new Error(`nothing stored under ${table} ${run} ${key}`);
          store.rawSet(table, run, key, mutate(new Uint8Array(before)));
        },
      };
    },
  },
];

async function rejectsWith(t: ExecutionContext, p: Promise<unknown>, code: ErrorCode): Promise<QallowError> {
  const err = await t.throwsAsync(p);
  t.true(isQallowError(err, code), `expected ${code}, got ${String(err)}`);
  return err as QallowError;
}

function sameState(t: ExecutionContext, a: StateSnapshot, b: StateSnapshot): void {
  t.true(Buffer.from(canonicalStateBytes(a)).equals(Buffer.from(canonicalStateBytes(b))), 'states differ');
}

async function putAll(store: Store, links: ReturnType<typeof chain>): Promise<void> {
  for (const l of links) await store.putCheckpoint(l.checkpoint, l.snapshot);
}

const runRecord = (run: string, state: RunRecord['state'] = 'running'): RunRecord => {
  const s = phase13Snapshot(0);
  return { run, params: s.params, backend: 'js', epochTicks: 100, state };
};

const journalFixtures: { readonly [K in JournalEntry['type']]: Extract<JournalEntry, { type: K }> } = {
  start: { type: 'start', params: phase13Snapshot(0).params, backend: 'js', epochTicks: 100, tick: 0 },
  pause: { type: 'pause', tick: 120 },
  resume: { type: 'resume', tick: 120 },
  adapt: { type: 'adapt', ring: 1, coupling: 0.0005, tick: 300 },
  cancel: { type: 'cancel', tick: 450 },
};

for (const impl of implementations) {
  const it = (title: string, body: (t: ExecutionContext, s: Subject) => Promise<void>): void => {
    test(`${impl.name}: ${title}`, async (t) => body(t, await impl.make(t)));
  };

  it('every call fails with STORE_CLOSED after stop, and stop twice is harmless', async (t, s) => {
    await s.store.stop();
    await s.store.stop();
    const [c] = chain('r', 1);
    await rejectsWith(t, s.store.putCheckpoint(c!.checkpoint, c!.snapshot), 'STORE_CLOSED');
    await rejectsWith(t, s.store.listCheckpoints('r'), 'STORE_CLOSED');
    await rejectsWith(t, s.store.latestValidCheckpoint('r'), 'STORE_CLOSED');
    await rejectsWith(t, s.store.appendJournal('r', journalFixtures.pause), 'STORE_CLOSED');
    await rejectsWith(t, s.store.runs(), 'STORE_CLOSED');
    await s.store.start();
    t.deepEqual(await s.store.listCheckpoints('r'), []);
  });

  it('run records: create, read, replace, list sorted', async (t, s) => {
    t.is(await s.store.getRun('b'), undefined);
    await s.store.putRun(runRecord('b'));
    await s.store.putRun(runRecord('a', 'paused'));
    await s.store.putRun(runRecord('b', 'done'));
    t.deepEqual(await s.store.runs(), ['a', 'b']);
    t.deepEqual(await s.store.getRun('b'), runRecord('b', 'done'));
    t.deepEqual(await s.store.getRun('a'), runRecord('a', 'paused'));
    await rejectsWith(t, s.store.putRun({ ...runRecord('c'), epochTicks: 0 }), 'BAD_PARAMETER');
    await rejectsWith(t, s.store.putRun({ ...runRecord('c'), state: 'lost' as RunRecord['state'] }), 'BAD_PARAMETER');
    await rejectsWith(t, s.store.putRun(runRecord('')), 'BAD_PARAMETER');
    t.deepEqual(await s.store.runs(), ['a', 'b']);
  });

  it('checkpoints come back in epoch order with their states, bit for bit', async (t, s) => {
    // Epochs 8, 9, 10, 11: numeric order, not the lexicographic 10, 11, 8, 9.
    const links = chain('run-1', 4, 'phase13', 8);
    await putAll(s.store, links);
    const listed = await s.store.listCheckpoints('run-1');
    t.deepEqual(listed, links.map((l) => l.checkpoint));
    t.is(verifyChain(listed), null);
    for (const l of links) {
      const snap = await s.store.getSnapshot('run-1', l.checkpoint.epoch);
      sameState(t, snap, l.snapshot);
      t.is(stateHash(snap), l.checkpoint.stateHash);
    }
  });

  it('runs are kept apart, including runs whose ids share a prefix', async (t, s) => {
    const a = chain('a', 3, 'phase12');
    const ab = chain('ab', 2, 'phase13');
    await putAll(s.store, a);
    await putAll(s.store, ab);
    t.deepEqual(await s.store.listCheckpoints('a'), a.map((l) => l.checkpoint));
    t.deepEqual(await s.store.listCheckpoints('ab'), ab.map((l) => l.checkpoint));
    t.deepEqual(await s.store.listCheckpoints('b'), []);
    t.is((await s.store.latestValidCheckpoint('a')).checkpoint.epoch, 2);
    t.is((await s.store.latestValidCheckpoint('ab')).checkpoint.epoch, 1);
  });

  it('missing things are CHECKPOINT_NOT_FOUND', async (t, s) => {
    await rejectsWith(t, s.store.getSnapshot('nope', 0), 'CHECKPOINT_NOT_FOUND');
    await rejectsWith(t, s.store.latestValidCheckpoint('nope'), 'CHECKPOINT_NOT_FOUND');
    await putAll(s.store, chain('r', 1));
    await rejectsWith(t, s.store.getSnapshot('r', 1), 'CHECKPOINT_NOT_FOUND');
  });

  it('putCheckpoint accepts only a verified checkpoint that extends the stored chain, with its own state', async (t, s) => {
    const links = chain('r', 3);
    await putAll(s.store, links.slice(0, 2));
    const [l0, l1, l2] = links as [(typeof links)[0], (typeof links)[0], (typeof links)[0]];
    // Not linked to the newest (links to epoch 0 instead of 1).
    const fork = link('r', 2, l2.snapshot, l0.checkpoint);
    await rejectsWith(t, s.store.putCheckpoint(fork.checkpoint, fork.snapshot), 'BAD_PARAMETER');
    // The same epoch again, and a genesis checkpoint on a run that has one.
    await rejectsWith(t, s.store.putCheckpoint(l1.checkpoint, l1.snapshot), 'BAD_PARAMETER');
    await rejectsWith(t, s.store.putCheckpoint(l0.checkpoint, l0.snapshot), 'BAD_PARAMETER');
    // A state that is not the one the checkpoint hashes.
    await rejectsWith(t, s.store.putCheckpoint(l2.checkpoint, l1.snapshot), 'BAD_PARAMETER');
    // A checkpoint whose hash does not match its fields.
    const forged: Checkpoint = { ...l2.checkpoint, tick: l2.checkpoint.tick + 1 };
    await rejectsWith(t, s.store.putCheckpoint(forged, l2.snapshot), 'BAD_PARAMETER');
    // The first checkpoint of a run must be genesis.
    const orphan = link('other', 5, l2.snapshot, { ...l1.checkpoint, run: 'other', epoch: 4 });
    await rejectsWith(t, s.store.putCheckpoint(orphan.checkpoint, orphan.snapshot), 'BAD_PARAMETER');
    t.deepEqual(await s.store.listCheckpoints('other'), []);
    // Nothing of the refused writes was stored; the right one still goes in.
    t.deepEqual(await s.store.listCheckpoints('r'), [l0.checkpoint, l1.checkpoint]);
    sameState(t, await s.store.getSnapshot('r', 1), l1.snapshot);
    await s.store.putCheckpoint(l2.checkpoint, l2.snapshot);
    t.deepEqual(await s.store.listCheckpoints('r'), links.map((l) => l.checkpoint));
  });

  it('two writers racing to extend the same checkpoint: exactly one wins', async (t, s) => {
    const [l0] = chain('r', 1);
    await s.store.putCheckpoint(l0!.checkpoint, l0!.snapshot);
    const a = link('r', 1, phase13Snapshot(10, 100), l0!.checkpoint);
    const b = link('r', 1, phase13Snapshot(10, 200), l0!.checkpoint);
    const results = await Promise.allSettled([s.store.putCheckpoint(a.checkpoint, a.snapshot), s.store.putCheckpoint(b.checkpoint, b.snapshot)]);
    t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    t.true(isQallowError(lost.reason, 'BAD_PARAMETER'));
    const stored = await s.store.listCheckpoints('r');
    t.is(stored.length, 2);
    t.is(verifyChain(stored), null);
  });

  it('latestValidCheckpoint returns the newest checkpoint and its state when all is well', async (t, s) => {
    const links = chain('r', 4);
    await putAll(s.store, links);
    const found = await s.store.latestValidCheckpoint('r');
    t.deepEqual(found.checkpoint, links[3]!.checkpoint);
    sameState(t, found.snapshot, links[3]!.snapshot);
    t.deepEqual(found.skipped, []);
  });

  it('a flipped byte in the newest stored state: that checkpoint is skipped with a reason, the previous one is used', async (t, s) => {
    const links = chain('r', 3);
    await putAll(s.store, links);
    await s.tamper('states', 'r', 2, flipByte(-2));
    const found = await s.store.latestValidCheckpoint('r');
    t.is(found.checkpoint.epoch, 1);
    sameState(t, found.snapshot, links[1]!.snapshot);
    t.is(found.skipped.length, 1);
    t.is(found.skipped[0]!.epoch, 2);
    t.regex(found.skipped[0]!.reason, /hashes to/);
    // The checkpoint records themselves are intact.
    t.deepEqual(await s.store.listCheckpoints('r'), links.map((l) => l.checkpoint));
  });

  it('a garbage newest checkpoint record: typed error on reading it, skipped by recovery, nothing else lost', async (t, s) => {
    const links = chain('r', 3);
    await putAll(s.store, links);
    await s.store.appendJournal('r', journalFixtures.start);
    await s.store.putRun(runRecord('r'));
    await s.tamper('checkpoints', 'r', 2, garbage);
    const err = await rejectsWith(t, s.store.listCheckpoints('r'), 'CHECKPOINT_CORRUPT');
    t.like(err.details, { run: 'r', epoch: 2, record: 'checkpoint' });
    const found = await s.store.latestValidCheckpoint('r');
    t.is(found.checkpoint.epoch, 1);
    t.deepEqual(
      found.skipped.map((x) => x.epoch),
      [2],
    );
    t.regex(found.skipped[0]!.reason, /unreadable/);
    sameState(t, await s.store.getSnapshot('r', 0), links[0]!.snapshot);
    sameState(t, await s.store.getSnapshot('r', 2), links[2]!.snapshot);
    t.deepEqual(await s.store.journal('r'), [{ seq: 1, entry: journalFixtures.start }]);
    t.deepEqual(await s.store.getRun('r'), runRecord('r'));
  });

  it('a truncated stored state: CHECKPOINT_CORRUPT naming run and epoch, skipped by recovery', async (t, s) => {
    const links = chain('r', 3);
    await putAll(s.store, links);
    await s.tamper('states', 'r', 2, truncate(-5));
    const err = await rejectsWith(t, s.store.getSnapshot('r', 2), 'CHECKPOINT_CORRUPT');
    t.like(err.details, { run: 'r', epoch: 2, record: 'state' });
    const found = await s.store.latestValidCheckpoint('r');
    t.is(found.checkpoint.epoch, 1);
    t.deepEqual(
      found.skipped.map((x) => x.epoch),
      [2],
    );
    sameState(t, await s.store.getSnapshot('r', 1), links[1]!.snapshot);
  });

  it('a checkpoint record changed in the middle breaks the chain for every later checkpoint', async (t, s) => {
    await putAll(s.store, chain('r', 4));
    // Still decodes, but its hash no longer matches (a flipped bit of the timestamp or a hash digit).
    await s.tamper('checkpoints', 'r', 1, flipByte(-3));
    const found = await s.store.latestValidCheckpoint('r');
    t.is(found.checkpoint.epoch, 0);
    t.deepEqual(
      found.skipped.map((x) => x.epoch),
      [3, 2, 1],
    );
    t.regex(found.skipped[0]!.reason, /epoch 1/);
  });

  it('when every checkpoint is unusable, recovery fails with CHECKPOINT_CORRUPT', async (t, s) => {
    await putAll(s.store, chain('r', 2));
    await s.tamper('states', 'r', 0, garbage);
    await s.tamper('states', 'r', 1, garbage);
    const err = await rejectsWith(t, s.store.latestValidCheckpoint('r'), 'CHECKPOINT_CORRUPT');
    t.like(err.details, { run: 'r', skipped: 2 });
  });

  it('after a corrupt newest checkpoint: appending is refused until discardAfter moves it out, then the run continues', async (t, s) => {
    const links = chain('r', 3);
    await putAll(s.store, links);
    await s.tamper('checkpoints', 'r', 2, truncate(10));
    const found = await s.store.latestValidCheckpoint('r');
    t.is(found.checkpoint.epoch, 1);
    const next = link('r', 2, phase13Snapshot(20, 999), found.checkpoint, [{ kind: 'rollback', toEpoch: 1, tick: 10 }]);
    await rejectsWith(t, s.store.putCheckpoint(next.checkpoint, next.snapshot), 'CHECKPOINT_CORRUPT');
    t.is(await s.store.discardAfter('r', found.checkpoint.epoch), 1);
    t.is(await s.store.discardAfter('r', found.checkpoint.epoch), 0);
    await s.store.putCheckpoint(next.checkpoint, next.snapshot);
    const again = await s.store.latestValidCheckpoint('r');
    t.deepEqual(again.checkpoint, next.checkpoint);
    t.deepEqual(again.skipped, []);
    t.is(verifyChain(await s.store.listCheckpoints('r')), null);
  });

  it('journal: sequence numbers from 1, entries in order, per run, from a given seq', async (t, s) => {
    const entries = Object.values(journalFixtures);
    const seqs: number[] = [];
    for (const e of entries) seqs.push(await s.store.appendJournal('r', e));
    t.deepEqual(
      seqs,
      entries.map((_, i) => i + 1),
    );
    await s.store.appendJournal('r2', journalFixtures.pause);
    t.deepEqual(
      await s.store.journal('r'),
      entries.map((entry, i) => ({ seq: i + 1, entry })),
    );
    t.deepEqual(
      await s.store.journal('r', 4),
      entries.slice(3).map((entry, i) => ({ seq: i + 4, entry })),
    );
    t.deepEqual(await s.store.journal('r2'), [{ seq: 1, entry: journalFixtures.pause }]);
    t.deepEqual(await s.store.journal('none'), []);
  });

  it('journal: concurrent appends get distinct, gapless sequence numbers', async (t, s) => {
    const seqs = await Promise.all(Array.from({ length: 25 }, (_, i) => s.store.appendJournal('r', { type: 'pause', tick: i })));
    t.deepEqual(
      [...seqs].sort((a, b) => a - b),
      Array.from({ length: 25 }, (_, i) => i + 1),
    );
    const stored = await s.store.journal('r');
    for (const { seq, entry } of stored) t.is(entry.tick, seqs.indexOf(seq));
  });

  it('journal: a malformed entry is refused, a corrupt stored one is STORE_CORRUPT', async (t, s) => {
    await rejectsWith(t, s.store.appendJournal('r', { type: 'adapt', ring: 0, coupling: Number.NaN, tick: 1 }), 'BAD_PARAMETER');
    await rejectsWith(t, s.store.appendJournal('r', { type: 'explode', tick: 1 } as unknown as JournalEntry), 'BAD_PARAMETER');
    await rejectsWith(t, s.store.appendJournal('', journalFixtures.pause), 'BAD_PARAMETER');
    t.deepEqual(await s.store.journal('r'), []);
    await s.store.appendJournal('r', journalFixtures.pause);
    await s.store.appendJournal('r', journalFixtures.resume);
    await s.tamper('journal', 'r', 2, garbage);
    const err = await rejectsWith(t, s.store.journal('r'), 'STORE_CORRUPT');
    t.like(err.details, { run: 'r', seq: 2 });
  });

  it('bad arguments are BAD_PARAMETER, not a crash', async (t, s) => {
    await rejectsWith(t, s.store.getSnapshot('r', -1), 'BAD_PARAMETER');
    await rejectsWith(t, s.store.getSnapshot('r', 1.5), 'BAD_PARAMETER');
    await rejectsWith(t, s.store.listCheckpoints('x'.repeat(300)), 'BAD_PARAMETER');
    await rejectsWith(t, s.store.journal('r', -3), 'BAD_PARAMETER');
    await rejectsWith(t, s.store.discardAfter('r', Number.NaN), 'BAD_PARAMETER');
  });
}

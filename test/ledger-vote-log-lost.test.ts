/**
 * Issue 11 item 10 (vote log) and item 9 (its writes on a full disk):
 * a deleted vote log, or one that lost a segment the store has not folded,
 * is noticed at start and refused with STORE_CORRUPT saying what to do (a
 * validator that forgot its votes could equivocate, so it is not rebuilt);
 * an append that fails on a full disk is IO_ERROR, leaves no half-written
 * record, and appends work again once there is room.
 */
import { createHash } from 'node:crypto';
import { readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { isQallowError } from '../runtime/errors.js';
import { VoteLog } from '../runtime/ledger/vote-log.js';
import { cluster, openLedger, tempDir } from './helpers/ledger.js';
import { mountSmallDisk } from './helpers/tmpfs.js';

const C = cluster(4);
const A = C.ids[0]!;
const hash = (i: number): string => createHash('sha256').update(`entry ${i}`).digest('hex');

function segments(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.log'))
    .sort();
}

test('a deleted vote log is refused at start with STORE_CORRUPT naming it and what to do; the votes are kept once it is restored', async (t) => {
  const dataDir = await tempDir(t);
  const votes = join(dataDir, 'votes');
  const first = await openLedger(t, dataDir, { validators: C.set });
  t.true(await first.ledger.recordVotes(A, [{ seq: 7, hash: hash(7) }]));
  await first.close();

  renameSync(votes, join(dataDir, 'votes.bak'));
  const e = await t.throwsAsync(() => openLedger(t, dataDir, { validators: C.set }));
  t.true(isQallowError(e, 'STORE_CORRUPT'), String(e));
  t.is((e as { details?: Record<string, unknown> }).details?.['path'], votes);
  t.regex(e!.message, /is missing/);
  t.regex(e!.message, /could sign a conflicting entry/);
  t.regex(e!.message, /Restore .* from a backup/);

  renameSync(join(dataDir, 'votes.bak'), votes);
  const again = await openLedger(t, dataDir, { validators: C.set });
  t.is(await again.ledger.votedFor(A, 7), hash(7), 'the restored log is read and folded');
  t.false(await again.ledger.recordVote(A, 7, hash(8)), 'and the vote still binds');
});

test('a vote log that lost its live segment is refused too', async (t) => {
  const dataDir = await tempDir(t);
  const votes = join(dataDir, 'votes');
  const a = await openLedger(t, dataDir, { validators: C.set });
  t.true(await a.ledger.recordVotes(A, [{ seq: 1, hash: hash(1) }]));
  await a.close();
  const live = segments(votes);
  t.deepEqual(live, ['votes-00000001.log']);
  rmSync(join(votes, live[0]!));
  const e = await t.throwsAsync(() => openLedger(t, dataDir, { validators: C.set }));
  t.true(isQallowError(e, 'STORE_CORRUPT'), String(e));
  t.regex(e!.message, /has no votes-00000001\.log/);
});

test('a segment missing between the first unfolded one and the newest is refused', async (t) => {
  const dir = await tempDir(t);
    // Segments 1, 2 and 3 as if three starts had crashed before folding; then 2 goes.
    for (let i = 0; i < 3; i++) VoteLog.open(dir).log.close();
    t.deepEqual(segments(dir), ['votes-00000001.log', 'votes-00000002.log', 'votes-00000003.log']);
    rmSync(join(dir, 'votes-00000002.log'));
    const e = t.throws(() => VoteLog.open(dir, undefined, { expectFrom: 1 }));
    t.true(isQallowError(e, 'STORE_CORRUPT'));
    t.regex(e!.message, /has no votes-00000002\.log/);
    t.notThrows(() => VoteLog.open(dir, undefined, { expectFrom: 3 }).log.close(), 'segments below the first unfolded one are folded already');
});

test('a vote append on a full disk is IO_ERROR, leaves no half record, and appends again once there is room', async (t) => {
  const dir = await tempDir(t);
  const disk = await mountSmallDisk(t, join(dir, 'disk'), '1m');
  const logDir = join(disk.dir, 'votes');
  const { log } = VoteLog.open(logDir);
  t.teardown(() => log.close());
  log.append([{ kind: 'votes', origin: A, firstSeq: 1, hashes: [hash(1)] }]);
  const before = log.size;
  await disk.fill();
  // A record bigger than what little tmpfs might still hold in a partly filled page.
  const many = Array.from({ length: 2000 }, (_, i) => hash(100 + i));
  const e = t.throws(() => log.append([{ kind: 'votes', origin: A, firstSeq: 100, hashes: many }]));
  t.true(isQallowError(e, 'IO_ERROR'), String(e));
  t.regex(e!.message, /ENOSPC|no space/i);
  t.is(log.size, before);
  await disk.free();
  log.append([{ kind: 'votes', origin: A, firstSeq: 2, hashes: [hash(2)] }]);
  log.close();
  const reread = VoteLog.open(logDir);
  reread.log.close();
  t.deepEqual(
    reread.records.map((r) => (r.kind === 'votes' ? r.firstSeq : -1)),
    [1, 2],
    'the failed record is gone and the log reads back whole',
  );
});

test('a new LMDB environment (data.mdb deleted) under an old vote log is refused: the folded votes are gone', async (t) => {
  const dataDir = await tempDir(t);
  const first = await openLedger(t, dataDir, { validators: C.set });
  t.true(await first.ledger.recordVotes(A, [{ seq: 3, hash: hash(3) }]));
  await first.close();
  // Fold once more (a restart), so the vote lives only in LMDB; then LMDB goes.
  await (await openLedger(t, dataDir, { validators: C.set })).close();
  rmSync(join(dataDir, 'lmdb'), { recursive: true });
  const e = await t.throwsAsync(() => openLedger(t, dataDir, { validators: C.set }));
  t.true(isQallowError(e, 'STORE_CORRUPT'), String(e));
  t.regex(e!.message, /the ledger store in LMDB is new/);
});

/**
 * The vote log (runtime/ledger/vote-log.ts) and the ledger store on top of
 * it: records read back in order across segments; a record cut short at
 * the end of a segment is ignored, damage with records after it is
 * STORE_CORRUPT naming file and offset; the store folds the log into LMDB
 * on start (and when it grows), keeps the host's own rounds as its pending
 * rounds, refuses conflicting votes across restarts, and refuses vote
 * writes when opened without a log.
 */
import { appendFileSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { Packr } from 'msgpackr';
import { createHash } from 'node:crypto';
import { isQallowError, type QallowError } from '../runtime/errors.js';
import { nodeId } from '../runtime/actors/address.js';
import { encodeVoteLogRecord, VoteLog, type RoundRecord, type VoteLogRecord } from '../runtime/ledger/vote-log.js';
import { cluster, openLedger, tempDir } from './helpers/ledger.js';

const C = cluster(4);
const A = C.ids[0]!;
const hash = (i: number): string => createHash('sha256').update(`entry ${i}`).digest('hex');

function round(firstSeq: number, count: number): RoundRecord {
  const entries = Array.from({ length: count }, (_, i) => Buffer.from(`entry bytes ${firstSeq + i}`));
  return {
    kind: 'round',
    header: { origin: nodeId(A), firstSeq, count, root: 'ab'.repeat(32) },
    originSignature: new Uint8Array(64).fill(7),
    entries,
    hashes: entries.map((e) => createHash('sha256').update(e).digest('hex')),
  };
}

function segments(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.log'))
    .sort();
}

function warnings(): { warn(obj: object, msg: string): void; info(obj: object, msg: string): void; seen: string[] } {
  const seen: string[] = [];
  return { seen, warn: (_o, msg) => void seen.push(msg), info: () => undefined };
}

/** A log in `dir` holding votes for seqs 1 and 2, one record each; returns its segment file. */
function twoVotes(dir: string): string {
  const { log } = VoteLog.open(dir);
  log.append([{ kind: 'votes', origin: A, firstSeq: 1, hashes: [hash(1)] }]);
  log.append([{ kind: 'votes', origin: A, firstSeq: 2, hashes: [hash(2)] }]);
  log.close();
  return join(dir, segments(dir)[0]!);
}

test('records come back in order across segments; open starts a fresh segment', async (t) => {
  const dir = join(await tempDir(t), 'votes');
  const recs: VoteLogRecord[] = [
    { kind: 'votes', origin: A, firstSeq: 1, hashes: [hash(1), hash(2)] },
    round(3, 2),
  ];
  const first = VoteLog.open(dir);
  t.deepEqual(first.records, []);
  first.log.append([recs[0]!]);
  first.log.rotate();
  first.log.append([recs[1]!]);
  first.log.close();
  const again = VoteLog.open(dir);
  t.deepEqual(
    again.records.map((r) => ({ ...r, ...(r.kind === 'round' ? { entries: r.entries.map((e) => Buffer.from(e).toString()), originSignature: [...r.originSignature] } : {}) })),
    recs.map((r) => ({ ...r, ...(r.kind === 'round' ? { entries: r.entries.map((e) => Buffer.from(e).toString()), originSignature: [...r.originSignature] } : {}) })),
  );
  t.is(again.segments.length, 2);
  t.is(segments(dir).length, 3, 'the two written segments and the fresh one');
  again.log.remove(again.segments);
  again.log.close();
  t.deepEqual(segments(dir), ['votes-00000003.log']);
});

test('a record cut short at the end of a segment is ignored (never acknowledged) and a warning names the file', async (t) => {
  const dir = join(await tempDir(t), 'votes');
  const file = twoVotes(dir);
  for (const cut of [1, 20, 45]) {
    const whole = readFileSync(file);
    truncateSync(file, whole.byteLength - cut);
    const logger = warnings();
    const back = VoteLog.open(dir, logger);
    back.log.close();
    t.deepEqual(
      back.records.map((r) => (r.kind === 'votes' ? r.firstSeq : -1)),
      [1],
      `cut ${cut} bytes`,
    );
    t.true(logger.seen.some((m) => m.includes('cut short')));
    writeFileSync(file, whole);
  }
});

test('damage with records after it is STORE_CORRUPT naming the file and the offset; a record that does not decode too', async (t) => {
  const dir = join(await tempDir(t), 'votes');
  const file = twoVotes(dir);
  const whole = readFileSync(file);
  const bad = Buffer.from(whole);
  bad[12] ^= 0x01; // inside the first record's payload
  writeFileSync(file, bad);
  const e = t.throws(() => VoteLog.open(dir)) as QallowError;
  t.true(isQallowError(e, 'STORE_CORRUPT'));
  t.is(e.details['key'], file);
  t.is(e.details['offset'], 0);
  t.regex(e.message, /checksum mismatch.*Restore the data directory/);

  // A checksummed record whose content is wrong (a 31-byte hash), followed by a good one.
  const payload = new Packr({ useRecords: false, moreTypes: false }).pack({ k: 'v', o: A, s: 1, h: [Buffer.alloc(31)] });
  const frame = Buffer.alloc(8 + payload.byteLength);
  frame.writeUInt32LE(payload.byteLength, 0);
  createHash('sha256').update(payload).digest().copy(frame, 4, 0, 4);
  payload.copy(frame, 8);
  writeFileSync(file, Buffer.concat([frame, encodeVoteLogRecord({ kind: 'votes', origin: A, firstSeq: 2, hashes: [hash(2)] })]));
  const e2 = t.throws(() => VoteLog.open(dir)) as QallowError;
  t.true(isQallowError(e2, 'STORE_CORRUPT'));
  t.regex(e2.message, /does not decode: hash 0 must be 32 bytes/);
  // The same bad record at the very end is a cut-short append: ignored.
  writeFileSync(file, frame);
  const back = VoteLog.open(dir);
  back.log.close();
  t.deepEqual(back.records, []);
});


test('the store folds the log into LMDB on start and deletes the folded segments; votes and own rounds survive', async (t) => {
  const dataDir = await tempDir(t);
  const first = await openLedger(t, dataDir, { validators: C.set });
  t.true(await first.ledger.recordVotes(A, [{ seq: 10, hash: hash(10) }, { seq: 11, hash: hash(11) }, { seq: 15, hash: hash(15) }]));
  const r1 = round(1, 3);
  const r2 = round(4, 1);
  t.true(await first.ledger.recordRound(r1, r1.hashes));
  t.true(await first.ledger.recordRound(r2, r2.hashes));
  t.false(await first.ledger.recordRound(round(15, 1), round(15, 1).hashes), 'seq 15 was voted for another hash');
  t.deepEqual(first.ledger.pendingRounds().map((r) => r.header.firstSeq), [1, 4]);
  // The process "dies" here: nothing is folded, only the log holds these votes.
  const before = segments(join(dataDir, 'votes'));
  t.is(before.length, 1);
  await first.close();

  const again = await openLedger(t, dataDir, { validators: C.set });
  t.deepEqual(segments(join(dataDir, 'votes')), ['votes-00000002.log'], 'folded and deleted; a fresh segment');
  t.is(await again.ledger.votedFor(A, 11), hash(11));
  t.is(await again.ledger.votedFor(A, 1), r1.hashes[0]);
  t.false(await again.ledger.recordVote(A, 15, hash(16)), 'a conflicting vote is refused after the restart');
  t.false(await again.ledger.recordVote(A, 2, hash(2)), 'the own round counts as a vote');
  t.deepEqual(again.ledger.pendingRounds().map((r) => [r.header.firstSeq, r.header.count, Buffer.from(r.entries[0]!).toString()]), [
    [1, 3, 'entry bytes 1'],
    [4, 1, 'entry bytes 4'],
  ]);
  await again.close();
  // Once more: now from LMDB alone (the log is empty).
  const third = await openLedger(t, dataDir, { validators: C.set });
  t.is(await third.ledger.votedFor(A, 15), hash(15));
  t.deepEqual(third.ledger.pendingRounds().map((r) => r.header.firstSeq), [1, 4]);
});

test('a large log is folded while the host runs: votes stay visible throughout and the old segment goes', async (t) => {
  const dataDir = await tempDir(t);
  const { ledger } = await openLedger(t, dataDir, { validators: C.set });
  const many = Array.from({ length: 70_000 }, (_, i) => ({ seq: i + 1, hash: hash(i % 7) }));
  t.true(await ledger.recordVotes(A, many));
  t.is(await ledger.votedFor(A, 69_999), hash(69_998 % 7), 'visible while the fold runs');
  t.false(await ledger.recordVote(A, 3, hash(0)), 'conflicts are caught while the fold runs');
  // The fold ends with the old segment deleted; wait for it through the directory.
  for (let i = 0; segments(join(dataDir, 'votes')).length > 1; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (i > 1_000_000) t.fail('the fold never finished');
  }
  t.deepEqual(segments(join(dataDir, 'votes')), ['votes-00000002.log']);
  t.is(await ledger.votedFor(A, 69_999), hash(69_998 % 7), 'visible from LMDB after the fold');
  t.false(await ledger.recordVote(A, 3, hash(0)));
});

test('a store opened without a vote log (offline tools) refuses vote writes with BAD_USAGE', async (t) => {
  const dataDir = await tempDir(t);
  const { ledger } = await openLedger(t, dataDir, { validators: C.set, voteLog: false });
  const e = await t.throwsAsync(ledger.recordVote(A, 1, hash(1)));
  t.true(isQallowError(e, 'BAD_USAGE'));
  t.regex(e!.message, /without a vote log/);
});

test('a damaged vote log stops the store from starting, and the LMDB data is untouched', async (t) => {
  const dataDir = await tempDir(t);
  const first = await openLedger(t, dataDir, { validators: C.set });
  t.true(await first.ledger.recordVote(A, 1, hash(1)));
  await first.close();
  const again = await openLedger(t, dataDir, { validators: C.set });
  t.true(await again.ledger.recordVotes(A, [{ seq: 2, hash: hash(2) }]));
  t.true(await again.ledger.recordVotes(A, [{ seq: 3, hash: hash(3) }]));
  await again.close();
  const dir = join(dataDir, 'votes');
  const file = join(dir, segments(dir).at(-1)!);
  const bytes = readFileSync(file);
  bytes[10] ^= 0xff;
  writeFileSync(file, bytes);
  const e = await t.throwsAsync(openLedger(t, dataDir, { validators: C.set }));
  t.true(isQallowError(e, 'STORE_CORRUPT'));
  t.regex(e!.message, /votes-00000002\.log.*byte 0/);
  // Repair by restoring the file: everything is still there.
  bytes[10] ^= 0xff;
  writeFileSync(file, bytes);
  appendFileSync(file, Buffer.from([1, 2, 3])); // and a cut-short tail, which is ignored
  const fixed = await openLedger(t, dataDir, { validators: C.set });
  t.is(await fixed.ledger.votedFor(A, 1), hash(1));
  t.is(await fixed.ledger.votedFor(A, 3), hash(3));
});

test('a vote log directory that cannot be made is IO_ERROR naming the path, and the store does not start', async (t) => {
  const dataDir = await tempDir(t);
  writeFileSync(join(dataDir, 'votes'), 'not a directory');
  const e = await t.throwsAsync(openLedger(t, dataDir, { validators: C.set }));
  t.true(isQallowError(e, 'IO_ERROR'));
  t.regex(e!.message, /votes/);
  t.is((e as QallowError).details['path'], join(dataDir, 'votes'));
});

/**
 * The LMDB ledger store inside the host's one LMDB environment: chains,
 * idempotent and conflicting appends, verification before writing, votes
 * durable across reopening the environment, catch-up reads, subscribe.
 */
import test from 'ava';
import { isQallowError } from '../runtime/errors.js';
import { entryHash } from '../runtime/ledger/entry.js';
import type { LedgerRecord } from '../runtime/ledger/record.js';
import { certify, certifyInBatches, chainOf, cluster, entryOf, openLedger, tempDir } from './helpers/ledger.js';

const C = cluster(4);
const [A, B] = [C.ids[0]!, C.ids[1]!];


function code(e: unknown): string {
  return isQallowError(e) ? `${e.code}:${String(e.details['problem'] ?? '')}` : String(e);
}

test('appends chains per origin; heights, heads, get and range reads follow', async (t) => {
  const { ledger } = await openLedger(t, await tempDir(t), { validators: C.set });
  const a = certifyInBatches(C, chainOf(A, 7), 3);
  const b = certify(C, chainOf(B, 2));
  for (const r of a) t.is(await ledger.append(r), 'appended');
  t.deepEqual(await ledger.appendMany(b), ['appended', 'appended']);
  t.is(await ledger.height(A), 7);
  t.is(await ledger.height(B), 2);
  t.is(await ledger.height(C.ids[3]!), 0);
  t.deepEqual(await ledger.heads(), [
    { origin: A, seq: 7, hash: a[6]!.hash },
    { origin: B, seq: 2, hash: b[1]!.hash },
  ]);
  t.deepEqual(await ledger.get(A, 4), a[3]);
  t.is(await ledger.get(A, 8), undefined);
  t.deepEqual((await ledger.entriesFrom(A, 3, 3)).map((r) => r.entry.seq), [3, 4, 5]);
  t.deepEqual((await ledger.entriesFrom(A, 6, 100)).map((r) => r.entry.seq), [6, 7]);
  t.deepEqual(await ledger.entriesFrom(B, 3, 10), []);
  t.deepEqual([...ledger.raw()].map((r) => `${r.origin}#${r.seq}`), [...a, ...b].map((r) => `${r.entry.origin}#${r.entry.seq}`));
});

test('a repeated identical append is a no-op; a different entry for a stored seq is LEDGER_CONFLICT', async (t) => {
  const { ledger } = await openLedger(t, await tempDir(t), { validators: C.set });
  const a = certify(C, chainOf(A, 3));
  await ledger.appendMany(a);
  t.is(await ledger.append(a[1]!), 'duplicate');
  // A second, different seq 2 — certified by a quorum (as a byzantine quorum could): still refused.
  const fork = certify(C, [entryOf('halt', A, 2, a[0]!.hash, { timestamp: 42 })]);
  const e = await t.throwsAsync(ledger.append(fork[0]!));
  t.is(code(e), 'LEDGER_CONFLICT:conflicting');
  t.is(await ledger.height(A), 3);
  t.deepEqual(await ledger.get(A, 2), a[1]);
});

test('gaps, broken links and bad certificates are refused before anything is written', async (t) => {
  const { ledger } = await openLedger(t, await tempDir(t), { validators: C.set });
  const a = certify(C, chainOf(A, 4));
  t.is(code(await t.throwsAsync(ledger.append(a[1]!))), 'LEDGER_BAD_CHAIN:gap');
  await ledger.append(a[0]!);
  const unlinked = certify(C, [entryOf('halt', A, 2, 'ff'.repeat(32))]);
  t.is(code(await t.throwsAsync(ledger.append(unlinked[0]!))), 'LEDGER_BAD_CHAIN:bad-link');
  const weak: LedgerRecord = { ...a[1]!, certificate: { votes: a[1]!.certificate.votes.slice(0, 2) } };
  t.is(code(await t.throwsAsync(ledger.append(weak))), 'LEDGER_NO_QUORUM:too-few');
  // appendMany is all or nothing: a bad record in the middle leaves the chain as it was.
  t.is(code(await t.throwsAsync(ledger.appendMany([a[1]!, a[3]!]))), 'LEDGER_BAD_CHAIN:gap');
  t.is(await ledger.height(A), 1);
  t.is(await ledger.append(a[1]!), 'appended');
});

test('votes: first vote recorded, same vote again is fine, a different one is refused — across reopening', async (t) => {
  const dir = await tempDir(t);
  const h1 = entryHash(chainOf(A, 1)[0]!);
  const h2 = 'ee'.repeat(32);
  const first = await openLedger(t, dir, { validators: C.set });
  t.true(await first.ledger.recordVote(A, 1, h1));
  t.true(await first.ledger.recordVote(A, 1, h1));
  t.false(await first.ledger.recordVote(A, 1, h2));
  t.true(await first.ledger.recordVotes(B, [{ seq: 1, hash: h1 }, { seq: 2, hash: h2 }]));
  await first.close();

  const again = await openLedger(t, dir, { validators: C.set });
  t.is(await again.ledger.votedFor(A, 1), h1);
  t.false(await again.ledger.recordVote(A, 1, h2), 'the refusal survives a restart');
  t.true(await again.ledger.recordVote(A, 1, h1));
  // A batch vote with one conflicting seq writes nothing.
  t.false(await again.ledger.recordVotes(B, [{ seq: 3, hash: h1 }, { seq: 2, hash: h1 }]));
  t.is(await again.ledger.votedFor(B, 3), undefined);
  t.is(await again.ledger.votedFor(B, 2), h2);
});

test('the validator set is stored once; reopening with another set is LEDGER_CONFLICT; offline opening uses the stored one', async (t) => {
  const dir = await tempDir(t);
  const first = await openLedger(t, dir, { validators: C.set });
  await first.ledger.appendMany(certify(C, chainOf(A, 2)));
  await first.close();
  t.is(code(await t.throwsAsync(openLedger(t, dir, { validators: cluster(4, 5).set }))), 'LEDGER_CONFLICT:validator-set');
  const offline = await openLedger(t, dir, { validators: undefined });
  t.true(offline.ledger.validatorSet()!.equals(C.set));
  t.is(await offline.ledger.height(A), 2);
});

test('the ledger lives in the host store\'s environment, beside its runs', async (t) => {
  const dir = await tempDir(t);
  const { store, ledger } = await openLedger(t, dir, { validators: C.set });
  await ledger.append(certify(C, chainOf(A, 1))[0]!);
  t.deepEqual(await store.runs(), [], 'the run store still works in the same environment');
  t.is(store.path, `${dir}/lmdb`);
});

test('subscribers see each appended record once, in order, after it is durable', async (t) => {
  const { ledger } = await openLedger(t, await tempDir(t), { validators: C.set });
  const seen: string[] = [];
  const heights: Promise<number>[] = [];
  const off = ledger.subscribe((r) => {
    seen.push(`${r.entry.origin}#${r.entry.seq}`);
    heights.push(ledger.height(r.entry.origin)); // read at notification time
  });
  const a = certify(C, chainOf(A, 3));
  await ledger.appendMany(a.slice(0, 2));
  await ledger.append(a[1]!); // duplicate: not announced
  await ledger.append(a[2]!);
  off();
  await ledger.append(certify(C, chainOf(B, 1))[0]!);
  t.deepEqual(seen, [`${A}#1`, `${A}#2`, `${A}#3`]);
  t.deepEqual(await Promise.all(heights), [2, 2, 3], 'each record is committed (whole transaction) when announced');
});

test('calls on a stopped ledger store fail with STORE_CLOSED', async (t) => {
  const o = await openLedger(t, await tempDir(t), { validators: C.set });
  await o.close();
  t.is(code(await t.throwsAsync(o.ledger.height(A))), 'STORE_CLOSED:');
  t.is(code(await t.throwsAsync(o.ledger.recordVote(A, 1, 'aa'.repeat(32)))), 'STORE_CLOSED:');
});

/**
 * The `ledger.tail` query without processes: the merge order, the newest-N
 * page, cursors, per-origin limits and `more`, export lines that parse back
 * to the records, the command's validation (each refusal names its field),
 * and the human line of every entry kind.
 */
import test from 'ava';
import { nodeId, type NodeId } from '../runtime/actors/address.js';
import { parseAdminCommand, type LedgerTailCommand } from '../runtime/admin/command.js';
import { formatRecord } from '../runtime/cli/commands/ledger-tail.js';
import { isQallowError, type QallowError } from '../runtime/errors.js';
import { ledgerTail, mergeByCommitTime, type TailSource } from '../runtime/governance/tail.js';
import type { ChainHead } from '../runtime/ledger/chain.js';
import { ZERO_HASH, entryHash, type EntryKind, type LedgerEntry } from '../runtime/ledger/entry.js';
import { parseExportLine } from '../runtime/ledger/export.js';
import type { LedgerRecord } from '../runtime/ledger/record.js';
import { DETAILS, certify, cluster, entryOf } from './helpers/ledger.js';

const C = cluster(4);
const [A, B] = C.ids as [NodeId, NodeId];

/** A chain of `origin` whose entries carry the given timestamps. */
function chain(origin: NodeId, timestamps: readonly number[]): LedgerRecord[] {
  const entries: LedgerEntry[] = [];
  let prev = ZERO_HASH;
  timestamps.forEach((ts, i) => {
    const e = entryOf('ethics_check', origin, i + 1, prev, { timestamp: ts }) as LedgerEntry;
    entries.push(e);
    prev = entryHash(e);
  });
  return certify(C, entries);
}

function source(chains: ReadonlyMap<string, LedgerRecord[]>): TailSource {
  return {
    validatorSet: () => C.set,
    heads: async () =>
      [...chains].map(([origin, rs]): ChainHead => ({ origin: origin as NodeId, seq: rs.length, hash: rs.at(-1)!.hash })),
    entriesFrom: async (origin, seq, limit) => (chains.get(origin) ?? []).slice(seq - 1, seq - 1 + limit),
  };
}

const names = (rs: readonly LedgerRecord[]): string[] => rs.map((r) => `${r.entry.origin}#${r.entry.seq}`);

test('merge: by timestamp, ties by origin, and each origin in seq order even when its clock steps back', (t) => {
  const a = chain(A, [10, 20, 15, 40]); // A's clock steps back at seq 3
  const b = chain(B, [10, 16, 30]);
  t.deepEqual(names(mergeByCommitTime([b, a])), [`${A}#1`, `${B}#1`, `${B}#2`, `${A}#2`, `${A}#3`, `${B}#3`, `${A}#4`]);
  t.deepEqual(mergeByCommitTime([]), []);
});

test('without a cursor: the newest `limit` overall, and heads to follow from', async (t) => {
  const chains = new Map([
    [A as string, chain(A, [1, 3, 5, 7, 9])],
    [B as string, chain(B, [2, 4, 6])],
  ]);
  const r = await ledgerTail(source(chains), { type: 'ledger.tail', limit: 4 });
  t.deepEqual(r.records.map((l, i) => `${parseExportLine(l, i + 2).entry.origin}#${parseExportLine(l, i + 2).entry.seq}`), [`${A}#3`, `${B}#3`, `${A}#4`, `${A}#5`]);
  t.deepEqual(r.heads, { [A]: 5, [B]: 3 });
  t.false(r.more);
  t.is(r.validators, 4);
  t.is(r.quorum, 3);
  // The lines are export lines: they parse back to the very records.
  t.deepEqual(parseExportLine(r.records.at(-1)!, 2), chains.get(A)![4]);
});

test('with cursors: records past them, at most `limit` per origin, `more` until caught up, each record once', async (t) => {
  const chains = new Map([
    [A as string, chain(A, [1, 3, 5, 7, 9, 11, 13])],
    [B as string, chain(B, [2, 4])],
  ]);
  const src = source(chains);
  const seen: string[] = [];
  let after: LedgerTailCommand['after'] = [{ origin: B, seq: 1 }]; // A not listed: from its seq 1
  let rounds = 0;
  for (;;) {
    const r = await ledgerTail(src, { type: 'ledger.tail', limit: 3, after });
    rounds++;
    seen.push(...r.records.map((l, i) => parseExportLine(l, i + 2)).map((x) => `${x.entry.origin}#${x.entry.seq}`));
    after = Object.entries(r.heads).map(([origin, seq]) => ({ origin, seq }));
    if (!r.more) break;
  }
  t.is(rounds, 3, 'A has 7 records past its cursor: pages of 3, 3, 1');
  t.deepEqual([...seen].sort(), [...[1, 2, 3, 4, 5, 6, 7].map((s) => `${A}#${s}`), `${B}#2`].sort());
  t.is(new Set(seen).size, seen.length, 'no record twice');
  // Caught up: nothing new, heads unchanged; a new record is the next answer.
  const idle = await ledgerTail(src, { type: 'ledger.tail', limit: 3, after });
  t.deepEqual(idle.records, []);
  t.deepEqual(idle.heads, { [A]: 7, [B]: 2 });
  chains.set(B, chain(B, [2, 4, 20]));
  const next = await ledgerTail(src, { type: 'ledger.tail', limit: 3, after });
  t.deepEqual(next.records.map((l) => parseExportLine(l, 2).entry.seq), [3]);
  // A cursor ahead of what this host has (a host behind its peers) sends nothing and keeps the host's height.
  const behind = await ledgerTail(src, { type: 'ledger.tail', limit: 3, after: [{ origin: A, seq: 50 }, { origin: B, seq: 3 }] });
  t.deepEqual(behind.records, []);
  t.deepEqual(behind.heads, { [A]: 7, [B]: 3 });
});

test('the command: limit 1..1000, cursors of node ids listed once with seq ≥ 0, no other fields', (t) => {
  const refused = (value: unknown, field: string): void => {
    const e = t.throws(() => parseAdminCommand(value));
    t.true(isQallowError(e, 'BAD_FRAME'), String(e));
    t.is((e as QallowError).details['field'], field, (e as QallowError).message);
  };
  refused({ type: 'ledger.tail' }, 'command.limit');
  refused({ type: 'ledger.tail', limit: 0 }, 'command.limit');
  refused({ type: 'ledger.tail', limit: 1001 }, 'command.limit');
  refused({ type: 'ledger.tail', limit: 1.5 }, 'command.limit');
  refused({ type: 'ledger.tail', limit: 5, after: {} }, 'command.after');
  refused({ type: 'ledger.tail', limit: 5, after: [{ origin: 'node a', seq: 1 }] }, 'command.after[0].origin');
  refused({ type: 'ledger.tail', limit: 5, after: [{ origin: 'a', seq: -1 }] }, 'command.after[0].seq');
  refused({ type: 'ledger.tail', limit: 5, after: [{ origin: 'a', seq: 1, hash: 'x' }] }, 'command.after[0].hash');
  refused({ type: 'ledger.tail', limit: 5, after: [{ origin: 'a', seq: 1 }, { origin: 'a', seq: 2 }] }, 'command.after[1].origin');
  refused({ type: 'ledger.tail', limit: 5, since: 3 }, 'command.since');
  t.deepEqual(parseAdminCommand({ type: 'ledger.tail', limit: 5, after: [{ origin: 'a', seq: -0 }] }), { type: 'ledger.tail', limit: 5, after: [{ origin: 'a', seq: 0 }] });
});

test('the human line of every kind: origin#seq, time, kind, run/epoch/tick, decision, figures, what the kind says, certificate', (t) => {
  const expected: { [K in EntryKind]: string } = {
    ethics_check: 'threshold 2.9',
    rollback: 'to epoch 3 (drift rising for 2 epochs; ring 1 C clamped to 0)',
    adaptation: 'ring 1 k 0.01→0.005, ring 4 k 0.02→0.01',
    halt: 'still failing after 50 epochs',
    admin: 'pause ring-1m',
    supervision: 'restart qallow://node-0/runs/ring-1m (restarts 2)',
  };
  for (const kind of Object.keys(DETAILS) as EntryKind[]) {
    const [r] = certify(C, [entryOf(kind, A, 1, ZERO_HASH, { timestamp: Date.UTC(2025, 0, 2, 3, 4, 5, 678) }) as LedgerEntry], C.ids.slice(0, 3));
    const decision = kind === 'ethics_check' ? 'pass' : kind;
    t.is(formatRecord(r!, 4), `${A}#1  03:04:05.678  ${kind}  run ring-1m  epoch 1  tick 1000  ${decision}  E 2.951 entropy 0.0004 lanes 4/4  ${expected[kind]}  certified 3/4`);
  }
  // An entry about no run and no lanes leaves those parts out.
  const [admin] = certify(C, [entryOf('admin', nodeId('node-1'), 1, ZERO_HASH, { run: '', figures: { minTotal: Number.NaN, maxEntropy: Number.NaN, passed: 0, lanes: 0 }, decision: 'accepted', detail: { command: 'run', actorOrRun: 'r7' }, timestamp: 0 }) as LedgerEntry]);
  t.is(formatRecord(admin!, 4), 'node-1#1  00:00:00.000  admin  accepted  run r7  certified 4/4');
});

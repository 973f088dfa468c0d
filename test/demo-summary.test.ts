/**
 * The demo reports only what it observed (issue 11 item 8): whether the
 * restarted host resumed the killed run is read from that host's own `runs`
 * reply (resume.ts), and the summary's crash lines claim a resume, with its
 * epoch and tick, only when one was reported. No hosts here: the pure parts.
 */
import test from 'ava';
import { demoPlan, retryStep, RETRY_FACTOR } from '../runtime/demo/plan.js';
import { describeEnded, resumeOutcome } from '../runtime/demo/resume.js';
import { crashLines, renderSummary, type DemoSummary, type KillReport, type RunSummary } from '../runtime/demo/summary.js';

const plan = demoPlan(true);
const ticks = plan.converge.ticks;

test('resumeOutcome: a live run with recovered {epoch, tick} before its last tick was resumed mid-way', (t) => {
  t.deepEqual(resumeOutcome({ run: 'ring', state: 'running', tick: 600, recovered: { epoch: 2, tick: 400, skipped: [] } }, { ticks }), { kind: 'resumed', epoch: 2, tick: 400 });
});

test('resumeOutcome: a run the host knows only from its store, ended, was not resumed', (t) => {
  t.deepEqual(resumeOutcome({ run: 'ring', state: 'done', tick: ticks, epoch: 17 }, { ticks }), { kind: 'ended', state: 'done', tick: ticks, recoveredAtEnd: false });
  t.like(resumeOutcome({ run: 'ring', state: 'halted', tick: 800 }, { ticks }), { kind: 'ended', state: 'halted' });
});

test('resumeOutcome: a run recovered at its last tick had nothing left to resume', (t) => {
  t.deepEqual(resumeOutcome({ run: 'ring', state: 'done', tick: ticks, recovered: { epoch: 17, tick: ticks, skipped: [] } }, { ticks }), {
    kind: 'ended',
    state: 'done',
    tick: ticks,
    recoveredAtEnd: true,
  });
});

test('resumeOutcome: not known yet while the host lists no run, or still opens a stored running one', (t) => {
  t.deepEqual(resumeOutcome(undefined, { ticks }), { kind: 'pending' });
  t.deepEqual(resumeOutcome({ run: 'ring', state: 'running', tick: 400 }, { ticks }), { kind: 'pending' });
  t.deepEqual(resumeOutcome({ run: 'ring', state: 'running', tick: 400, recovered: null }, { ticks }), { kind: 'pending' });
});

test('retryStep: attempt 1 is the plan’s run; later attempts are longer runs with their own ids', (t) => {
  t.is(retryStep(plan.converge, 1), plan.converge);
  const second = retryStep(plan.converge, 2);
  const third = retryStep(plan.converge, 3);
  t.is(second.ticks, ticks * RETRY_FACTOR);
  t.is(third.ticks, ticks * RETRY_FACTOR ** 2);
  t.is(new Set([plan.converge.id, second.id, third.id]).size, 3);
  t.is(second.pockets, plan.converge.pockets);
  t.true(plan.killAttempts >= 2);
  t.true(plan.killAtEpoch * plan.converge.epochTicks < ticks / 2, 'the kill comes in the first half of the run');
});

const run = (over: Partial<RunSummary>): RunSummary => ({
  run: 'ring-256k',
  host: 'host-1',
  phase: 'phase13',
  state: 'done',
  epochs: 17,
  tick: ticks,
  ticks,
  lastDecision: { pass: true, E: 2.99, passed: 1, lanes: 1 },
  checks: { pass: 16, fail: 1 },
  rollbacks: 0,
  adaptations: 0,
  halts: 0,
  coupling: 0.002,
  updatesPerSecond: 1e9,
  recovered: null,
  ...over,
});

function summary(kill: KillReport, runs: RunSummary[]): DemoSummary {
  return {
    ok: kill.resumedFromEpoch !== null,
    quick: true,
    nodes: 4,
    seconds: 30,
    dataDir: '/tmp/demo',
    adminKey: '/tmp/demo/keys/admin.key',
    runs,
    decisions: { pass: 16, fail: 1 },
    rollbacks: 0,
    adaptations: 0,
    ledgers: [],
    ledgersAgree: true,
    kill,
    kept: [],
    explore: [],
  };
}

test('summary: when the run had ended before the kill, the text claims no resume and has no placeholder', (t) => {
  // The tracker saw no recovery (recovered: null) and the host reported none.
  const kill: KillReport = { host: 'host-1', run: 'ring-256k', ticks, killedAfterEpoch: 17, resumedFromEpoch: null, resumedFromTick: null, endedBeforeKill: ['ring-256k'], caughtUpEntries: 6 };
  const text = renderSummary(summary(kill, [run({})])).join('\n');
  t.notRegex(text, /resumed/);
  t.notRegex(text, /\?/);
  t.regex(text, /ring-256k had ended before the kill landed: nothing to resume/);
  t.regex(text, /Demo finished with problems/);
  t.regex(text, /fetched 6 ledger entries/);
});

test('summary: a resume is reported with the epoch and tick the host reported, after any kill that came too late', (t) => {
  const kill: KillReport = {
    host: 'host-1',
    run: 'ring-256k-2',
    ticks: ticks * 4,
    killedAfterEpoch: 3,
    resumedFromEpoch: 2,
    resumedFromTick: 400,
    endedBeforeKill: ['ring-256k'],
    caughtUpEntries: 0,
  };
  const lines = crashLines(kill);
  t.deepEqual(lines, [
    'Crash: host-1 was killed (SIGKILL), but ring-256k had ended before the kill landed: nothing to resume; the demo ran ring-256k-2, a longer run, and killed host-1 again',
    `Crash: host-1 was killed (SIGKILL) after logging epoch 3 of ring-256k-2; restarted, it resumed ring-256k-2 from checkpoint epoch 2 (tick 400 of ${ticks * 4})`,
    'Catch-up: after its restart host-1 held the ledger entries certified while it was down (its log counted none fetched)',
  ]);
  const text = renderSummary(summary(kill, [run({}), run({ run: 'ring-256k-2', recovered: { epoch: 2, tick: 400 } })])).join('\n');
  t.notRegex(text, /\?/);
  t.regex(text, /Demo complete/);
});

test('summary: every kill too late, the last run included — each is said once, no resume claimed', (t) => {
  const kill: KillReport = { host: 'host-1', run: 'r-3', ticks: 100, killedAfterEpoch: 4, resumedFromEpoch: null, resumedFromTick: null, endedBeforeKill: ['r', 'r-2', 'r-3'], caughtUpEntries: 1 };
  const lines = crashLines(kill);
  t.is(lines.length, 4);
  t.regex(lines[0]!, /but r had ended .*the demo ran r-2/);
  t.regex(lines[1]!, /but r-2 had ended .*the demo ran r-3/);
  t.regex(lines[2]!, /but r-3 had ended before the kill landed: nothing to resume$/);
  t.false(lines.some((l) => /resumed/.test(l)));
});

test('describeEnded says why there was nothing to resume', (t) => {
  t.regex(describeEnded('ring', { kind: 'ended', state: 'done', tick: ticks, recoveredAtEnd: false }, ticks), /ring had ended before the kill \(done at tick 3400\)/);
  t.regex(describeEnded('ring', { kind: 'ended', state: 'done', tick: ticks, recoveredAtEnd: true }, ticks), /all 3400 ticks before the kill.*nothing left to resume/);
});

import test, { type ExecutionContext } from 'ava';
import { pino } from 'pino';
import { QallowError } from '../runtime/errors.js';
import {
  ManualClock,
  createActorSystem,
  isEvent,
  spawnSupervisor,
  type ActorSystem,
  type RestartInfo,
} from '../runtime/actors/index.js';
import type { ActorStatus, Strategy, Supervisor } from '../supervisors/index.js';
import { NO_BACKOFF, actor, gate, get, type Probe, type State } from './helpers/recorder.js';

async function makeSystem(t: ExecutionContext, clock?: ManualClock): Promise<ActorSystem> {
  const system = createActorSystem({ nodeId: 'sup-t' }, { logger: pino({ level: 'silent' }), ...(clock ? { clock } : {}) });
  await system.start();
  t.teardown(() => system.stop());
  return system;
}



async function threeChildren(t: ExecutionContext, strategy: Strategy) {
  const system = await makeSystem(t);
  const sup = spawnSupervisor(system.root, { name: 'sup', strategy, backoff: NO_BACKOFF, intensity: { maxRestarts: 10, periodMs: 60_000 } });
  const [a, b, c] = ['a', 'b', 'c'].map((n) => actor(sup, n)) as [Probe, Probe, Probe];
  for (const p of [a, b, c]) p.ref.tell({ type: 'add', n: 1 });
  for (const p of [a, b, c]) t.deepEqual((await get(p.ref)).seen, [1]);
  return { system, sup, a, b, c };
}

function incarnations(sup: Supervisor): Record<string, number> {
  return Object.fromEntries(sup.status().children.map((c) => [c.name, c.incarnation]));
}

// ---- strategies -------------------------------------------------------------

const cases: ReadonlyArray<readonly [Strategy, readonly string[]]> = [
  ['one-for-one', ['b']],
  ['one-for-all', ['a', 'b', 'c']],
  ['rest-for-one', ['b', 'c']],
];

for (const [strategy, expected] of cases) {
  test(`${strategy}: a crash of b restarts ${expected.join(', ')} and no other sibling`, async (t) => {
    const { system, sup, a, b, c } = await threeChildren(t, strategy);
    const byName = { a, b, c } as Record<string, Probe>;
    const last = byName[expected[expected.length - 1]!]!;
    const scheduled = system.events.waitFor(isEvent('restart-scheduled', (e) => e.supervisor === sup.id));
    const done = system.events.waitFor(isEvent('actor-restarted', (e) => e.actor === last.ref.id));
    b.ref.tell({ type: 'crash' });
    const decision = await scheduled;
    t.deepEqual(decision.restarting, expected.map((n) => byName[n]!.ref.id), 'restarted in start order');
    t.is(decision.child, b.ref.id);
    await done;
    for (const name of ['a', 'b', 'c']) {
      const restarted = expected.includes(name);
      t.deepEqual((await get(byName[name]!.ref)).seen, restarted ? [] : [1], `${name} ${restarted ? 'was reset' : 'kept its state'}`);
      t.is(incarnations(sup)[name], restarted ? 1 : 0);
    }
    const last_ = sup.status().lastDecision;
    t.is(last_?.action, 'restart');
    t.is(last_?.strategy, strategy);
    t.deepEqual(last_?.restarting, expected);
    t.is(b.crashes, 1);
  });
}

test("nact's default stop never applies: a crashing actor is restarted, every time, and keeps answering", async (t) => {
  const system = await makeSystem(t);
  const sup = spawnSupervisor(system.root, { name: 'sup', strategy: 'one-for-one', backoff: NO_BACKOFF, intensity: { maxRestarts: 5, periodMs: 60_000 } });
  const p = actor(sup, 'fragile');
  for (let i = 1; i <= 4; i++) {
    const restarted = system.events.waitFor(isEvent('actor-restarted', (e) => e.actor === p.ref.id && e.incarnation === i));
    p.ref.tell({ type: 'crash' });
    await restarted;
    p.ref.tell({ type: 'add', n: i });
    t.deepEqual((await get(p.ref)).seen, [i]);
  }
  const status = sup.status().children[0] as ActorStatus;
  t.is(status.state, 'running');
  t.is(status.restarts, 4);
  t.is(status.lastError, 'fragile crashed on purpose');
  const m = system.metrics().actors.find((a) => a.actor === p.ref.id);
  t.is(m?.restarts, 4);
  t.is(m?.crashes, 4);
  t.is(m?.state, 'running');
  t.is(m?.deadLetters, 0);
});

// ---- delivery during a restart ------------------------------------------------

test('messages queued behind the crash and sent during the restart reach the new incarnation in order, none lost or duplicated; the crashing one is not redelivered', async (t) => {
  const clock = new ManualClock();
  const system = await makeSystem(t, clock);
  const sup = spawnSupervisor(system.root, { name: 'sup', backoff: { baseMs: 100, maxMs: 1000, jitter: 0 } });
  const p = actor(sup, 'worker');
  p.ref.tell({ type: 'add', n: 0 });
  const scheduled = system.events.waitFor(isEvent('restart-scheduled', (e) => e.child === p.ref.id));
  p.ref.tell({ type: 'crash' });
  for (let n = 1; n <= 5; n++) p.ref.tell({ type: 'add', n }); // queued behind the crash
  const decision = await scheduled;
  t.is(decision.delayMs, 100);
  t.is((sup.status().children[0] as ActorStatus).state, 'restarting');
  for (let n = 6; n <= 20; n++) p.ref.tell({ type: 'add', n }); // told while restarting
  const early = get(p.ref);
  const restarted = system.events.waitFor(isEvent('actor-restarted', (e) => e.actor === p.ref.id));
  clock.advance(99);
  t.is(clock.pending(), 2, 'the backoff timer and the ask timeout are both still pending');
  t.is((sup.status().children[0] as ActorStatus).state, 'restarting');
  clock.advance(1);
  await restarted;
  const expected = Array.from({ length: 20 }, (_, i) => i + 1);
  t.deepEqual((await early).seen, expected);
  t.deepEqual((await get(p.ref)).seen, expected);
  t.is(p.crashes, 1, 'the crashing message was handled once');
  const m = system.metrics().actors.find((a) => a.actor === p.ref.id);
  t.is(m?.restarts, 1);
  t.is(m?.deadLetters, 0);
  t.is(m?.mailboxDepth, 0);
  // add 0, 20 adds, 2 gets; the crash is not "processed".
  t.is(m?.processed, 23);
});

test('one-for-all: a restarted sibling keeps the messages told to it during the restart', async (t) => {
  const clock = new ManualClock();
  const system = await makeSystem(t, clock);
  const sup = spawnSupervisor(system.root, { name: 'all', strategy: 'one-for-all', backoff: { baseMs: 50, maxMs: 50, jitter: 0 } });
  const a = actor(sup, 'a');
  const b = actor(sup, 'b');
  a.ref.tell({ type: 'add', n: -1 });
  t.deepEqual((await get(a.ref)).seen, [-1]);
  const scheduled = system.events.waitFor(isEvent('restart-scheduled', (e) => e.supervisor === sup.id));
  b.ref.tell({ type: 'crash' });
  await scheduled;
  for (let n = 1; n <= 10; n++) a.ref.tell({ type: 'add', n });
  const both = Promise.all([
    system.events.waitFor(isEvent('actor-restarted', (e) => e.actor === a.ref.id)),
    system.events.waitFor(isEvent('actor-restarted', (e) => e.actor === b.ref.id)),
  ]);
  clock.advance(50);
  await both;
  t.deepEqual((await get(a.ref)).seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  t.deepEqual(incarnations(sup), { a: 1, b: 1 });
});

test("one-for-all: a sibling's in-flight handler finishes, but its result is dropped by the restart", async (t) => {
  const system = await makeSystem(t);
  const sup = spawnSupervisor(system.root, { name: 'all', strategy: 'one-for-all', backoff: NO_BACKOFF });
  const a = actor(sup, 'a');
  const b = actor(sup, 'b');
  const release = gate();
  const began = gate();
  a.ref.tell({ type: 'wait', until: release.promise, started: began.open, then: 42 });
  a.ref.tell({ type: 'add', n: 7 });
  await began.promise;
  const restarted = system.events.waitFor(isEvent('actor-restarted', (e) => e.actor === a.ref.id));
  b.ref.tell({ type: 'crash' });
  await restarted;
  release.open();
  t.deepEqual((await get(a.ref)).seen, [7], 'the old incarnation\'s "then: 42" did not survive; the queued add did');
  const m = system.metrics().actors.find((x) => x.actor === a.ref.id);
  t.is(m?.processed, 3);
});

// ---- restart state ----------------------------------------------------------

test('onRestart gives the new incarnation its state (a phase actor reloading its checkpoint)', async (t) => {
  const system = await makeSystem(t);
  const sup = spawnSupervisor(system.root, { name: 'sup', backoff: NO_BACKOFF });
  const infos: Array<RestartInfo<State>> = [];
  const p = actor(sup, 'phase', {
    onRestart: async (info) => {
      infos.push(info);
      await Promise.resolve(); // e.g. read the checkpoint store
      return { seen: [...info.lastState.seen, 1000 + info.incarnation] };
    },
  });
  p.ref.tell({ type: 'add', n: 1 });
  p.ref.tell({ type: 'add', n: 2 });
  const restarted = system.events.waitFor(isEvent('actor-restarted', (e) => e.actor === p.ref.id));
  p.ref.tell({ type: 'crash' });
  await restarted;
  t.deepEqual((await get(p.ref)).seen, [1, 2, 1001]);
  t.is(infos.length, 1);
  t.deepEqual(infos[0]?.initialState, { seen: [] });
  t.is(infos[0]?.incarnation, 1);
  t.true(infos[0]?.reason instanceof Error);
});

test('an onRestart that throws counts as a failed restart: the supervisor decides again', async (t) => {
  const system = await makeSystem(t);
  const sup = spawnSupervisor(system.root, { name: 'sup', backoff: NO_BACKOFF, intensity: { maxRestarts: 5, periodMs: 60_000 } });
  let failuresLeft = 2;
  const p = actor(sup, 'picky', {
    onRestart: () => {
      if (failuresLeft-- > 0) throw new QallowError('CHECKPOINT_NOT_FOUND', 'no checkpoint yet', {});
      return { seen: [77] };
    },
  });
  const decisions: number[] = [];
  const off = system.events.on((e) => {
    if (e.type === 'restart-scheduled' && e.child === p.ref.id) decisions.push(e.attempt);
  });
  t.teardown(off);
  const restarted = system.events.waitFor(isEvent('actor-restarted', (e) => e.actor === p.ref.id));
  p.ref.tell({ type: 'add', n: 5 }); // handled before the crash; onRestart's state replaces it
  p.ref.tell({ type: 'crash' });
  p.ref.tell({ type: 'add', n: 6 }); // waits through two failed restarts, then reaches incarnation 1
  await restarted;
  t.deepEqual(decisions, [1, 2, 3]);
  t.deepEqual((await get(p.ref)).seen, [77, 6]);
  t.is((sup.status().children[0] as ActorStatus).incarnation, 1);
  t.is(sup.status().lastDecision?.reason, 'no checkpoint yet');
});

test('stopping during a restart cancels the backoff and turns the held messages into dead letters', async (t) => {
  const clock = new ManualClock();
  const system = await makeSystem(t, clock);
  const sup = spawnSupervisor(system.root, { name: 'sup', backoff: { baseMs: 1000, maxMs: 1000, jitter: 0 } });
  const p = actor(sup, 'w');
  const scheduled = system.events.waitFor(isEvent('restart-scheduled', (e) => e.child === p.ref.id));
  p.ref.tell({ type: 'crash' });
  await scheduled;
  p.ref.tell({ type: 'add', n: 1 });
  p.ref.tell({ type: 'add', n: 2 });
  const asked = get(p.ref);
  await system.stop();
  t.is((await t.throwsAsync(asked, { instanceOf: QallowError }))?.code, 'ACTOR_STOPPED');
  t.is(clock.pending(), 0, 'no backoff timer left behind');
  const m = system.metrics().actors.find((a) => a.actor === p.ref.id);
  t.is(m?.deadLetters, 3);
  t.is(m?.restarts, 0);
  t.is(m?.mailboxDepth, 0);
  t.is(system.status().state, 'stopped');
});

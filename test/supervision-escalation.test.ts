import test, { type ExecutionContext } from 'ava';
import { pino } from 'pino';
import { QallowError } from '../runtime/errors.js';
import {
  ManualClock,
  createActorSystem,
  isEvent,
  spawnSupervisor,
  type ActorRef,
  type ActorSystem,
  type ActorSystemInit,
} from '../runtime/actors/index.js';
import type { ActorStatus, Supervisor, SupervisorStatus } from '../supervisors/index.js';
import { NO_BACKOFF, actor as recorder, get, type Msg } from './helpers/recorder.js';

const actor = (parent: Supervisor, name: string): ActorRef<Msg> => recorder(parent, name).ref;

interface Harness {
  readonly system: ActorSystem;
  readonly clock: ManualClock;
  readonly lines: Array<Record<string, unknown>>;
  readonly rootFailure: Promise<QallowError>;
}


async function harness(t: ExecutionContext, root: ActorSystemInit['root'] = {}): Promise<Harness> {
  const clock = new ManualClock();
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'trace' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  let onRootEscalation!: (e: QallowError) => void;
  const rootFailure = new Promise<QallowError>((resolve) => {
    onRootEscalation = resolve;
  });
  const system = createActorSystem({ nodeId: 'esc-t', root: { backoff: NO_BACKOFF, ...root } }, { logger, clock, onRootEscalation });
  await system.start();
  t.teardown(() => system.stop());
  return { system, clock, lines, rootFailure };
}

/** Crash `ref` and wait until its supervisor has restarted it (or escalated). */
async function crashAndSettle(system: ActorSystem, ref: ActorRef<Msg>, incarnation: number): Promise<void> {
  const restarted = system.events.waitFor(isEvent('actor-restarted', (e) => e.actor === ref.id && e.incarnation === incarnation));
  ref.tell({ type: 'crash' });
  await restarted;
}

test('intensity exhausted: the supervisor escalates, its parent restarts the whole subtree with fresh state', async (t) => {
  const { system, lines } = await harness(t, { intensity: { maxRestarts: 5, periodMs: 60_000 } });
  const bystander = actor(system.root, 'bystander');
  bystander.tell({ type: 'add', n: 1 });
  const sup = spawnSupervisor(system.root, { name: 'runs', backoff: NO_BACKOFF, intensity: { maxRestarts: 2, periodMs: 1000 } });
  const w = actor(sup, 'w');
  const other = actor(sup, 'other');
  other.tell({ type: 'add', n: 9 });
  await crashAndSettle(system, w, 1);
  await crashAndSettle(system, w, 2);
  t.is(sup.status().restartsInWindow, 2);

  const escalated = system.events.waitFor(isEvent('escalated', (e) => e.supervisor === sup.id));
  const subtree = system.events.waitFor(isEvent('supervisor-restarted', (e) => e.supervisor === sup.id));
  w.tell({ type: 'crash' });
  const e = await escalated;
  t.is(e.child, w.id);
  t.regex(e.error, /more than 2 restarts within 1000 ms/);
  await subtree;

  const s = sup.status();
  t.is(s.state, 'running');
  t.is(s.restarts, 1, 'the supervisor itself was restarted once');
  t.is(s.restartsInWindow, 0, 'a restarted supervisor starts a fresh intensity window');
  t.is(s.lastDecision?.action, 'escalate');
  t.is(s.lastDecision?.attempt, 3);
  t.deepEqual(
    s.children.map((c) => [c.name, c.incarnation]),
    [
      ['w', 3],
      ['other', 1],
    ],
  );
  t.deepEqual((await get(other)).seen, [], 'every child of the escalated supervisor restarted with fresh state');
  t.deepEqual((await get(bystander)).seen, [1], "the root is one-for-one: the supervisor's sibling is untouched");
  const rootDecision = system.status().lastDecision;
  t.is(rootDecision?.action, 'restart');
  t.is(rootDecision?.child, 'runs');
  t.deepEqual(rootDecision?.restarting, ['runs']);

  // Logged with the counters that explain it.
  const esc = lines.find((l) => l['component'] === 'supervisor' && l['action'] === 'escalate');
  t.is(esc?.['level'], 50);
  t.is(esc?.['supervisor'], sup.id);
  t.is(esc?.['maxRestarts'], 2);
  t.is(esc?.['periodMs'], 1000);
  t.is(esc?.['child'], 'w');
  const restarts = lines.filter((l) => l['component'] === 'supervisor' && l['action'] === 'restart');
  t.deepEqual(
    restarts.map((l) => [l['supervisor'], l['child'], l['attempt'], l['strategy'], l['delayMs']]),
    [
      [sup.id, 'w', 1, 'one-for-one', 0],
      [sup.id, 'w', 2, 'one-for-one', 0],
      [system.status().id, 'runs', 1, 'one-for-one', 0],
    ],
  );
});

test('restarts spread wider than the period never escalate', async (t) => {
  const { system, clock } = await harness(t);
  const sup = spawnSupervisor(system.root, { name: 'calm', backoff: NO_BACKOFF, intensity: { maxRestarts: 1, periodMs: 1000 } });
  const w = actor(sup, 'w');
  let escalations = 0;
  const off = system.events.on((e) => {
    if (e.type === 'escalated') escalations++;
  });
  t.teardown(off);
  for (let i = 1; i <= 4; i++) {
    await crashAndSettle(system, w, i);
    t.is(sup.status().lastDecision?.attempt, 1);
    clock.advance(1000);
  }
  t.is(escalations, 0);
  t.is(sup.status().restarts, 0);
});

test('an escalation that reaches the root stops the tree and fires onRootEscalation', async (t) => {
  const { system, rootFailure } = await harness(t, { intensity: { maxRestarts: 0, periodMs: 1000 } });
  const top = actor(system.root, 'top');
  const sup = spawnSupervisor(system.root, { name: 'svc', intensity: { maxRestarts: 0, periodMs: 1000 } });
  const inner = actor(sup, 'inner');
  const seenRoot = system.events.waitFor(isEvent('root-escalation'));
  inner.tell({ type: 'crash' });
  const error = await rootFailure;
  t.is(error.code, 'SUPERVISION_ESCALATED');
  t.is(error.details['supervisor'], system.status().id);
  t.is(error.details['child'], sup.id);
  t.true(error.cause instanceof QallowError && error.cause.code === 'SUPERVISION_ESCALATED', 'caused by the inner escalation');
  t.is((await seenRoot).error, error);

  const s = system.status();
  t.is(s.state, 'failed');
  const svc = s.children.find((c) => c.name === 'svc') as SupervisorStatus;
  t.is(svc.state, 'stopped');
  t.is((svc.children[0] as ActorStatus).state, 'stopped');
  t.is((s.children.find((c) => c.name === 'top') as ActorStatus).state, 'stopped');
  t.is(t.throws(() => top.tell({ type: 'add', n: 1 }), { instanceOf: QallowError })?.code, 'ACTOR_STOPPED');
  t.is(t.throws(() => actor(system.root, 'late'), { instanceOf: QallowError })?.code, 'ACTOR_STOPPED');
});

test('an actor directly under the root that exhausts the root intensity fails the root', async (t) => {
  const { system, rootFailure } = await harness(t, { intensity: { maxRestarts: 1, periodMs: 1000 } });
  const w = actor(system.root, 'w');
  await crashAndSettle(system, w, 1);
  w.tell({ type: 'crash' });
  const error = await rootFailure;
  t.is(error.code, 'SUPERVISION_ESCALATED');
  t.is(error.details['child'], w.id);
  t.is(error.details['maxRestarts'], 1);
  t.regex(error.message, /root supervisor/);
});

test('one-for-all at the parent: an escalating supervisor takes its siblings down with it', async (t) => {
  const { system } = await harness(t, { strategy: 'one-for-all', intensity: { maxRestarts: 3, periodMs: 1000 } });
  const a = actor(system.root, 'a');
  a.tell({ type: 'add', n: 1 });
  const sup = spawnSupervisor(system.root, { name: 'sup', intensity: { maxRestarts: 0, periodMs: 1000 } });
  const w = actor(sup, 'w');
  const subtree = system.events.waitFor(isEvent('supervisor-restarted', (e) => e.supervisor === sup.id));
  w.tell({ type: 'crash' });
  await subtree;
  t.deepEqual((await get(a)).seen, []);
  t.deepEqual(
    system.status().children.map((c) => [c.name, c.incarnation]),
    [
      ['a', 1],
      ['sup', 1],
    ],
  );
  t.deepEqual(system.status().lastDecision?.restarting, ['a', 'sup']);
});

test('status() is the supervision tree: children in start order with state, restarts and last decision', async (t) => {
  const { system } = await harness(t);
  const svc = actor(system.root, 'svc');
  const runs = spawnSupervisor(system.root, { name: 'runs', strategy: 'rest-for-one', intensity: { maxRestarts: 4, periodMs: 2000 }, backoff: { baseMs: 0, maxMs: 10, jitter: 0 } });
  actor(runs, 'p1');
  const p2 = actor(runs, 'p2');
  const before = system.status();
  t.like(before, { kind: 'supervisor', name: 'root', id: 'qallow://esc-t', strategy: 'one-for-one', state: 'running', lastDecision: null, restarts: 0 });
  t.deepEqual(
    before.children.map((c) => [c.kind, c.name, c.id, c.state]),
    [
      ['actor', 'svc', svc.id, 'running'],
      ['supervisor', 'runs', 'qallow://esc-t/runs', 'running'],
    ],
  );
  await crashAndSettle(system, p2, 1);
  const r = system.status().children[1] as SupervisorStatus;
  t.like(r, { strategy: 'rest-for-one', intensity: { maxRestarts: 4, periodMs: 2000 }, backoff: { baseMs: 0, maxMs: 10, jitter: 0 }, restartsInWindow: 1 });
  t.like(r.lastDecision, { action: 'restart', child: 'p2', restarting: ['p2'], attempt: 1, maxRestarts: 4, periodMs: 2000, delayMs: 0, reason: 'p2 crashed on purpose' });
  t.deepEqual(
    r.children.map((c) => [c.name, c.state, c.incarnation, c.restarts]),
    [
      ['p1', 'running', 0, 0],
      ['p2', 'running', 1, 1],
    ],
  );
  t.is((r.children[1] as ActorStatus).lastError, 'p2 crashed on purpose');
  t.is(JSON.parse(JSON.stringify(system.status())).children[1].children[1].id, 'qallow://esc-t/runs/p2', 'the tree is plain JSON');
});

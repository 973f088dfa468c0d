/**
 * `onExhausted: 'stop-child'` (issue 11, item 14): a child that fails more
 * often than the intensity allows is stopped for good and reported; its
 * supervisor, its siblings and the root carry on. Each child's restarts are
 * counted on their own, so one crash-looping child cannot use up the
 * budget of the others.
 */
import test from 'ava';
import { pino } from 'pino';
import { QallowError, isQallowError } from '../runtime/errors.js';
import { ManualClock, createActorSystem, isEvent, spawnSupervisor, type ActorRef, type ActorSystem } from '../runtime/actors/index.js';
import { NO_BACKOFF, actor as recorder, get, type Msg } from './helpers/recorder.js';

async function crashAndSettle(system: ActorSystem, ref: ActorRef<Msg>, incarnation: number): Promise<void> {
  const restarted = system.events.waitFor(isEvent('actor-restarted', (e) => e.actor === ref.id && e.incarnation === incarnation));
  ref.tell({ type: 'crash' });
  await restarted;
}

test('stop-child: a child over its restart intensity is stopped and reported; nothing escalates, the others carry on', async (t) => {
  let rootFailed: QallowError | undefined;
  const system = createActorSystem(
    { nodeId: 'stop-t', root: { backoff: NO_BACKOFF, intensity: { maxRestarts: 1, periodMs: 60_000 } } },
    { logger: pino({ level: 'silent' }), clock: new ManualClock(), onRootEscalation: (e) => (rootFailed = e) },
  );
  await system.start();
  t.teardown(() => system.stop());
  const runs = spawnSupervisor(system.root, { name: 'runs', onExhausted: 'stop-child', backoff: NO_BACKOFF, intensity: { maxRestarts: 2, periodMs: 60_000 } });
  const bad = recorder(runs, 'bad').ref;
  const good = recorder(runs, 'good').ref;
  good.tell({ type: 'add', n: 7 });
  await crashAndSettle(system, bad, 1);
  await crashAndSettle(system, bad, 2);
  // The sibling has its own count: two restarts of it are still allowed.
  await crashAndSettle(system, good, 1);
  await crashAndSettle(system, good, 2);

  const givenUp = system.events.waitFor(isEvent('child-given-up', (e) => e.child === bad.id));
  bad.tell({ type: 'crash' });
  const e = await givenUp;
  t.is(e.supervisor, runs.id);
  t.is(rootFailed, undefined, 'the root was never told');
  const s = runs.status();
  t.is(s.state, 'running');
  t.is(s.onExhausted, 'stop-child');
  t.is(s.lastDecision?.action, 'stop');
  t.is(s.lastDecision?.child, 'bad');
  t.deepEqual(
    s.children.map((c) => [c.name, c.state]),
    [
      ['bad', 'stopped'],
      ['good', 'running'],
    ],
  );
  const dead = bad.tryTell({ type: 'add', n: 1 });
  t.true(!dead.ok && dead.error.code === 'ACTOR_STOPPED');
  good.tell({ type: 'add', n: 8 });
  t.deepEqual((await get(good)).seen, [8], 'the sibling keeps working (fresh state after its own restarts)');
  t.is(system.status().state, 'running');
  // A stopped child's name can be used again, with a fresh count.
  const again = recorder(runs, 'bad').ref;
  await crashAndSettle(system, again, 1);
  t.is(runs.status().children.find((c) => c.name === 'bad')?.state, 'running');
});

test('stop-child is validated: only with one-for-one, and only the known values', (t) => {
  const system = createActorSystem({ nodeId: 'stop-v' }, { logger: pino({ level: 'silent' }) });
  t.teardown(() => system.stop());
  return system.start().then(() => {
    const e = t.throws(() => spawnSupervisor(system.root, { name: 'x', strategy: 'one-for-all', onExhausted: 'stop-child' }));
    t.true(isQallowError(e, 'BAD_PARAMETER') && e.details['field'] === 'onExhausted', String(e));
    const f = t.throws(() => spawnSupervisor(system.root, { name: 'y', onExhausted: 'nope' as 'escalate' }));
    t.true(isQallowError(f, 'BAD_PARAMETER') && f.details['field'] === 'onExhausted', String(f));
  });
});

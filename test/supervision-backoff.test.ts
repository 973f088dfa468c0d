import test from 'ava';
import { pino } from 'pino';
import { QallowError } from '../runtime/errors.js';
import { ManualClock, createActorSystem, isEvent, spawn, spawnSupervisor, type ReplyTo } from '../runtime/actors/index.js';
import { backoffBase, backoffBounds, backoffDelay, RestartIntensity, selectForRestart, type BackoffSpec, type SupervisorOptions } from '../supervisors/index.js';
import { resolveSupervisorOptions } from '../supervisors/options.js';

const spec: BackoffSpec = { baseMs: 10, maxMs: 1000, jitter: 0.25 };

test('backoff grows exponentially from baseMs and is capped at maxMs', (t) => {
  t.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => backoffBase(n, spec)),
    [10, 20, 40, 80, 160, 320, 640, 1000, 1000],
  );
  t.is(backoffDelay(3, spec, () => 0.5), 40, 'a mid draw is the un-jittered delay');
});

test('jitter stays within [base(1-j), min(max, base(1+j))] and reaches both ends', (t) => {
  for (let n = 1; n <= 10; n++) {
    const { min, max } = backoffBounds(n, spec);
    t.is(backoffDelay(n, spec, () => 0), min);
    t.true(Math.abs(backoffDelay(n, spec, () => 1 - Number.EPSILON) - max) < 1e-9);
  }
  // A fixed-seed generator: many draws, all in bounds, and they actually vary.
  let seed = 12345;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let n = 1; n <= 10; n++) {
    const { min, max } = backoffBounds(n, spec);
    const draws = Array.from({ length: 200 }, () => backoffDelay(n, spec, random));
    t.true(draws.every((d) => d >= min && d <= max), `attempt ${n} in [${min}, ${max}]`);
    // Where the cap cuts the upper half off, about half the draws land on maxMs.
    if (max > min) t.true(new Set(draws).size > 50);
  }
});

test('restart intensity admits maxRestarts per sliding period, then refuses', (t) => {
  const r = new RestartIntensity({ maxRestarts: 2, periodMs: 100 });
  t.true(r.admit(0));
  t.true(r.admit(50));
  t.false(r.admit(99), 'a third within 100 ms is refused');
  t.is(r.count(99), 2, 'a refused restart is not recorded');
  t.true(r.admit(100), 'the first has left the window');
  t.is(r.count(149), 2);
  t.is(r.count(250), 0);
  r.admit(250);
  r.reset();
  t.is(r.count(250), 0);
  t.false(new RestartIntensity({ maxRestarts: 0, periodMs: 100 }).admit(0));
});

test('strategies select the failed child, all, or the failed and later ones', (t) => {
  const kids = ['a', 'b', 'c', 'd'];
  t.deepEqual(selectForRestart('one-for-one', kids, 'c'), ['c']);
  t.deepEqual(selectForRestart('one-for-all', kids, 'c'), ['a', 'b', 'c', 'd']);
  t.deepEqual(selectForRestart('rest-for-one', kids, 'b'), ['b', 'c', 'd']);
  t.deepEqual(selectForRestart('rest-for-one', kids, 'd'), ['d']);
});

test('supervisor options are validated with the field named', (t) => {
  const bad: ReadonlyArray<readonly [SupervisorOptions, string]> = [
    [{ strategy: 'one-for-some' as never }, 'strategy'],
    [{ intensity: { maxRestarts: -1 } }, 'intensity.maxRestarts'],
    [{ intensity: { maxRestarts: 1.5 } }, 'intensity.maxRestarts'],
    [{ intensity: { periodMs: 0 } }, 'intensity.periodMs'],
    [{ backoff: { baseMs: -1 } }, 'backoff.baseMs'],
    [{ backoff: { baseMs: 100, maxMs: 50 } }, 'backoff.maxMs'],
    [{ backoff: { jitter: 1.5 } }, 'backoff.jitter'],
    [{ backoff: { jitter: Number.NaN } }, 'backoff.jitter'],
    [{ onExhausted: 'stop-child', strategy: 'rest-for-one' }, 'onExhausted'],
  ];
  for (const [options, field] of bad) {
    const e = t.throws(() => resolveSupervisorOptions('supervisor x', options), { instanceOf: QallowError });
    t.is(e?.code, 'BAD_PARAMETER');
    t.is(e?.details['field'], field);
  }
  t.deepEqual(resolveSupervisorOptions('s', {}), {
    strategy: 'one-for-one',
    onExhausted: 'escalate',
    intensity: { maxRestarts: 3, periodMs: 5000 },
    backoff: { baseMs: 100, maxMs: 5000, jitter: 0.2 },
  });
});

type Msg = { readonly type: 'crash' } | { readonly type: 'get'; readonly replyTo: ReplyTo<number> };

test('a crashing child waits out each backoff on the injected clock; delays double within jitter bounds', async (t) => {
  const clock = new ManualClock();
  const draws = [0.5, 0, 0.99, 0.25, 0.5, 0.75];
  let i = 0;
  const random = (): number => draws[i++ % draws.length]!;
  const system = createActorSystem({ nodeId: 'bo-t' }, { logger: pino({ level: 'silent' }), clock, random });
  await system.start();
  t.teardown(() => system.stop());
  const backoff: BackoffSpec = { baseMs: 10, maxMs: 200, jitter: 0.5 };
  const sup = spawnSupervisor(system.root, { name: 'sup', backoff, intensity: { maxRestarts: 10, periodMs: 60_000 } });
  const ref = spawn<Msg, number>(sup, {
    name: 'w',
    initialState: 0,
    mailbox: { capacity: 10 },
    handle: (s, m) => {
      if (m.type === 'crash') throw new Error('again');
      m.replyTo.reply(s);
      return s + 1;
    },
  });
  const delays: number[] = [];
  for (let attempt = 1; attempt <= 6; attempt++) {
    const scheduled = system.events.waitFor(isEvent('restart-scheduled', (e) => e.child === ref.id));
    ref.tell({ type: 'crash' });
    const { delayMs, attempt: n } = await scheduled;
    t.is(n, attempt);
    delays.push(delayMs);
    const { min, max } = backoffBounds(attempt, backoff);
    t.true(delayMs >= min && delayMs <= max, `attempt ${attempt}: ${delayMs} in [${min}, ${max}]`);
    t.is(delayMs, backoffDelay(attempt, backoff, () => draws[(attempt - 1) % draws.length]!));
    const pending = clock.pendingDelays();
    t.is(pending.length, 1);
    t.true(Math.abs((pending[0] ?? 0) - delayMs) < 1e-9, 'the one timer set is the backoff');
    const restarted = system.events.waitFor(isEvent('actor-restarted', (e) => e.actor === ref.id && e.incarnation === attempt));
    // Not a moment early...
    clock.advance(delayMs - 0.001);
    t.is(clock.pending(), 1);
    t.is(sup.status().children[0]?.state, 'restarting');
    // ...and on time.
    clock.advance(0.001);
    await restarted;
  }
  // 10 (mid draw), 20*0.5, 40*1.49, 80*0.75, 160 (mid draw), 200 (base capped at 200, *1.25, capped again)
  t.deepEqual(
    delays.map((d) => Math.round(d * 100) / 100),
    [10, 10, 59.6, 60, 160, 200],
  );
  t.is(await ref.ask<number>((replyTo) => ({ type: 'get', replyTo }), 1000), 0);
  t.is(sup.status().lastDecision?.delayMs, 200);
});

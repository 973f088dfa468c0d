/**
 * One lifecycle (runtime/compose/lifecycle.ts): parts start in order and
 * stop in reverse; a part that fails to start stops, in reverse, what had
 * started before it, and its failure is what the caller sees.
 */
import test from 'ava';
import { Lifecycle } from '../runtime/compose/lifecycle.js';
import { part, type Part } from '../runtime/compose/startable.js';
import { QallowError } from '../runtime/errors.js';

function recorder(): { log: string[]; make(name: string, o?: { failStart?: boolean; failStop?: boolean }): Part } {
  const log: string[] = [];
  return {
    log,
    make: (name, o = {}) =>
      part(
        name,
        () => {
          log.push(`start ${name}`);
          if (o.failStart) throw new QallowError('IO_ERROR', `${name} cannot start`, { part: name });
        },
        () => {
          log.push(`stop ${name}`);
          if (o.failStop) throw new QallowError('IO_ERROR', `${name} cannot stop`, { part: name });
        },
      ),
  };
}

test('parts start in order and stop in reverse', async (t) => {
  const r = recorder();
  const stopping: string[] = [];
  const life = new Lifecycle(['store', 'pool', 'cluster'].map((n) => r.make(n)), { onStopping: (n) => stopping.push(n) });
  await life.start();
  t.deepEqual(life.started, ['store', 'pool', 'cluster']);
  await life.stop();
  t.deepEqual(r.log, ['start store', 'start pool', 'start cluster', 'stop cluster', 'stop pool', 'stop store']);
  t.deepEqual(stopping, ['cluster', 'pool', 'store']);
  t.deepEqual(life.started, []);
  // A second stop has nothing left to stop.
  await life.stop();
  t.is(r.log.length, 6);
});

test('a part that fails to start: the earlier ones are stopped, in reverse, and the start rejects with its error', async (t) => {
  const r = recorder();
  const life = new Lifecycle([r.make('store'), r.make('pool'), r.make('cluster', { failStart: true }), r.make('admin')]);
  const e = await t.throwsAsync(life.start(), { instanceOf: QallowError });
  t.is(e?.code, 'IO_ERROR');
  t.deepEqual(e?.details, { part: 'cluster' });
  // The failed part is not stopped (it did not start), the one after it never starts.
  t.deepEqual(r.log, ['start store', 'start pool', 'start cluster', 'stop pool', 'stop store']);
  t.deepEqual(life.started, []);
});

test('a part that fails to stop does not keep the others from stopping; the stop rejects with the first failure', async (t) => {
  const r = recorder();
  const failed: string[] = [];
  const life = new Lifecycle([r.make('store'), r.make('pool', { failStop: true }), r.make('cluster')], { onStopError: (n) => failed.push(n) });
  await life.start();
  const e = await t.throwsAsync(life.stop(), { instanceOf: QallowError });
  t.deepEqual(e?.details, { part: 'pool' });
  t.deepEqual(r.log.slice(3), ['stop cluster', 'stop pool', 'stop store']);
  t.deepEqual(failed, ['pool']);
});

test('a stop while one is under way waits for it and stops nothing twice', async (t) => {
  const log: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const life = new Lifecycle([part('store', undefined, () => log.push('stop store')), part('runs', undefined, async () => {
    log.push('drain');
    await gate;
  })]);
  await life.start();
  const first = life.stop();
  const second = life.stop();
  release();
  await Promise.all([first, second]);
  t.deepEqual(log, ['drain', 'stop store']);
});

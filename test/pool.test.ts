/**
 * The compute pool's failure contract: a worker that dies mid-task fails that
 * task with a typed WORKER_CRASHED error and is replaced; a task that throws
 * comes back as the same typed error; the pool keeps working either way.
 */
import test from 'ava';
import { phase13Params } from '../kernels/params.js';
import { ComputePool } from '../kernels/pool.js';
import { Phase13Simulation } from '../kernels/simulation.js';
import { QallowError, isQallowError } from '../runtime/errors.js';

async function finalTotal(pool: ComputePool): Promise<number> {
  const sim = Phase13Simulation.create(pool, phase13Params({ pockets: 16, ticks: 50, couplings: [0.001] }), 'js');
  const rows = await sim.runEpoch(50);
  return rows.total(49, 0);
}

test('a worker that exits mid-task fails the call with WORKER_CRASHED and the pool keeps working', async (t) => {
  const pool = new ComputePool({ threads: 2 });
  pool.start();
  t.teardown(() => pool.stop());
  const before = await finalTotal(pool);
  const err = await t.throwsAsync(pool.run({ type: 'fault', kind: 'exit' }));
  t.true(isQallowError(err, 'WORKER_CRASHED'), String(err));
  t.is(pool.stats().crashed, 1);
  // Every thread still answers: run more tasks than threads at once.
  const totals = await Promise.all([finalTotal(pool), finalTotal(pool), finalTotal(pool), finalTotal(pool)]);
  t.deepEqual(totals, [before, before, before, before]);
});

test('a task that throws fails with its typed error intact', async (t) => {
  const pool = new ComputePool({ threads: 1 });
  pool.start();
  t.teardown(() => pool.stop());
  const err = await t.throwsAsync(pool.run({ type: 'fault', kind: 'throw' }));
  t.true(isQallowError(err, 'TASK_FAILED'));
  t.is((err as QallowError).details['kind'], 'throw');
  t.is(pool.stats().failed, 1);
  t.true(Number.isFinite(await finalTotal(pool)));
});

test('a crash queued behind a running epoch fails alone: the epoch completes and the pool recovers', async (t) => {
  const pool = new ComputePool({ threads: 2 });
  pool.start();
  t.teardown(() => pool.stop());
  const sim = Phase13Simulation.create(pool, phase13Params({ pockets: 200_000, ticks: 40, couplings: [0.001, 0.002] }), 'js');
  const epoch = sim.runEpoch(40);
  const crash = pool.run({ type: 'fault', kind: 'exit' });
  const [e1, e2] = await Promise.allSettled([epoch, crash]);
  t.is(e1.status, 'fulfilled', 'the epoch tasks were dispatched before the fault task');
  t.true(e2.status === 'rejected' && isQallowError(e2.reason, 'WORKER_CRASHED'));
  t.true(Number.isFinite(await finalTotal(pool)));
});

test('submitting to a stopped pool fails with POOL_CLOSED', async (t) => {
  const pool = new ComputePool({ threads: 1 });
  const err = await t.throwsAsync(pool.run({ type: 'probe', backend: 'js' }));
  t.true(isQallowError(err, 'POOL_CLOSED'));
});

test('bad thread counts are rejected with the field named', (t) => {
  for (const threads of [0, -1, 1.5, 1000]) {
    const err = t.throws(() => new ComputePool({ threads }));
    t.true(isQallowError(err, 'BAD_PARAMETER'));
    t.regex((err as Error).message, /threads/);
  }
});

test('QallowError survives a JSON round trip with its code and details', (t) => {
  const e = new QallowError('WORKER_CRASHED', 'boom', { task: 'phase13.rings', n: 3 });
  const back = QallowError.fromJSON(JSON.parse(JSON.stringify(e)));
  t.truthy(back);
  t.is(back!.code, 'WORKER_CRASHED');
  t.deepEqual(back!.details, { task: 'phase13.rings', n: 3 });
  t.is(QallowError.fromJSON({ name: 'QallowError', code: 'NOT_A_CODE', message: 'x' }), undefined);
});

test('a gang whose member dies does not hang: the others abort and the first failure is reported', async (t) => {
  const { abortGang, newGangControl } = await import('../kernels/gang.js');
  const { Phase13State } = await import('../kernels/state.js');
  const { RowBlock } = await import('../kernels/rows.js');
  const pool = new ComputePool({ threads: 2 });
  pool.start();
  t.teardown(() => pool.stop());
  const state = Phase13State.allocate({ pockets: 8192, rings: 1, couplings: [0.001] });
  const rows = RowBlock.allocate(5, 1);
  const control = newGangControl();
  // Member 0 of a two-member gang waits at the barrier for a member that dies.
  const member = { type: 'phase13.gang' as const, backend: 'js' as const, state: state.descriptor, rows: rows.descriptor, control, member: 0, members: 2, items: [0, 0, 1], ticks: 5, rowTick0: 0 };
  const err = await t.throwsAsync(pool.runGang<import('../kernels/backend.js').ComputeTask>([member, { type: 'fault', kind: 'exit' }], () => abortGang(control)));
  t.true(isQallowError(err, 'WORKER_CRASHED'), String(err));
  // The pool still serves, and a later gang runs normally.
  t.true(Number.isFinite(await finalTotal(pool)));
});

test('gangs are serialised and larger gangs than threads are refused', async (t) => {
  const pool = new ComputePool({ threads: 2 });
  pool.start();
  t.teardown(() => pool.stop());
  const sims = [0.001, 0.002].map((k) => Phase13Simulation.create(pool, phase13Params({ pockets: 50_000, ticks: 30, couplings: [k] }), 'wasm'));
  // Two sliced runs at once: each epoch is a gang over both threads.
  const [a, b] = await Promise.all(sims.map((s) => s.runEpoch(30)));
  t.is(sims[0]!.lastRun.executor, 'wasm/sliced×2');
  t.true(Number.isFinite(a!.total(29, 0)) && Number.isFinite(b!.total(29, 0)));
  const err = await t.throwsAsync(pool.runGang([{ type: 'fault', kind: 'throw' }, { type: 'fault', kind: 'throw' }, { type: 'fault', kind: 'throw' }], () => undefined));
  t.true(isQallowError(err, 'INTERNAL'));
});

/**
 * Determinism across thread counts: the chunk rule (SPEC §1) makes the result
 * independent of how the ring is split. N = 1,000,000 is large enough for the
 * js backend to slice every tick across threads and for gpu.js to use its own
 * wasm threads, so the split really does change with the thread count.
 */
import { createHash } from 'node:crypto';
import test from 'ava';
import type { BackendId } from '../kernels/backend.js';
import { phase13Params } from '../kernels/params.js';
import { ComputePool } from '../kernels/pool.js';
import { Phase13Simulation } from '../kernels/simulation.js';

interface Outcome {
  executor: string;
  rows: string;
  state: string;
}

async function runWith(threads: number, backend: BackendId, pockets: number, rings: number, ticks: number): Promise<Outcome> {
  const pool = new ComputePool({ threads });
  pool.start();
  try {
    const params = phase13Params({ pockets, ticks, couplings: rings === 1 ? [0.002] : Array.from({ length: rings }, (_, r) => 0.0005 * (r + 1)) });
    const sim = Phase13Simulation.create(pool, params, backend);
    const rowsHash = createHash('sha256');
    // Two epochs, so the state handed from one epoch to the next is covered too.
    for (const n of [Math.ceil(ticks / 2), Math.floor(ticks / 2)]) {
      const rows = await sim.runEpoch(n);
      rowsHash.update(new Uint8Array(rows.values.buffer, rows.values.byteOffset, rows.values.byteLength));
    }
    const s = sim.state;
    const p = s.phase[s.parity];
    const k = s.coherence[s.parity];
    const stateHash = createHash('sha256')
      .update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength))
      .update(new Uint8Array(k.buffer, k.byteOffset, k.byteLength))
      .update(new Uint8Array(s.history.buffer, s.history.byteOffset, s.history.byteLength))
      .update(new Uint8Array(s.mean.buffer, s.mean.byteOffset, s.mean.byteLength))
      .digest('hex');
    return { executor: sim.lastRun.executor, rows: rowsHash.digest('hex'), state: stateHash };
  } finally {
    await pool.stop();
  }
}

test('js: N = 1,000,000 gives identical rows and state on 1, 2 and 4 threads', async (t) => {
  const one = await runWith(1, 'js', 1_000_000, 1, 12);
  const two = await runWith(2, 'js', 1_000_000, 1, 12);
  const four = await runWith(4, 'js', 1_000_000, 1, 12);
  t.is(one.executor, 'js');
  t.is(two.executor, 'js/sliced×2', 'two threads really split the ring');
  t.is(four.executor, 'js/sliced×4');
  t.deepEqual(two, { ...one, executor: two.executor });
  t.deepEqual(four, { ...one, executor: four.executor });
});

test('wasm: N = 1,000,000 gives identical results on 1, 2 and 4 threads, and equals js', async (t) => {
  const js = await runWith(1, 'js', 1_000_000, 1, 12);
  for (const threads of [1, 2, 4]) {
    const w = await runWith(threads, 'wasm', 1_000_000, 1, 12);
    t.is(w.executor, threads === 1 ? 'wasm' : `wasm/sliced×${threads}`);
    t.is(w.rows, js.rows, `rows on ${threads} thread(s)`);
    t.is(w.state, js.state, `state on ${threads} thread(s)`);
  }
});

test('webasm: N = 1,000,000 gives identical results on 1, 2 and 4 threads, and equals js', async (t) => {
  const js = await runWith(1, 'js', 1_000_000, 1, 8);
  for (const threads of [1, 2, 4]) {
    const w = await runWith(threads, 'webasm', 1_000_000, 1, 8);
    t.is(w.rows, js.rows, `rows on ${threads} thread(s)`);
    t.is(w.state, js.state, `state on ${threads} thread(s)`);
    if (threads > 1) t.is(w.executor, 'webasm/fused-threaded', 'gpu.js used its wasm threads');
  }
});

test('js and webasm: several rings split into different groups per thread count agree', async (t) => {
  const ref = await runWith(1, 'js', 100_000, 5, 10);
  for (const [threads, backend] of [[2, 'js'], [4, 'js'], [3, 'webasm'], [2, 'wasm'], [4, 'wasm']] as const) {
    const o = await runWith(threads, backend, 100_000, 5, 10);
    t.is(o.rows, ref.rows, `${backend} on ${threads} threads`);
    t.is(o.state, ref.state, `${backend} on ${threads} threads`);
  }
});

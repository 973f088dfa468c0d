/**
 * Epochs computed in bounded pool slices (issue 11, item 15) are bit for
 * bit the epochs computed in one call: the same CSV bytes, the same
 * checkpoint chain (epoch, tick, stateHash, causal edges) and the same
 * governance events, whatever the slice size — one tick, an uneven 7 ticks,
 * or the whole epoch — on ring groups, the threads-split ("gang") mode,
 * phase 12 strands, and through a governor rollback. Real LMDB, real pool.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { EpochGovernance, GovernanceEvent } from '../actors/governance-hook.js';
import { RunEngine, sliceTicks, tickCost, type RunSpec } from '../actors/run-engine.js';
import { phase12Params, phase13Params } from '../kernels/params.js';
import { ComputePool } from '../kernels/pool.js';
import { createLogger, memorySink } from '../runtime/logger.js';
import { createLmdbStore } from '../runtime/store/lmdb.js';

const CASES: ReadonlyArray<{ readonly title: string; readonly spec: Omit<RunSpec, 'run'> }> = [
  { title: 'a diverging ring rolled back by the governor (js)', spec: { params: phase13Params({ pockets: 64, ticks: 400, couplings: [0.01] }), backend: 'js', epochTicks: 50 } },
  { title: 'one large ring split across threads (wasm gang)', spec: { params: phase13Params({ pockets: 16_384, ticks: 60, couplings: [0.002] }), backend: 'wasm', epochTicks: 25 } },
  { title: 'three rings in groups (js)', spec: { params: phase13Params({ pockets: 256, ticks: 100, couplings: [0.001, 0.002, 0.003] }), backend: 'js', epochTicks: 30 } },
  { title: 'phase 12 strands', spec: { params: phase12Params({ ticks: 500, eps: [0.001, 0.005] }), backend: 'js', epochTicks: 120 } },
];

interface Outcome {
  readonly csv: string;
  readonly chain: unknown[];
  readonly events: string[];
  readonly stateHash: string;
}

for (const c of CASES) {
  test(`slices of any size give the same run: ${c.title}`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'qallow-slices-'));
    const pool = new ComputePool({ threads: 2 });
    pool.start();
    t.teardown(async () => {
      await pool.stop();
      await rm(dir, { recursive: true, force: true });
    });
    const logger = createLogger({ nodeId: 'test', destination: memorySink().stream });
    const perTick = tickCost(c.spec.params);
    const sizes = [2 ** 40, perTick, 7 * perTick];
    const outcomes: Outcome[] = [];
    for (const [i, sliceCost] of sizes.entries()) {
      // Same run id (it is the CSV's audit tag), a store of its own per slice size.
      const run = 'sliced';
      const store = createLmdbStore({ dataDir: join(dir, `s${i}`) });
      await store.start();
      t.teardown(() => store.stop());
      const events: GovernanceEvent[] = [];
      const governance: EpochGovernance = { record: (e) => Promise.resolve(void events.push(e)) };
      const csvPath = join(dir, `s${i}`, 'runs', `${run}.csv`);
      const engine = await RunEngine.open({ ...c.spec, run }, { pool, store, logger, csvPath, ethics: { threshold: 2.9, entropyMax: 0.001 }, governance, sliceCost });
      let slices = 0;
      while (engine.isRunning() && !engine.finished) {
        await engine.advance();
        slices++;
      }
      const ticksPerSlice = sliceTicks(c.spec.params, sliceCost);
      if (i > 0) t.true(slices > 1 && ticksPerSlice < c.spec.epochTicks, `slice size ${ticksPerSlice} ticks: ${slices} slices`);
      const chain = (await store.listCheckpoints(run)).map((k) => ({ epoch: k.epoch, tick: k.tick, stateHash: k.stateHash, edges: k.edges }));
      outcomes.push({
        csv: await readFile(csvPath, 'utf8'),
        chain,
        events: events.map((e) => `${e.kind}@${e.epoch}:${'stateHash' in e ? e.stateHash : ''}`),
        stateHash: engine.checkpoint.stateHash,
      });
    }
    const [whole, ...sliced] = outcomes;
    t.true(whole!.chain.length > 2, 'several epochs');
    for (const o of sliced) {
      t.is(o.stateHash, whole!.stateHash);
      t.deepEqual(o.chain, whole!.chain, 'the same checkpoint chain');
      t.deepEqual(o.events, whole!.events, 'the same governance events');
      t.true(o.csv === whole!.csv, 'the same CSV bytes');
    }
    if (c.title.startsWith('a diverging')) t.true(whole!.events.some((e) => e.startsWith('rollback@')), 'the governor rolled back');
  });
}

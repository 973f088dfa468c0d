/**
 * Phase 13 kernel throughput: pocket-updates per second at N = 1,000,000 and
 * N = 16,000,000 for each backend through the compute pool, as a ratio to a
 * native C baseline of the same recurrence with the same chunked reductions
 * (gcc -O3 -march=native, OpenMP on all cores; bench/native/phase13.c),
 * measured in the same run.
 *
 *   npm run bench -- kernels [--sizes 1000000,16000000] [--backends js,webasm,cpu] [--json]
 *
 * Each backend runs one warm-up epoch (kernel compilation, page faults) and
 * then a timed epoch on a fresh pool with one thread per core. The native
 * binary's final row is checked against our js result for the same run, so
 * the baseline is known to compute the same thing.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { BackendId } from '../kernels/backend.js';
import { phase13Params } from '../kernels/params.js';
import { ComputePool } from '../kernels/pool.js';
import { probeBackend } from '../kernels/select.js';
import { Phase13Simulation } from '../kernels/simulation.js';
import { buildNative, runNative } from './native/baseline.js';

interface Figure {
  pockets: number;
  backend: string;
  executor: string;
  ticks: number;
  updatesPerSecond: number;
  ratioToNative: number | null;
  note?: string;
}

const COUPLING = 0.002;

function ticksFor(pockets: number, backend: string): number {
  const base = pockets >= 8_000_000 ? 6 : 40;
  return backend === 'cpu' ? Math.max(2, base / 4) : backend === 'native' ? base * 8 : base;
}

async function measureBackend(pool: ComputePool, backend: BackendId, pockets: number, ticks: number): Promise<{ rate: number; executor: string; last: number[] }> {
  const params = phase13Params({ pockets, ticks: 2 * ticks, couplings: [COUPLING] });
  const sim = Phase13Simulation.create(pool, params, backend);
  await sim.runEpoch(ticks); // warm-up
  const t0 = performance.now();
  const rows = await sim.runEpoch(ticks);
  const seconds = (performance.now() - t0) / 1000;
  const r = rows.row(ticks - 1, 0);
  return { rate: (pockets * ticks) / seconds, executor: sim.lastRun.executor, last: [r[0], r[1], r[2]] };
}

function parseList(args: string[], flag: string): string[] | undefined {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] ? args[i + 1]!.split(',') : undefined;
}

export async function kernelsBench(args: string[]): Promise<void> {
  const sizes = (parseList(args, '--sizes') ?? ['1000000', '16000000']).map(Number);
  const wanted = (parseList(args, '--backends') ?? ['js', 'wasm', 'webasm', 'cpu', 'gpu']) as BackendId[];
  const json = args.includes('--json');
  const threads = availableParallelism();
  const figures: Figure[] = [];
  const log = (s: string): void => void process.stdout.write(json ? '' : s + '\n');

  await buildNative();
  log(`phase 13 kernels: ${threads} threads, coupling ${COUPLING}`);
  for (const pockets of sizes) {
    const nativeTicks = ticksFor(pockets, 'native');
    const native = await runNative({ pockets, ticks: nativeTicks, coupling: COUPLING, threads });
    figures.push({ pockets, backend: 'native', executor: `gcc -O3 -march=native, OpenMP ×${native.threads}`, ticks: nativeTicks, updatesPerSecond: native.updatesPerSecond, ratioToNative: 1 });
    log(`N=${pockets.toLocaleString('en')}: native ${(native.updatesPerSecond / 1e9).toFixed(3)} G updates/s`);
    // Cross-check: js must reproduce the native run's last row exactly.
    if (pockets <= 1_000_000) {
      const pool = new ComputePool({ threads });
      pool.start();
      try {
        const sim = Phase13Simulation.create(pool, phase13Params({ pockets, ticks: nativeTicks, couplings: [COUPLING] }), 'js');
        const rows = await sim.runEpoch(nativeTicks);
        const [a, d, e] = rows.row(nativeTicks - 1, 0);
        const same = Object.is(a, Math.fround(native.last.avgCoherence)) && Object.is(d, Math.fround(native.last.phaseDrift)) && Object.is(e, Math.fround(native.last.phaseEnergy));
        log(`  native baseline ${same ? 'matches' : 'DOES NOT MATCH'} js bit for bit after ${nativeTicks} ticks`);
        if (!same) throw new Error('native baseline disagrees with the js reference; the comparison would be meaningless');
      } finally {
        await pool.stop();
      }
    }
    for (const backend of wanted) {
      const pool = new ComputePool({ threads });
      pool.start();
      try {
        const probe = await probeBackend(pool, backend);
        if (!probe.available) {
          figures.push({ pockets, backend, executor: 'unavailable', ticks: 0, updatesPerSecond: 0, ratioToNative: null, note: probe.reason ?? undefined });
          log(`  ${backend.padEnd(7)} unavailable: ${probe.reason}`);
          continue;
        }
        const ticks = ticksFor(pockets, backend);
        const m = await measureBackend(pool, backend, pockets, ticks);
        const ratio = m.rate / native.updatesPerSecond;
        figures.push({ pockets, backend, executor: m.executor, ticks, updatesPerSecond: m.rate, ratioToNative: ratio });
        log(`  ${backend.padEnd(7)} ${(m.rate / 1e9).toFixed(3)} G/s  ${ratio.toFixed(3)}× native  [${m.executor}]`);
      } finally {
        await pool.stop();
      }
    }
  }
  if (json) process.stdout.write(JSON.stringify({ bench: 'kernels', threads, figures }) + '\n');
}

/**
 * Backend resolution. `auto` picks the fastest *exact* backend available on
 * this host by measuring it, not by assumption: each candidate runs a scaled
 * copy of the actual workload (same phase, same ring size up to 2^20 pockets,
 * enough ticks to amortise per-call costs) through the pool, after a warm-up
 * that pays for kernel compilation, and the highest rate wins. The shape
 * matters: measured here, gpu.js webasm beats js on small rings but js split
 * across threads beats it at N = 1M, where webasm's extra passes over memory
 * cost more than its SIMD saves. Choices are cached per pool and shape. A requested
 * backend that is unavailable falls back to the `auto` choice, and the
 * fallback is reported to the caller (never silent).
 */
import { performance } from 'node:perf_hooks';
import { EXACT_BACKENDS, type BackendId, type BackendRequest, type ProbeResult } from './backend.js';
import { phase12Params, phase13Params } from './params.js';
import type { ComputePool } from './pool.js';
import { Phase12Simulation, Phase13Simulation } from './simulation.js';

export interface BackendChoice {
  readonly requested: BackendRequest;
  readonly backend: BackendId;
  /** What runs underneath, e.g. 'webasm/fused-sync'. */
  readonly executor: string;
  /** Set when the requested backend could not be used. */
  readonly fallback: { readonly from: BackendId; readonly reason: string } | null;
  /** Pocket-updates per second measured for each candidate when `auto` chose. */
  readonly measured: Readonly<Partial<Record<BackendId, number>>> | null;
}

/** What a run looks like, for calibration: lanes are rings (phase 13) or strands (phase 12). */
export interface WorkloadShape {
  readonly phase: 'phase12' | 'phase13';
  readonly pockets: number;
  readonly lanes: number;
}

const CALIBRATION_CELLS = 1 << 20;

function calibrationShape(w: WorkloadShape): { pockets: number; lanes: number; ticks: number } {
  const pockets = w.phase === 'phase12' ? 1 : Math.min(w.pockets, CALIBRATION_CELLS);
  const lanes = Math.max(1, Math.min(w.lanes, Math.floor(CALIBRATION_CELLS / pockets)));
  const ticks = Math.min(256, Math.max(8, Math.floor(CALIBRATION_CELLS / (pockets * lanes))));
  return { pockets, lanes, ticks };
}

/** Bucket shapes so similar runs share one measurement. */
function shapeKey(w: WorkloadShape): string {
  const c = calibrationShape(w);
  const log2 = (x: number): number => Math.round(Math.log2(x));
  return `${w.phase}:${log2(c.pockets)}:${log2(c.lanes)}`;
}

const probes = new WeakMap<ComputePool, Map<BackendId, Promise<ProbeResult>>>();
const autoChoices = new WeakMap<ComputePool, Map<string, Promise<BackendChoice>>>();

export function probeBackend(pool: ComputePool, backend: BackendId): Promise<ProbeResult> {
  let m = probes.get(pool);
  if (!m) probes.set(pool, (m = new Map()));
  let p = m.get(backend);
  if (!p) {
    p = pool.run({ type: 'probe', backend });
    m.set(backend, p);
  }
  return p;
}

/** Cells (pocket- or strand-) updated per second on a scaled copy of the workload. */
async function measure(pool: ComputePool, backend: BackendId, w: WorkloadShape): Promise<number> {
  const c = calibrationShape(w);
  const sim =
    w.phase === 'phase12'
      ? Phase12Simulation.create(pool, phase12Params({ ticks: 2 * c.ticks, eps: Array.from({ length: c.lanes }, () => 0.001) }), backend)
      : Phase13Simulation.create(pool, phase13Params({ pockets: c.pockets, ticks: 2 * c.ticks, couplings: Array.from({ length: c.lanes }, () => 0.001) }), backend);
  await sim.runEpoch(c.ticks); // warm-up: compiles kernels in the workers that run them
  const t0 = performance.now();
  await sim.runEpoch(c.ticks);
  const seconds = (performance.now() - t0) / 1000;
  return (c.pockets * c.lanes * c.ticks) / seconds;
}

async function chooseAuto(pool: ComputePool, w: WorkloadShape): Promise<BackendChoice> {
  const measured: Partial<Record<BackendId, number>> = {};
  const executors: Partial<Record<BackendId, string>> = {};
  for (const b of EXACT_BACKENDS) {
    const probe = await probeBackend(pool, b);
    if (!probe.available) continue;
    executors[b] = probe.executor;
    measured[b] = await measure(pool, b, w);
  }
  let best: BackendId = 'js';
  for (const [b, rate] of Object.entries(measured) as Array<[BackendId, number]>) {
    if (rate > (measured[best] ?? 0)) best = b;
  }
  return { requested: 'auto', backend: best, executor: executors[best] ?? best, fallback: null, measured };
}

export async function resolveBackend(pool: ComputePool, requested: BackendRequest, workload: WorkloadShape): Promise<BackendChoice> {
  if (requested === 'auto') {
    let m = autoChoices.get(pool);
    if (!m) autoChoices.set(pool, (m = new Map()));
    const key = shapeKey(workload);
    let c = m.get(key);
    if (!c) {
      c = chooseAuto(pool, workload);
      m.set(key, c);
    }
    return c;
  }
  const probe = await probeBackend(pool, requested);
  if (probe.available) return { requested, backend: requested, executor: probe.executor, fallback: null, measured: null };
  const auto = await resolveBackend(pool, 'auto', workload);
  return { ...auto, requested, fallback: { from: requested, reason: probe.reason ?? 'unavailable' } };
}

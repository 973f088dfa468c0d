/**
 * Backend resolution. `auto` picks the fastest *exact* backend available on
 * this host by measuring it, not by assumption: each candidate runs the same
 * small phase-13 workload through the pool (after a warm-up that pays for
 * kernel compilation) and the highest pocket-update rate wins. A requested
 * backend that is unavailable falls back to the `auto` choice, and the
 * fallback is reported to the caller (never silent).
 */
import { performance } from 'node:perf_hooks';
import { EXACT_BACKENDS, type BackendId, type BackendRequest, type ProbeResult } from './backend.js';
import { phase13Params } from './params.js';
import type { ComputePool } from './pool.js';
import { Phase13Simulation } from './simulation.js';

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

const CALIBRATION = { pockets: 1 << 15, ticks: 64 } as const;

const probes = new WeakMap<ComputePool, Map<BackendId, Promise<ProbeResult>>>();
const autoChoices = new WeakMap<ComputePool, Promise<BackendChoice>>();

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

async function measure(pool: ComputePool, backend: BackendId): Promise<number> {
  const params = phase13Params({ pockets: CALIBRATION.pockets, ticks: CALIBRATION.ticks, couplings: [0.001] });
  const sim = Phase13Simulation.create(pool, params, backend);
  await sim.runEpoch(CALIBRATION.ticks); // warm-up: compiles kernels in the worker that runs them
  const t0 = performance.now();
  await sim.runEpoch(CALIBRATION.ticks);
  const seconds = (performance.now() - t0) / 1000;
  return (CALIBRATION.pockets * CALIBRATION.ticks) / seconds;
}

async function chooseAuto(pool: ComputePool): Promise<BackendChoice> {
  const measured: Partial<Record<BackendId, number>> = {};
  const executors: Partial<Record<BackendId, string>> = {};
  for (const b of EXACT_BACKENDS) {
    const probe = await probeBackend(pool, b);
    if (!probe.available) continue;
    executors[b] = probe.executor;
    measured[b] = await measure(pool, b);
  }
  let best: BackendId = 'js';
  for (const [b, rate] of Object.entries(measured) as Array<[BackendId, number]>) {
    if (rate > (measured[best] ?? 0)) best = b;
  }
  return { requested: 'auto', backend: best, executor: executors[best] ?? best, fallback: null, measured };
}

export async function resolveBackend(pool: ComputePool, requested: BackendRequest): Promise<BackendChoice> {
  if (requested === 'auto') {
    let c = autoChoices.get(pool);
    if (!c) {
      c = chooseAuto(pool);
      autoChoices.set(pool, c);
    }
    return c;
  }
  const probe = await probeBackend(pool, requested);
  if (probe.available) return { requested, backend: requested, executor: probe.executor, fallback: null, measured: null };
  const auto = await resolveBackend(pool, 'auto');
  return { ...auto, requested, fallback: { from: requested, reason: probe.reason ?? 'unavailable' } };
}

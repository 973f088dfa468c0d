/**
 * Offline simulation: run a phase start to finish through the compute pool,
 * epoch by epoch, handing each epoch's rows to a sink (a CSV file, a test).
 * The same path a phase actor uses, minus governance and persistence.
 */
import { performance } from 'node:perf_hooks';
import type { BackendRequest } from '../kernels/backend.js';
import type { PhaseParams } from '../kernels/params.js';
import { ComputePool } from '../kernels/pool.js';
import type { RowBlock } from '../kernels/rows.js';
import { resolveBackend, type BackendChoice } from '../kernels/select.js';
import { Phase12Simulation, Phase13Simulation } from '../kernels/simulation.js';

/** Ethics rule of SPEC §3 with its defaults; governance makes these configurable. */
export const DEFAULT_ETHICS = { threshold: 2.9, entropyMax: 0.001 } as const;

export interface SimulateOptions {
  readonly params: PhaseParams;
  readonly backend: BackendRequest;
  /** An existing pool to run on; otherwise one is started and stopped here. */
  readonly pool?: ComputePool | undefined;
  readonly threads?: number | undefined;
  /** Ticks per pool call; the CSV sink is fed once per epoch. */
  readonly epochTicks?: number | undefined;
  readonly onRows?: ((rows: RowBlock, firstTick: number) => void | Promise<void>) | undefined;
}

export interface LaneSummary {
  readonly lane: number;
  readonly parameter: number;
  readonly final: Readonly<Record<string, number>>;
  readonly entropyFigure: number;
  readonly passesEthics: boolean;
}

export interface SimulateSummary {
  readonly phase: PhaseParams['phase'];
  readonly backend: BackendChoice;
  readonly executor: string;
  readonly ticks: number;
  readonly lanes: number;
  readonly pockets: number | null;
  readonly seconds: number;
  /** Pocket-updates (phase 13) or strand-ticks (phase 12) per second. */
  readonly updatesPerSecond: number;
  readonly final: readonly LaneSummary[];
}

const f = Math.fround;

function finalRows(params: PhaseParams, rows: RowBlock): LaneSummary[] {
  const t = rows.ticks - 1;
  return Array.from({ length: rows.lanes }, (_, j): LaneSummary => {
    const [a, b, c, S, C, H, total] = rows.row(t, j);
    if (params.phase === 'phase12') {
      const ok = total >= DEFAULT_ETHICS.threshold && b <= DEFAULT_ETHICS.entropyMax;
      return {
        lane: j,
        parameter: params.eps[j]!,
        final: { tick: params.ticks, coherence: a, entropy: b, decoherence: c, sustainability: S, compassion: C, harmony: H, ethics_total: total },
        entropyFigure: b,
        passesEthics: ok,
      };
    }
    // Phase 13's entropy figure is the normalised energy ê = clamp(E/N, 0, 1).
    const eh0 = f(c / f(params.pockets));
    const eh = eh0 < 0 ? 0 : eh0 > 1 ? 1 : eh0;
    return {
      lane: j,
      parameter: params.couplings[j]!,
      final: { tick: params.ticks, avg_coherence: a, phase_drift: b, phase_energy: c, sustainability: S, compassion: C, harmony: H, ethics_total: total },
      entropyFigure: eh,
      passesEthics: total >= DEFAULT_ETHICS.threshold && eh <= DEFAULT_ETHICS.entropyMax,
    };
  });
}

export async function simulate(opts: SimulateOptions): Promise<SimulateSummary> {
  const ownPool = opts.pool === undefined;
  const pool = opts.pool ?? new ComputePool({ threads: opts.threads });
  pool.start();
  try {
    const params = opts.params;
    const choice = await resolveBackend(
      pool,
      opts.backend,
      params.phase === 'phase12' ? { phase: 'phase12', pockets: 1, lanes: params.eps.length } : { phase: 'phase13', pockets: params.pockets, lanes: params.rings },
    );
    const sim = params.phase === 'phase12' ? Phase12Simulation.create(pool, params, choice.backend) : Phase13Simulation.create(pool, params, choice.backend);
    const epoch = opts.epochTicks ?? 1000;
    let last: RowBlock | undefined;
    const t0 = performance.now();
    let computeMs = 0;
    while (sim.tick < params.ticks) {
      const first = sim.tick + 1;
      const c0 = performance.now();
      const rows = await sim.runEpoch(Math.min(epoch, params.ticks - sim.tick));
      computeMs += performance.now() - c0;
      if (opts.onRows) await opts.onRows(rows, first);
      last = rows;
    }
    const seconds = (performance.now() - t0) / 1000;
    const lanes = params.phase === 'phase12' ? params.eps.length : params.rings;
    const work = params.phase === 'phase12' ? params.ticks * lanes : params.ticks * lanes * params.pockets;
    return {
      phase: params.phase,
      backend: choice,
      executor: sim.lastRun.executor,
      ticks: params.ticks,
      lanes,
      pockets: params.phase === 'phase13' ? params.pockets : null,
      seconds,
      updatesPerSecond: work / Math.max(computeMs / 1000, 1e-9),
      final: last ? finalRows(params, last) : [],
    };
  } finally {
    if (ownPool) await pool.stop();
  }
}

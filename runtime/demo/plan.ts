/**
 * What the demo runs, full size or `--quick`. One place for the numbers, so
 * the scenario reads as steps and a test can know what to expect.
 *
 * - converge: one big ring at k = 0.002. E passes 2.9 near tick 200 and the
 *   normalised energy ê drops below 0.001 near tick 3,100 (for any N from 4K
 *   to 1M), so the last epochs pass.
 * - sweep: many small rings, couplings evenly spread over (0, 0.005], the
 *   stable range for an even ring: a parameter sweep in one run.
 * - rescue: SPEC §3's acceptance case, k = 0.01 on an even ring of 64
 *   pockets, 400 ticks in epochs of 50: it diverges, the governor rolls back
 *   and halves the coupling, and it ends with passing epochs.
 * - batch: a phase 12 run carrying one strand per eps.
 */
export interface Phase13Step {
  readonly phase: 'phase13';
  readonly id: string;
  readonly pockets: number;
  readonly rings: number;
  readonly couplings: readonly number[];
  readonly ticks: number;
  readonly epochTicks: number;
}

export interface Phase12Step {
  readonly phase: 'phase12';
  readonly id: string;
  readonly eps: readonly number[];
  readonly ticks: number;
  readonly epochTicks: number;
}

export type RunStep = Phase13Step | Phase12Step;

export interface DemoPlan {
  readonly quick: boolean;
  readonly converge: Phase13Step;
  readonly sweep: Phase13Step;
  readonly rescue: Phase13Step;
  readonly batch: Phase12Step;
  /** The converging run's host is killed once this epoch is checkpointed. */
  readonly killAtEpoch: number;
  /**
   * Kills tried before the demo gives up on a resume mid-way: a machine that
   * ends the converging run before the kill lands gets the kill again on a
   * run `RETRY_FACTOR` times as long (see `retryStep`).
   */
  readonly killAttempts: number;
}

/** How much longer each repeated kill's run is than the one before. */
export const RETRY_FACTOR = 4;

/** The converging run for kill attempt `attempt` (1 is the plan's own; 2, 3, … are longer). */
export function retryStep(step: Phase13Step, attempt: number): Phase13Step {
  if (attempt <= 1) return step;
  return { ...step, id: `${step.id}-${attempt}`, ticks: step.ticks * RETRY_FACTOR ** (attempt - 1) };
}

/** `n` couplings evenly spaced in (0, max]. */
export function evenCouplings(n: number, max: number): number[] {
  return Array.from({ length: n }, (_, i) => (max * (i + 1)) / n);
}

export function demoPlan(quick: boolean): DemoPlan {
  // Quick: big enough that the run is still going when its host is killed.
  const pockets = quick ? 262_144 : 1_000_000;
  return {
    quick,
    converge: { phase: 'phase13', id: quick ? 'ring-256k' : 'ring-1m', pockets, rings: 1, couplings: [0.002], ticks: quick ? 3400 : 4000, epochTicks: quick ? 200 : 250 },
    sweep: { phase: 'phase13', id: 'sweep', pockets: 64, rings: 2048, couplings: evenCouplings(2048, 0.005), ticks: quick ? 800 : 3000, epochTicks: 200 },
    rescue: { phase: 'phase13', id: 'rescue', pockets: 64, rings: 1, couplings: [0.01], ticks: 400, epochTicks: 50 },
    batch: { phase: 'phase12', id: 'elastic', eps: [0, 0.001, 0.002, 0.005, 0.01], ticks: quick ? 600 : 2000, epochTicks: 200 },
    // Early, so that the run has most of its epochs still to go when the kill lands.
    killAtEpoch: 2,
    killAttempts: 3,
  };
}

/** Pocket (or strand) updates one tick of the run makes. */
export function lanesWidth(step: RunStep): number {
  return step.phase === 'phase12' ? step.eps.length : step.pockets * step.rings;
}

export function describe(step: RunStep): string {
  if (step.phase === 'phase12') return `phase 12 batch: ${step.eps.length} strands (eps ${step.eps.join(', ')}), ${step.ticks} ticks`;
  if (step.rings === 1) return `phase 13: one ring of ${step.pockets.toLocaleString('en-US')} pockets, k = ${step.couplings[0]}, ${step.ticks} ticks in epochs of ${step.epochTicks}`;
  return `phase 13 sweep: ${step.rings} rings × ${step.pockets} pockets, k from ${step.couplings[0]!.toPrecision(3)} to ${step.couplings.at(-1)}, ${step.ticks} ticks`;
}

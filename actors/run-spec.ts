/**
 * The whole check of a run's spec, done before anything is spawned,
 * journaled or recorded: the same parameter rules and limits as `simulate`
 * (kernels/params.ts: ticks, pockets, couplings, eps, the pocket limit), the
 * run id, the epoch length, and the epoch's cost bound. A spec that fails
 * here never reaches a phase actor, so one bad command cannot start a crash
 * loop. Specs read back from the store at start go through it too: a run
 * stored by an older version, or under a larger limit, is refused there
 * with the same message instead of failing inside its actor.
 */
import { MAX_TICKS } from '../kernels/constants.js';
import { phase12Params, phase13Params } from '../kernels/params.js';
import { isActorName } from '../runtime/actors/address.js';
import { QallowError } from '../runtime/errors.js';
import { epochCost, type RunSpec } from './run-engine.js';

export interface RunLimits {
  /** config compute.maxPockets: rings × pockets in one run. */
  readonly maxPockets: number;
  /** config compute.maxEpochCost: pocket-ticks (actors/run-engine.ts tickCost) in one epoch. */
  readonly maxEpochCost: number;
}

/** The run id names the run's phase actor, so it must be an actor name. */
function checkRunId(run: string): void {
  if (typeof run !== 'string' || !isActorName(run)) {
    throw new QallowError(
      'BAD_PARAMETER',
      `run id must be 1-64 characters of A-Z, a-z, 0-9, "_", "-" or ".", not starting with "-" or "." (got ${JSON.stringify(String(run).slice(0, 80))}); pick another --id`,
      { param: 'id', value: String(run).slice(0, 80) },
    );
  }
}

/** Returns the spec with its parameters normalised by the simulate rules; throws BAD_PARAMETER naming the field. */
export function validateRunSpec(spec: RunSpec, limits: RunLimits): RunSpec {
  checkRunId(spec.run);
  const p = spec.params;
  const params =
    p.phase === 'phase12'
      ? phase12Params({ ticks: p.ticks, eps: p.eps })
      : phase13Params({ ticks: p.ticks, pockets: p.pockets, rings: p.rings, couplings: p.couplings, reference: p.reference, maxPockets: limits.maxPockets });
  const e = spec.epochTicks;
  if (!Number.isInteger(e) || e < 1 || e > MAX_TICKS) {
    throw new QallowError('BAD_PARAMETER', `epochTicks must be an integer from 1 to ${MAX_TICKS} (got ${String(e)})`, { param: 'epochTicks', value: String(e) });
  }
  const cost = epochCost({ params, epochTicks: e });
  if (cost > limits.maxEpochCost) {
    const perTick = cost / Math.min(e, params.ticks);
    const fit = Math.max(1, Math.floor(limits.maxEpochCost / perTick));
    throw new QallowError(
      'BAD_PARAMETER',
      `an epoch of ${Math.min(e, params.ticks)} ticks × ${perTick} pockets costs ${cost} pocket-ticks, above config compute.maxEpochCost (${limits.maxEpochCost}); use --epoch-ticks ≤ ${fit} or raise the limit`,
      { param: 'epochTicks', value: e, cost, maxEpochCost: limits.maxEpochCost },
    );
  }
  return { ...spec, params };
}

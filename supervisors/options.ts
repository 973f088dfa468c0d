/**
 * Supervisor defaults in one place, and the validation of a spec at the
 * boundary: a bad option fails when the supervisor is created, naming the
 * field (`supervisor "runs": intensity.maxRestarts must be ...`).
 */
import { QallowError } from '../runtime/errors.js';
import { ON_EXHAUSTED, STRATEGIES, type BackoffSpec, type IntensitySpec, type OnExhausted, type Strategy, type SupervisorOptions } from './contract.js';

export const DEFAULT_STRATEGY: Strategy = 'one-for-one';
/** Up to 3 restarts in 5 s, then escalate. */
export const DEFAULT_INTENSITY: IntensitySpec = { maxRestarts: 3, periodMs: 5_000 };
/** 100 ms, 200 ms, 400 ms, ... up to 5 s, each +-20 %. */
export const DEFAULT_BACKOFF: BackoffSpec = { baseMs: 100, maxMs: 5_000, jitter: 0.2 };

export interface ResolvedSupervisorOptions {
  readonly strategy: Strategy;
  readonly intensity: IntensitySpec;
  readonly backoff: BackoffSpec;
  readonly onExhausted: OnExhausted;
}

function check(ok: boolean, who: string, field: string, rule: string, value: unknown): void {
  if (!ok) {
    throw new QallowError('BAD_PARAMETER', `${who}: ${field} ${rule} (got ${String(value)})`, { field, value: String(value), supervisor: who });
  }
}

const nonNegative = (v: number): boolean => Number.isFinite(v) && v >= 0;

export function resolveSupervisorOptions(who: string, options: SupervisorOptions): ResolvedSupervisorOptions {
  const strategy = options.strategy ?? DEFAULT_STRATEGY;
  check(STRATEGIES.includes(strategy), who, 'strategy', `must be one of ${STRATEGIES.join(', ')}`, strategy);
  const intensity: IntensitySpec = { ...DEFAULT_INTENSITY, ...options.intensity };
  check(Number.isInteger(intensity.maxRestarts) && intensity.maxRestarts >= 0, who, 'intensity.maxRestarts', 'must be an integer >= 0', intensity.maxRestarts);
  check(Number.isFinite(intensity.periodMs) && intensity.periodMs > 0, who, 'intensity.periodMs', 'must be a number of milliseconds > 0', intensity.periodMs);
  const backoff: BackoffSpec = { ...DEFAULT_BACKOFF, ...options.backoff };
  check(nonNegative(backoff.baseMs), who, 'backoff.baseMs', 'must be a number of milliseconds >= 0', backoff.baseMs);
  check(nonNegative(backoff.maxMs) && backoff.maxMs >= backoff.baseMs, who, 'backoff.maxMs', 'must be a number of milliseconds >= backoff.baseMs', backoff.maxMs);
  check(Number.isFinite(backoff.jitter) && backoff.jitter >= 0 && backoff.jitter <= 1, who, 'backoff.jitter', 'must be a number from 0 to 1', backoff.jitter);
  const onExhausted = options.onExhausted ?? 'escalate';
  check(ON_EXHAUSTED.includes(onExhausted), who, 'onExhausted', `must be one of ${ON_EXHAUSTED.join(', ')}`, onExhausted);
  check(onExhausted === 'escalate' || strategy === 'one-for-one', who, 'onExhausted', 'may be stop-child only with strategy one-for-one', onExhausted);
  return { strategy, intensity, backoff, onExhausted };
}

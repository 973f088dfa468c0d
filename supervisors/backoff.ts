/**
 * Exponential backoff with jitter between restarts. `attempt` is the number
 * of restarts in the current intensity window, this one included, so the
 * delay grows while a child keeps failing and falls back to `baseMs` once
 * the window has emptied.
 */
import type { BackoffSpec } from './contract.js';

/** The delay before an un-jittered restart number `attempt` (>= 1): `min(maxMs, baseMs * 2^(attempt-1))`. */
export function backoffBase(attempt: number, spec: BackoffSpec): number {
  return Math.min(spec.maxMs, spec.baseMs * 2 ** Math.max(0, attempt - 1));
}

/** Bounds of `backoffDelay` for `attempt`, whatever the random draw. */
export function backoffBounds(attempt: number, spec: BackoffSpec): { readonly min: number; readonly max: number } {
  const base = backoffBase(attempt, spec);
  return { min: base * (1 - spec.jitter), max: Math.min(spec.maxMs, base * (1 + spec.jitter)) };
}

/** `backoffBase` times a factor uniform in `[1 - jitter, 1 + jitter]` (from `random` in [0, 1)), capped at `maxMs`. */
export function backoffDelay(attempt: number, spec: BackoffSpec, random: () => number): number {
  const factor = 1 + spec.jitter * (2 * random() - 1);
  return Math.min(spec.maxMs, Math.max(0, backoffBase(attempt, spec) * factor));
}

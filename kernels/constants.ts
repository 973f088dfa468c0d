/**
 * Numeric constants shared by every backend. The float32 constants are the
 * binary32 values of the original C literals (golden/NOTES.md §2.1); they are
 * rounded once here so every backend starts from identical bits.
 */
const f = Math.fround;

/**
 * Reduction chunk: rings are summed in chunks of this many pockets, each chunk
 * sequentially in float32, then the chunk partials in chunk order (SPEC §1).
 * It is a constant, never derived from the thread count, so the result does
 * not depend on how many threads or hosts did the work; and it is at least
 * 4096 so every golden ring (N ≤ 4096) is summed in the original's order.
 */
export const CHUNK = 4096;

/** Default limit on pockets in one run (rings × pockets), SPEC §1. */
export const DEFAULT_MAX_POCKETS = 2 ** 24;

/** Ticks in a run at most: the tick counter is an Int32 in the state header (kernels/state.ts). */
export const MAX_TICKS = 0x7fff_ffff;

/** The original C prototype capped a ring at this many pockets. */
export const REFERENCE_POCKET_CAP = 32;

export const F = {
  // phase 12
  E0: f(0.0007),
  D0: f(0.000009),
  EPS_MAX: f(0.01),
  E_STEP: f(0.000001),
  S_E: f(0.0000002),
  C_E: f(0.2),
  DECAY: f(1 - f(5e-4)),
  S_D: f(1e-7),
  E_MAX: f(0.001),
  D_MAX: f(0.001),
  // phase 13
  PHI0: f(0.4),
  KAPPA0: f(0.78),
  KAPPA_STEP: f(0.02),
  BIAS0: f(0.0004),
  BIAS_P: f(0.0003),
  DAMP: f(0.01),
  H_KEEP: f(0.85),
  H_NEW: f(0.15),
} as const;

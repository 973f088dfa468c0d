/**
 * Integers read from outside (a wire frame, a file): one rule for every
 * decoder. MessagePack has many encodings of one integer — a positive or
 * negative fixint, int8..int64, uint8..uint64, and a float32/float64 that
 * happens to hold a whole number — and which one a sender picks is the
 * sender's library's business: most write a uint64 (0xcf) for anything
 * above 2^32, which msgpackr decodes as a BigInt and scan.ts as a number.
 * Every exact encoding of an integer is that integer; anything else is not:
 *
 *   - a number that is a safe integer (|v| ≤ 2^53 − 1) → itself (-0 → 0)
 *   - a bigint within ±(2^53 − 1) → the same number
 *   - a fraction, NaN, ±Infinity, a value beyond 2^53 − 1 either way
 *     (it could not be told from its neighbours) or any other type → undefined
 *
 * The caller checks its own range and names the field in its own error
 * (decode means validate): `exactInteger` only says what the value is.
 */

const MAX = BigInt(Number.MAX_SAFE_INTEGER);
const MIN = -MAX;

/** The integer `v` encodes exactly, or undefined when it is not one (see above). */
export function exactInteger(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v + 0 : undefined; // + 0: -0 → 0
  if (typeof v === 'bigint') return v >= MIN && v <= MAX ? Number(v) : undefined;
  return undefined;
}

/** An integer in [min, max] (inclusive, defaults: 0 and 2^53 − 1), or undefined. */
export function exactUint(v: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const n = exactInteger(v);
  return n !== undefined && n >= min && n <= max ? n : undefined;
}

/** How a bad integer reads in an error message (a BigInt prints without its `n`). */
export function showInteger(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return typeof v;
}

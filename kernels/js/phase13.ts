/**
 * Phase 13 in plain TypeScript float32 (`Math.fround` after every operation,
 * in the original's order: golden/NOTES.md §4). This is the reference the
 * other backends are checked against, and the initialiser every backend
 * shares. Reductions follow the chunk rule of SPEC §1 (see constants.ts).
 */
import { CHUNK, F } from '../constants.js';
import { ROW_COLUMNS, type RowBlock } from '../rows.js';
import type { Phase13State } from '../state.js';

const f = Math.fround;

function clamp01(v: number): number {
  // Ternary, not Math.min/max: NaN passes through and -0 stays -0, as in C.
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** Chunked float32 sum of `x[base .. base+n)` (SPEC §1). */
export function chunkedSum(x: Float32Array, base: number, n: number, term: (v: number) => number): number {
  let total = 0;
  for (let c = 0; c < n; c += CHUNK) {
    const end = Math.min(c + CHUNK, n);
    let acc = 0;
    for (let i = c; i < end; i++) acc = f(acc + term(x[base + i]!));
    total = f(total + acc);
  }
  return total;
}

/** Tick-0 state of every ring: phases, coherences, mean and drift history. */
export function initPhase13(state: Phase13State): void {
  const n = state.pockets;
  const fn = f(n);
  const phase = state.phase[state.parity];
  const coh = state.coherence[state.parity];
  for (let r = 0; r < state.rings; r++) {
    const base = r * n;
    for (let i = 0; i < n; i++) {
      phase[base + i] = f(f(f(i) / fn) * F.PHI0);
      coh[base + i] = f(F.KAPPA0 + f(F.KAPPA_STEP * (i % 3)));
    }
    const m0 = f(chunkedSum(phase, base, n, (v) => v) / fn);
    const d0 = f(chunkedSum(phase, base, n, (v) => Math.abs(f(v - m0))) / fn);
    state.mean[r] = m0;
    state.history[r] = d0;
  }
}

/** The bias b of NOTES §4 step 3, from the previous drift history. */
export function bias(k: number, h: number): number {
  const p = clamp01(f(1 - h));
  return f(f(F.BIAS0 + f(k * 0.25)) + f(p * F.BIAS_P));
}

/**
 * One tick over chunks [c0, c1) of one ring: writes the new phases and
 * coherences, and for each chunk four float32 partials (Σφ′, Σ|x|, Σ½x², Σκ′)
 * at `partials[4c ..]`. Neighbour reads come from the previous half only, so
 * disjoint chunk ranges can run on different threads.
 */
export function phase13Chunks(
  pin: Float32Array,
  kin: Float32Array,
  pout: Float32Array,
  kout: Float32Array,
  base: number,
  n: number,
  c0: number,
  c1: number,
  k: number,
  m: number,
  b: number,
  partials: Float32Array,
): void {
  const g = f(k * 120);
  const dl = f(k * 15);
  const a = f(k * 60);
  const damp = F.DAMP;
  const last = base + n - 1;
  for (let c = c0; c < c1; c++) {
    const s = base + c * CHUNK;
    const e = Math.min(s + CHUNK, base + n);
    let sp = 0;
    let dr = 0;
    let en = 0;
    let co = 0;
    const left = s === base ? last : s - 1;
    let pl = pin[left]!;
    let kl = kin[left]!;
    let pi = pin[s]!;
    let ki = kin[s]!;
    for (let i = s; i < e; i++) {
      const right = i === last ? base : i + 1;
      const pr = pin[right]!;
      const kr = kin[right]!;
      const pn = f(f(pi + f(g * f(f(0.5 * f(pl + pr)) - pi))) - f(f(dl * pi) * damp));
      const kv = f(f(ki + f(a * f(f(0.5 * f(kl + kr)) - ki))) + b);
      const kn = kv < 0 ? 0 : kv > 1 ? 1 : kv;
      pout[i] = pn;
      kout[i] = kn;
      const x = f(pn - m);
      sp = f(sp + pn);
      dr = f(dr + Math.abs(x));
      en = f(en + f(f(0.5 * x) * x));
      co = f(co + kn);
      pl = pi;
      kl = ki;
      pi = pr;
      ki = kr;
    }
    const o = 4 * c;
    partials[o] = sp;
    partials[o + 1] = dr;
    partials[o + 2] = en;
    partials[o + 3] = co;
  }
}

/**
 * Combine one ring's chunk partials (in chunk order) into the tick's outputs,
 * update that ring's mean and drift history, and write its row.
 */
export function phase13Finish(
  state: Phase13State,
  ring: number,
  partials: Float32Array,
  chunks: number,
  rows: Float32Array,
  rowOffset: number,
): void {
  const fn = f(state.pockets);
  let sp = 0;
  let dr = 0;
  let en = 0;
  let co = 0;
  for (let c = 0; c < chunks; c++) {
    sp = f(sp + partials[4 * c]!);
    dr = f(dr + partials[4 * c + 1]!);
    en = f(en + partials[4 * c + 2]!);
    co = f(co + partials[4 * c + 3]!);
  }
  const d = f(dr / fn);
  state.history[ring] = f(f(state.history[ring]! * F.H_KEEP) + f(d * F.H_NEW));
  state.mean[ring] = f(sp / fn);
  const avg = f(co / fn);
  const eh = clamp01(f(en / fn));
  rows[rowOffset] = avg;
  rows[rowOffset + 1] = d;
  rows[rowOffset + 2] = en;
  rows[rowOffset + 3] = clamp01(avg);
  rows[rowOffset + 4] = clamp01(f(1 - d));
  rows[rowOffset + 5] = clamp01(f(1 - eh));
}

export function chunkCount(pockets: number): number {
  return Math.ceil(pockets / CHUNK);
}

/**
 * Advance rings [r0, r1) by `ticks` ticks, writing rows for ticks
 * [rowTick0, rowTick0 + ticks) of `rows`. Does not flip the state's parity:
 * the coordinator does that once every range of the epoch is done.
 */
export function runPhase13Rings(state: Phase13State, r0: number, r1: number, ticks: number, rows: RowBlock, rowTick0: number): void {
  const n = state.pockets;
  const chunks = state.chunks;
  for (let r = r0; r < r1; r++) {
    const base = r * n;
    const k = state.coupling[r]!;
    const partials = state.partials.subarray(r * chunks * 4, (r + 1) * chunks * 4);
    let par = state.parity;
    for (let t = 0; t < ticks; t++) {
      const b = bias(k, state.history[r]!);
      const m = state.mean[r]!;
      phase13Chunks(state.phase[par], state.coherence[par], state.phase[par ^ 1], state.coherence[par ^ 1], base, n, 0, chunks, k, m, b, partials);
      phase13Finish(state, r, partials, chunks, rows.values, rows.offset(rowTick0 + t, r));
      par ^= 1;
    }
  }
}

export { ROW_COLUMNS };

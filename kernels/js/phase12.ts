/**
 * Phase 12 in plain TypeScript float32 (golden/NOTES.md §3), one strand per
 * eps. The reference for the gpu.js backends.
 */
import { F } from '../constants.js';
import type { RowBlock } from '../rows.js';
import type { Phase12State } from '../state.js';

const f = Math.fround;

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Advance strands [s0, s1) by `ticks`, writing rows [rowTick0, rowTick0 + ticks). */
export function runPhase12Strands(state: Phase12State, s0: number, s1: number, ticks: number, rows: RowBlock, rowTick0: number): void {
  const v = state.values;
  const out = rows.values;
  for (let j = s0; j < s1; j++) {
    let e = v[3 * j]!;
    let d = v[3 * j + 1]!;
    const s = v[3 * j + 2]!;
    const se = f(s * F.S_E);
    const sd = f(s * F.S_D);
    for (let t = 0; t < ticks; t++) {
      e = clamp(f(f(e - F.E_STEP) + se), 0, F.E_MAX);
      const c = clamp(f(1 - f(e * F.C_E)), 0, 1);
      d = clamp(f(f(d * F.DECAY) + sd), 0, F.D_MAX);
      const o = rows.offset(rowTick0 + t, j);
      out[o] = c;
      out[o + 1] = e;
      out[o + 2] = d;
      out[o + 3] = c;
      out[o + 4] = f(1 - e);
      out[o + 5] = f(1 - d);
    }
    v[3 * j] = e;
    v[3 * j + 1] = d;
  }
}

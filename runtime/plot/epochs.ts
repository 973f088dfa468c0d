/**
 * Epoch boundaries and each epoch's ethics decision, for the plot: the
 * boundaries are the run's checkpoints (epoch e ends at checkpoint e's tick),
 * and the decision is recomputed from the CSV row of that tick with the rule
 * of actors/run-engine.ts `decide`: per lane, pass ⇔ total ≥ threshold and
 * entropy figure ≤ entropyMax (NaN fails); the epoch passes when every lane
 * does. The total is rebuilt as (S + C) + H from the float32 columns, as the
 * engine does, rather than read from the rounded `ethics_total` cell; the
 * phase 13 entropy figure is phase_energy / pockets in float32, clamped to
 * [0, 1]; phase 12's is its `entropy` column.
 */
import type { EthicsRule } from '../../actors/run-engine.js';
import type { LaneSeries, RunCsv } from './run-csv.js';

export interface EpochMark {
  readonly epoch: number;
  readonly fromTick: number;
  readonly toTick: number;
  /** null when the CSV has no row for the epoch's last tick in some lane. */
  readonly pass: boolean | null;
  readonly minTotal: number;
  readonly maxEntropy: number;
}

function rowAt(lane: LaneSeries, tick: number): number {
  // Rows are in tick order; a binary search keeps million-tick runs cheap.
  let lo = 0;
  let hi = lane.ticks.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const t = lane.ticks[mid]!;
    if (t === tick) return mid;
    if (t < tick) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

export function laneFigures(csv: RunCsv, lane: LaneSeries, row: number, pockets: number): { total: number; entropy: number } {
  const col = (n: string): number => lane.columns.get(n)![row]!;
  const total = col('sustainability') + col('compassion') + col('harmony');
  if (csv.phase === 'phase12') return { total, entropy: col('entropy') };
  const e = Math.fround(col('phase_energy') / Math.fround(pockets));
  return { total, entropy: e < 0 ? 0 : e > 1 ? 1 : e };
}

/**
 * `checkpoints`: (epoch, tick) in epoch order, epoch 0 at tick 0 included or
 * not. Epoch numbers keep counting across a rollback while ticks go back, so
 * the marks are the epochs of the surviving timeline, each with its own number.
 */
export function epochMarks(csv: RunCsv, checkpoints: ReadonlyArray<{ epoch: number; tick: number }>, pockets: number, rule: EthicsRule): EpochMark[] {
  const out: EpochMark[] = [];
  let prev = 0;
  for (const c of checkpoints) {
    // A checkpoint at or before the previous one's tick is a rollback (governance): the epochs it undid
    // are not on the timeline the CSV now holds, so they are dropped and the run goes on from its tick.
    if (c.tick <= prev) {
      while (out.length > 0 && out[out.length - 1]!.toTick > c.tick) out.pop();
      prev = c.tick;
      continue;
    }
    let passed = 0;
    let missing = false;
    let minTotal = Infinity;
    let maxEntropy = -Infinity;
    for (const lane of csv.lanes) {
      const r = rowAt(lane, c.tick);
      if (r < 0) {
        missing = true;
        continue;
      }
      const { total, entropy } = laneFigures(csv, lane, r, pockets);
      if (total >= rule.threshold && entropy <= rule.entropyMax) passed++;
      minTotal = Number.isNaN(total) || Number.isNaN(minTotal) ? NaN : Math.min(minTotal, total);
      maxEntropy = Number.isNaN(entropy) || Number.isNaN(maxEntropy) ? NaN : Math.max(maxEntropy, entropy);
    }
    out.push({ epoch: c.epoch, fromTick: prev + 1, toTick: c.tick, pass: missing || csv.lanes.length === 0 ? null : passed === csv.lanes.length, minTotal, maxEntropy });
    prev = c.tick;
  }
  return out;
}

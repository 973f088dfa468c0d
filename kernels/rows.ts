/**
 * Per-tick output rows of one epoch, in shared memory so workers write them
 * in place. Six float32 columns per (tick, lane), where a lane is a strand
 * (phase 12) or a ring (phase 13):
 *   phase 12: coherence, entropy, decoherence, S, C, H
 *   phase 13: avg_coherence, phase_drift, phase_energy, S, C, H
 * ethics_total is not stored: it is (S + C) + H in double (NOTES §2.3),
 * rebuilt on read so it can never disagree with the stored S, C, H.
 */
export const ROW_COLUMNS = 6;

export interface RowBlockDescriptor {
  readonly buffer: SharedArrayBuffer;
  readonly ticks: number;
  readonly lanes: number;
}

export class RowBlock {
  readonly buffer: SharedArrayBuffer;
  readonly ticks: number;
  readonly lanes: number;
  readonly values: Float32Array;

  private constructor(d: RowBlockDescriptor) {
    this.buffer = d.buffer;
    this.ticks = d.ticks;
    this.lanes = d.lanes;
    this.values = new Float32Array(d.buffer, 0, d.ticks * d.lanes * ROW_COLUMNS);
  }

  static allocate(ticks: number, lanes: number): RowBlock {
    return new RowBlock({ buffer: new SharedArrayBuffer(ticks * lanes * ROW_COLUMNS * 4), ticks, lanes });
  }

  static attach(d: RowBlockDescriptor): RowBlock {
    return new RowBlock(d);
  }

  get descriptor(): RowBlockDescriptor {
    return { buffer: this.buffer, ticks: this.ticks, lanes: this.lanes };
  }

  /** Offset of (tick index within the block, lane) in `values`. */
  offset(tickIndex: number, lane: number): number {
    return (tickIndex * this.lanes + lane) * ROW_COLUMNS;
  }

  /** The six float32 columns plus the double total of one row. */
  row(tickIndex: number, lane: number): [number, number, number, number, number, number, number] {
    const o = this.offset(tickIndex, lane);
    const v = this.values;
    return [v[o]!, v[o + 1]!, v[o + 2]!, v[o + 3]!, v[o + 4]!, v[o + 5]!, v[o + 3]! + v[o + 4]! + v[o + 5]!];
  }

  total(tickIndex: number, lane: number): number {
    const o = this.offset(tickIndex, lane);
    return this.values[o + 3]! + this.values[o + 4]! + this.values[o + 5]!;
  }
}

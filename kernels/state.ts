/**
 * Phase state in SharedArrayBuffers. The coordinator and every pool worker
 * view the same memory, so a tick never copies a ring: workers are handed a
 * descriptor (the buffer plus its shape) and index ranges, never the data.
 *
 * Phase 13 layout (one buffer, 4-byte aligned):
 *   header  Int32 × 8        [0] ticks done, [1] parity (which half is current)
 *   phase   Float32 × 2RN    two halves, A and B, each R rings × N pockets
 *   coh     Float32 × 2RN    same, for pocket coherence κ
 *   history Float32 × R      drift history h per ring
 *   mean    Float32 × R      mean phase of the current half, per ring
 *   coupling Float32 × R     k per ring
 *
 * Phase 12 layout: header Int32 × 8, then Float32 × 3S: entropy, decoherence,
 * stretch (already clamped) per strand.
 */
import { F } from './constants.js';
import type { Phase12Params, Phase13Params } from './params.js';

const HEADER_INTS = 8;
const HEADER_BYTES = HEADER_INTS * 4;

export interface Phase13Descriptor {
  readonly buffer: SharedArrayBuffer;
  readonly pockets: number;
  readonly rings: number;
}

export interface Phase12Descriptor {
  readonly buffer: SharedArrayBuffer;
  readonly strands: number;
}

export class Phase13State {
  readonly buffer: SharedArrayBuffer;
  readonly pockets: number;
  readonly rings: number;
  readonly header: Int32Array;
  readonly phase: readonly [Float32Array, Float32Array];
  readonly coherence: readonly [Float32Array, Float32Array];
  readonly history: Float32Array;
  readonly mean: Float32Array;
  readonly coupling: Float32Array;

  private constructor(d: Phase13Descriptor) {
    this.buffer = d.buffer;
    this.pockets = d.pockets;
    this.rings = d.rings;
    const n = d.pockets * d.rings;
    const expected = Phase13State.byteLength(d.pockets, d.rings);
    if (d.buffer.byteLength !== expected) {
      throw new RangeError(`phase13 state buffer is ${d.buffer.byteLength} bytes, expected ${expected}`);
    }
    this.header = new Int32Array(d.buffer, 0, HEADER_INTS);
    let off = HEADER_BYTES;
    const take = (len: number): Float32Array => {
      const a = new Float32Array(d.buffer, off, len);
      off += len * 4;
      return a;
    };
    this.phase = [take(n), take(n)];
    this.coherence = [take(n), take(n)];
    this.history = take(d.rings);
    this.mean = take(d.rings);
    this.coupling = take(d.rings);
  }

  static byteLength(pockets: number, rings: number): number {
    return HEADER_BYTES + 4 * (4 * pockets * rings + 3 * rings);
  }

  static allocate(params: Pick<Phase13Params, 'pockets' | 'rings' | 'couplings'>): Phase13State {
    const buffer = new SharedArrayBuffer(Phase13State.byteLength(params.pockets, params.rings));
    const s = new Phase13State({ buffer, pockets: params.pockets, rings: params.rings });
    s.coupling.set(params.couplings);
    return s;
  }

  static attach(d: Phase13Descriptor): Phase13State {
    return new Phase13State(d);
  }

  get descriptor(): Phase13Descriptor {
    return { buffer: this.buffer, pockets: this.pockets, rings: this.rings };
  }

  /** Ticks computed so far. */
  get tick(): number {
    return this.header[0]!;
  }

  /** Index (0 or 1) of the half holding the current phases and coherences. */
  get parity(): 0 | 1 {
    return (this.header[1]! & 1) as 0 | 1;
  }

  /** Record that `ticks` more ticks were computed (the halves alternate every tick). */
  advance(ticks: number): void {
    this.header[0] = this.header[0]! + ticks;
    this.header[1] = (this.header[1]! + ticks) & 1;
  }
}

export class Phase12State {
  readonly buffer: SharedArrayBuffer;
  readonly strands: number;
  readonly header: Int32Array;
  /** Per strand: [entropy, decoherence, stretch]. */
  readonly values: Float32Array;

  private constructor(d: Phase12Descriptor) {
    this.buffer = d.buffer;
    this.strands = d.strands;
    const expected = HEADER_BYTES + 12 * d.strands;
    if (d.buffer.byteLength !== expected) {
      throw new RangeError(`phase12 state buffer is ${d.buffer.byteLength} bytes, expected ${expected}`);
    }
    this.header = new Int32Array(d.buffer, 0, HEADER_INTS);
    this.values = new Float32Array(d.buffer, HEADER_BYTES, 3 * d.strands);
  }

  static allocate(params: Pick<Phase12Params, 'eps'>): Phase12State {
    const strands = params.eps.length;
    const s = new Phase12State({ buffer: new SharedArrayBuffer(HEADER_BYTES + 12 * strands), strands });
    params.eps.forEach((eps, j) => {
      s.values[3 * j] = F.E0;
      s.values[3 * j + 1] = F.D0;
      // stretch = clamp(eps, 0, 0.01): constant for the run (NOTES §3)
      s.values[3 * j + 2] = eps < 0 ? 0 : eps > F.EPS_MAX ? F.EPS_MAX : eps;
    });
    return s;
  }

  static attach(d: Phase12Descriptor): Phase12State {
    return new Phase12State(d);
  }

  get descriptor(): Phase12Descriptor {
    return { buffer: this.buffer, strands: this.strands };
  }

  get tick(): number {
    return this.header[0]!;
  }

  advance(ticks: number): void {
    this.header[0] = this.header[0]! + ticks;
  }
}

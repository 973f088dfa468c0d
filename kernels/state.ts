/**
 * Phase state in SharedArrayBuffers. The coordinator and every pool worker
 * view the same memory, so a tick never copies a ring: workers are handed a
 * descriptor (the buffer plus its shape) and index ranges, never the data.
 *
 * Phase 13 state is one shared WebAssembly.Memory, so the hand-written wasm
 * kernel (kernels/wasm) works on it in place; its `.buffer` is an ordinary
 * SharedArrayBuffer for every other backend. Layout (4-byte aligned):
 *   header  Int32 × 8        [0] ticks done, [1] parity (which half is current)
 *   phase   Float32 × 2RN    two halves, A and B, each R rings × N pockets
 *   coh     Float32 × 2RN    same, for pocket coherence κ
 *   history Float32 × R      drift history h per ring
 *   mean    Float32 × R      mean phase of the current half, per ring
 *   coupling Float32 × R     k per ring
 *   partials Float32 × 4RC   per ring and chunk: Σφ′, Σ|x|, Σ½x², Σκ′ of the last tick
 *
 * Phase 12 layout: header Int32 × 8, then Float32 × 3S: entropy, decoherence,
 * stretch (already clamped) per strand.
 */
import { randomUUID } from 'node:crypto';
import { CHUNK, F } from './constants.js';
import type { Phase12Params, Phase13Params } from './params.js';

const HEADER_INTS = 8;
const HEADER_BYTES = HEADER_INTS * 4;

export interface Phase13Descriptor {
  /** Identifies this state's memory across thread hops (each hop gets a new Memory wrapper). */
  readonly id: string;
  readonly memory: WebAssembly.Memory;
  readonly pockets: number;
  readonly rings: number;
}

const PAGE = 65536;

export interface Phase12Descriptor {
  readonly buffer: SharedArrayBuffer;
  readonly strands: number;
}

export class Phase13State {
  readonly id: string;
  readonly memory: WebAssembly.Memory;
  readonly buffer: SharedArrayBuffer;
  readonly pockets: number;
  readonly rings: number;
  readonly header: Int32Array;
  readonly phase: readonly [Float32Array, Float32Array];
  readonly coherence: readonly [Float32Array, Float32Array];
  readonly history: Float32Array;
  readonly mean: Float32Array;
  readonly coupling: Float32Array;
  readonly partials: Float32Array;
  /** Reduction chunks per ring. */
  readonly chunks: number;

  private constructor(d: Phase13Descriptor) {
    this.id = d.id;
    this.memory = d.memory;
    this.buffer = d.memory.buffer as SharedArrayBuffer;
    this.pockets = d.pockets;
    this.rings = d.rings;
    this.chunks = Math.ceil(d.pockets / CHUNK);
    const n = d.pockets * d.rings;
    const expected = Phase13State.byteLength(d.pockets, d.rings);
    if (this.buffer.byteLength < expected) {
      throw new RangeError(`phase13 state memory is ${this.buffer.byteLength} bytes, needs ${expected}`);
    }
    this.header = new Int32Array(this.buffer, 0, HEADER_INTS);
    let off = HEADER_BYTES;
    const take = (len: number): Float32Array => {
      const a = new Float32Array(this.buffer, off, len);
      off += len * 4;
      return a;
    };
    this.phase = [take(n), take(n)];
    this.coherence = [take(n), take(n)];
    this.history = take(d.rings);
    this.mean = take(d.rings);
    this.coupling = take(d.rings);
    this.partials = take(4 * d.rings * this.chunks);
  }

  static byteLength(pockets: number, rings: number): number {
    return HEADER_BYTES + 4 * (4 * pockets * rings + 3 * rings + 4 * rings * Math.ceil(pockets / CHUNK));
  }

  static allocate(params: Pick<Phase13Params, 'pockets' | 'rings' | 'couplings'>): Phase13State {
    const pages = Math.ceil(Phase13State.byteLength(params.pockets, params.rings) / PAGE);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const s = new Phase13State({ id: randomUUID(), memory, pockets: params.pockets, rings: params.rings });
    s.coupling.set(params.couplings);
    return s;
  }

  static attach(d: Phase13Descriptor): Phase13State {
    return new Phase13State(d);
  }

  get descriptor(): Phase13Descriptor {
    return { id: this.id, memory: this.memory, pockets: this.pockets, rings: this.rings };
  }

  /** Byte offset of element `index` of a view into this state's memory (for the wasm kernel). */
  address(view: Float32Array, index = 0): number {
    return view.byteOffset + 4 * index;
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

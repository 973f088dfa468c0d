/**
 * Phase 13 as gpu.js kernels, one pipeline step per stage of a tick:
 *
 *   phase     φ′ for every (pocket, ring)              output [N, R]
 *   coherence κ′ for every (pocket, ring)              output [N, R]
 *   partials  per chunk: Σφ′, Σ|x|, Σ½x², Σκ′          output [chunks, R, 4]
 *   scalars   per ring: m′, h′, A, D, E, S, C, H       output [8, R]
 *
 * Each chunk thread sums its chunk sequentially and the scalars step adds the
 * partials in chunk order, which is the chunk rule of SPEC §1, so the result
 * is the same as the js reference for any split. Every operation is wrapped
 * in Math.fround: free on webasm (its arithmetic is already f32) and what
 * makes gpu.js's cpu mode (which computes in f64) exact.
 */
import { CHUNK } from '../constants.js';
import { chunkCount } from '../js/phase13.js';
import type { RowBlock } from '../rows.js';
import type { Phase13State } from '../state.js';
import { blocks, copyResult, disposePipeline, gpuFor, input, PlanCache, type GpuMode, type Handle, type Kernel, type KernelThis, type Pipeline } from './runtime.js';

interface Consts {
  N: number;
  NC: number;
  CH: number;
}
type This = KernelThis<Consts>;

export function phaseKernel(this: This, P: number[][], Kc: number[]): number {
  const i = this.thread.x;
  const r = this.thread.y;
  const n = this.constants.N;
  const k = Kc[r];
  const g = Math.fround(k * 120);
  const dl = Math.fround(k * 15);
  let left = i - 1;
  if (i === 0) {
    left = n - 1;
  }
  let right = i + 1;
  if (i === n - 1) {
    right = 0;
  }
  const pi = P[r][i];
  const nb = Math.fround(0.5 * Math.fround(P[r][left] + P[r][right]));
  const step = Math.fround(pi + Math.fround(g * Math.fround(nb - pi)));
  return Math.fround(step - Math.fround(Math.fround(dl * pi) * Math.fround(0.01)));
}

export function coherenceKernel(this: This, K: number[][], S: number[][], Kc: number[]): number {
  const i = this.thread.x;
  const r = this.thread.y;
  const n = this.constants.N;
  const k = Kc[r];
  const a = Math.fround(k * 60);
  let p = Math.fround(1 - S[r][1]);
  if (p < 0) {
    p = 0;
  } else if (p > 1) {
    p = 1;
  }
  const b = Math.fround(
    Math.fround(Math.fround(0.0004) + Math.fround(k * 0.25)) + Math.fround(p * Math.fround(0.0003)),
  );
  let left = i - 1;
  if (i === 0) {
    left = n - 1;
  }
  let right = i + 1;
  if (i === n - 1) {
    right = 0;
  }
  const ki = K[r][i];
  const nu = Math.fround(0.5 * Math.fround(K[r][left] + K[r][right]));
  const v = Math.fround(Math.fround(ki + Math.fround(a * Math.fround(nu - ki))) + b);
  if (v < 0) {
    return 0;
  }
  if (v > 1) {
    return 1;
  }
  return v;
}

export function partialsKernel(this: This, P: number[][], K: number[][], S: number[][]): number {
  const c = this.thread.x;
  const r = this.thread.y;
  const q = this.thread.z;
  const n = this.constants.N;
  const start = c * this.constants.CH;
  const m = S[r][0];
  let acc = 0;
  for (let j = 0; j < this.constants.CH; j++) {
    const i = start + j;
    if (i < n) {
      if (q === 0) {
        acc = Math.fround(acc + P[r][i]);
      } else if (q === 1) {
        acc = Math.fround(acc + Math.abs(Math.fround(P[r][i] - m)));
      } else if (q === 2) {
        const x = Math.fround(P[r][i] - m);
        acc = Math.fround(acc + Math.fround(Math.fround(0.5 * x) * x));
      } else {
        acc = Math.fround(acc + K[r][i]);
      }
    }
  }
  return acc;
}

export function scalarsKernel(this: This, Pa: number[][][], S: number[][]): number {
  const q = this.thread.x;
  const r = this.thread.y;
  const fn = this.constants.N;
  let sp = 0;
  let dr = 0;
  let en = 0;
  let co = 0;
  for (let c = 0; c < this.constants.NC; c++) {
    sp = Math.fround(sp + Pa[0][r][c]);
    dr = Math.fround(dr + Pa[1][r][c]);
    en = Math.fround(en + Pa[2][r][c]);
    co = Math.fround(co + Pa[3][r][c]);
  }
  const d = Math.fround(dr / fn);
  const avg = Math.fround(co / fn);
  let eh = Math.fround(en / fn);
  if (eh < 0) {
    eh = 0;
  } else if (eh > 1) {
    eh = 1;
  }
  let out = 0;
  if (q === 0) {
    out = Math.fround(sp / fn);
  } else if (q === 1) {
    out = Math.fround(Math.fround(S[r][1] * Math.fround(0.85)) + Math.fround(d * Math.fround(0.15)));
  } else if (q === 2) {
    out = avg;
  } else if (q === 3) {
    out = d;
  } else if (q === 4) {
    out = en;
  } else if (q === 5) {
    out = avg;
    if (out < 0) {
      out = 0;
    } else if (out > 1) {
      out = 1;
    }
  } else if (q === 6) {
    out = Math.fround(1 - d);
    if (out < 0) {
      out = 0;
    } else if (out > 1) {
      out = 1;
    }
  } else {
    out = Math.fround(1 - eh);
    if (out < 0) {
      out = 0;
    } else if (out > 1) {
      out = 1;
    }
  }
  return out;
}

interface Program {
  kernels: Kernel[];
  pipeline: Pipeline;
}

const SCALARS = 8;
const cache = new PlanCache<Program>(24, (p) => {
  disposePipeline(p.pipeline);
  for (const k of p.kernels) k.destroy();
});

function build(mode: GpuMode, pockets: number, rings: number, ticks: number, threads: boolean): Program {
  const gpu = gpuFor(mode);
  const nc = chunkCount(pockets);
  const constants = { N: pockets, NC: nc, CH: CHUNK };
  const phase = gpu.createKernel(phaseKernel, { output: [pockets, rings], constants });
  const coherence = gpu.createKernel(coherenceKernel, { output: [pockets, rings], constants });
  const partials = gpu.createKernel(partialsKernel, { output: [nc, rings, 4], constants, loopMaxIterations: CHUNK });
  const scalars = gpu.createKernel(scalarsKernel, { output: [SCALARS, rings], constants, loopMaxIterations: nc + 1 });
  const pipeline = gpu.createPipeline(
    function (this: { constants: { T: number } }, P: Handle, K: Handle, S: Handle, Kc: Handle): Handle[] {
      const out: Handle[] = [];
      for (let t = 0; t < this.constants.T; t++) {
        const P2 = phase(P, Kc);
        const K2 = coherence(K, S, Kc);
        S = scalars(partials(P2, K2, S), S);
        P = P2;
        K = K2;
        out.push(S);
      }
      return [P, K].concat(out);
    },
    { constants: { T: ticks }, threads },
  );
  return { kernels: [phase, coherence, partials, scalars], pipeline };
}

/** What actually ran, for status and the "fallback is logged" rule. */
export interface GpuRunInfo {
  executor: string;
  backend: string | null;
  fallbackReason: string | null;
}

/**
 * Advance rings [r0, r1) by `ticks`, writing rows [rowTick0, ...). State is
 * copied into the pipeline once per block and back once per block.
 */
export async function runPhase13RingsGpu(
  mode: GpuMode,
  state: Phase13State,
  r0: number,
  r1: number,
  ticks: number,
  rows: RowBlock,
  rowTick0: number,
  threads: boolean,
): Promise<GpuRunInfo> {
  const n = state.pockets;
  const rr = r1 - r0;
  const lo = r0 * n;
  const hi = r1 * n;
  const par0 = state.parity;
  // Working copies of this range: uploaded once per block by gpu.js anyway.
  let P = state.phase[par0].slice(lo, hi);
  let K = state.coherence[par0].slice(lo, hi);
  const S = new Float32Array(2 * rr);
  for (let r = 0; r < rr; r++) {
    S[2 * r] = state.mean[r0 + r]!;
    S[2 * r + 1] = state.history[r0 + r]!;
  }
  const Kc = state.coupling.slice(r0, r1);
  let info: GpuRunInfo = { executor: 'none', backend: null, fallbackReason: null };
  let done = 0;
  const scratch = new Float32Array(SCALARS * rr);
  for (const b of blocks(ticks)) {
    const prog = cache.get(`${mode}:${n}:${rr}:${b}:${threads}`, () => build(mode, n, rr, b, threads));
    const result = (await prog.pipeline(
      input(P, [n, rr]),
      input(K, [n, rr]),
      input(S, [2, rr]),
      Kc,
    )) as unknown[];
    info = { executor: prog.pipeline.executorKind, backend: prog.pipeline.backend, fallbackReason: prog.pipeline.fallbackReason };
    const nextP = new Float32Array(rr * n);
    const nextK = new Float32Array(rr * n);
    copyResult(result[0], nextP);
    copyResult(result[1], nextK);
    P = nextP;
    K = nextK;
    for (let t = 0; t < b; t++) {
      copyResult(result[2 + t], scratch);
      for (let r = 0; r < rr; r++) {
        const s = scratch.subarray(SCALARS * r, SCALARS * r + SCALARS);
        const o = rows.offset(rowTick0 + done + t, r0 + r);
        rows.values.set(s.subarray(2, 8), o);
        if (t === b - 1) {
          S[2 * r] = s[0]!;
          S[2 * r + 1] = s[1]!;
        }
      }
    }
    done += b;
  }
  const parEnd = (par0 + ticks) & 1;
  state.phase[parEnd].set(P, lo);
  state.coherence[parEnd].set(K, lo);
  for (let r = 0; r < rr; r++) {
    state.mean[r0 + r] = S[2 * r]!;
    state.history[r0 + r] = S[2 * r + 1]!;
  }
  return info;
}

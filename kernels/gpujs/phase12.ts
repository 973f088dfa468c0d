/**
 * Phase 12 as a gpu.js kernel: one step per tick, one thread per (column,
 * strand). Columns 0..4 are entropy, coherence, decoherence, C = 1 − e and
 * H = 1 − d; each thread recomputes the new entropy it needs from the
 * previous step, so no step reads its own output.
 */
import type { RowBlock } from '../rows.js';
import type { Phase12State } from '../state.js';
import { blocks, copyResult, disposePipeline, gpuFor, input, PlanCache, type GpuMode, type Handle, type Kernel, type KernelThis, type Pipeline } from './runtime.js';

const COLS = 5;

function stepKernel(this: KernelThis<Record<string, never>>, X: number[][], St: number[]): number {
  const q = this.thread.x;
  const j = this.thread.y;
  const s = St[j];
  let e = Math.fround(
    Math.fround(X[j][0] - Math.fround(0.000001)) + Math.fround(s * Math.fround(0.0000002)),
  );
  if (e < 0) {
    e = 0;
  } else if (e > Math.fround(0.001)) {
    e = Math.fround(0.001);
  }
  let out = e;
  if (q === 1) {
    out = Math.fround(1 - Math.fround(e * Math.fround(0.2)));
    if (out < 0) {
      out = 0;
    } else if (out > 1) {
      out = 1;
    }
  } else if (q === 2 || q === 4) {
    let d = Math.fround(
      Math.fround(X[j][2] * Math.fround(1 - Math.fround(0.0005))) + Math.fround(s * Math.fround(0.0000001)),
    );
    if (d < 0) {
      d = 0;
    } else if (d > Math.fround(0.001)) {
      d = Math.fround(0.001);
    }
    out = d;
    if (q === 4) {
      out = Math.fround(1 - d);
    }
  } else if (q === 3) {
    out = Math.fround(1 - e);
  }
  return out;
}

interface Program {
  kernel: Kernel;
  pipeline: Pipeline;
}

const cache = new PlanCache<Program>(16, (p) => {
  disposePipeline(p.pipeline);
  p.kernel.destroy();
});

function build(mode: GpuMode, strands: number, ticks: number): Program {
  const gpu = gpuFor(mode);
  const step = gpu.createKernel(stepKernel, { output: [COLS, strands] });
  const pipeline = gpu.createPipeline(
    function (this: { constants: { T: number } }, X: Handle, St: Handle): Handle[] {
      const out: Handle[] = [];
      for (let t = 0; t < this.constants.T; t++) {
        X = step(X, St);
        out.push(X);
      }
      return out;
    },
    { constants: { T: ticks }, threads: false },
  );
  return { kernel: step, pipeline };
}

export async function runPhase12StrandsGpu(
  mode: GpuMode,
  state: Phase12State,
  s0: number,
  s1: number,
  ticks: number,
  rows: RowBlock,
  rowTick0: number,
): Promise<void> {
  const ns = s1 - s0;
  const X = new Float32Array(COLS * ns);
  const St = new Float32Array(ns);
  for (let j = 0; j < ns; j++) {
    X[COLS * j] = state.values[3 * (s0 + j)]!;
    X[COLS * j + 2] = state.values[3 * (s0 + j) + 1]!;
    St[j] = state.values[3 * (s0 + j) + 2]!;
  }
  const scratch = new Float32Array(COLS * ns);
  let done = 0;
  for (const b of blocks(ticks)) {
    const prog = cache.get(`${mode}:${ns}:${b}`, () => build(mode, ns, b));
    const result = (await prog.pipeline(input(X, [COLS, ns]), St)) as unknown[];
    for (let t = 0; t < b; t++) {
      copyResult(result[t], scratch);
      for (let j = 0; j < ns; j++) {
        const x = COLS * j;
        const o = rows.offset(rowTick0 + done + t, s0 + j);
        const e = scratch[x]!;
        const c = scratch[x + 1]!;
        rows.values[o] = c;
        rows.values[o + 1] = e;
        rows.values[o + 2] = scratch[x + 2]!;
        rows.values[o + 3] = c;
        rows.values[o + 4] = scratch[x + 3]!;
        rows.values[o + 5] = scratch[x + 4]!;
      }
    }
    X.set(scratch);
    done += b;
  }
  for (let j = 0; j < ns; j++) {
    state.values[3 * (s0 + j)] = X[COLS * j]!;
    state.values[3 * (s0 + j) + 1] = X[COLS * j + 2]!;
  }
}

/**
 * The `wasm` backend: phase 13 as a hand-written WebAssembly kernel with
 * f32x4 SIMD (kernels/wasm/phase13.wat), running in place on the run's shared
 * memory. Why it exists beside gpu.js's webasm: gpu.js's generated code tops
 * out far below the native baseline (`npm run bench -- gpujs-ceiling`: even a
 * trivial 3-point stencil runs at ≈0.08× native at N = 1M, and a full tick,
 * which needs two stencils and a reduction, is bounded near 0.013×), while
 * the same arithmetic written directly in wasm runs ≈0.45 G pocket-updates/s
 * per thread. It is exact for the same reason webasm is: wasm f32 arithmetic
 * is IEEE binary32 per operation and nothing is fused or reordered.
 */
import { readFileSync } from 'node:fs';
import type { RowBlock } from '../rows.js';
import type { Phase13State } from '../state.js';
import { bias, phase13Finish } from '../js/phase13.js';

type ChunksFn = (
  pin: number, kin: number, pout: number, kout: number,
  n: number, c0: number, c1: number,
  k: number, m: number, b: number, part: number,
) => void;

let module: WebAssembly.Module | undefined;

function compiled(): WebAssembly.Module {
  module ??= new WebAssembly.Module(readFileSync(new URL('./phase13.wasm', import.meta.url)));
  return module;
}

// Instances per state, by id: a task's Memory arrives as a fresh wrapper every
// time, and instantiating per task would cost more than a small tick's work.
const instances = new Map<string, ChunksFn>();
const MAX_INSTANCES = 8;

function chunksFor(state: Phase13State): ChunksFn {
  let fn = instances.get(state.id);
  if (fn === undefined) {
    const inst = new WebAssembly.Instance(compiled(), { env: { memory: state.memory } });
    fn = inst.exports['chunks'] as ChunksFn;
    instances.set(state.id, fn);
    if (instances.size > MAX_INSTANCES) instances.delete(instances.keys().next().value as string);
  }
  return fn;
}

/** One tick over chunks [c0, c1) of one ring; partials land in state.partials. */
export function phase13ChunksWasm(
  state: Phase13State, fn: ChunksFn | undefined, ring: number, c0: number, c1: number, m: number, b: number, par: 0 | 1,
): ChunksFn {
  const chunks = fn ?? chunksFor(state);
  const base = ring * state.pockets;
  chunks(
    state.address(state.phase[par], base),
    state.address(state.coherence[par], base),
    state.address(state.phase[par ^ 1], base),
    state.address(state.coherence[par ^ 1], base),
    state.pockets, c0, c1,
    state.coupling[ring]!, m, b,
    state.address(state.partials, ring * state.chunks * 4),
  );
  return chunks;
}

/** Advance rings [r0, r1) by `ticks` (the wasm twin of runPhase13Rings). */
export function runPhase13RingsWasm(state: Phase13State, r0: number, r1: number, ticks: number, rows: RowBlock, rowTick0: number): void {
  const chunks = chunksFor(state);
  const n = state.pockets;
  const nc = state.chunks;
  const par0 = state.parity;
  for (let r = r0; r < r1; r++) {
    const k = state.coupling[r]!;
    const partials = state.partials.subarray(r * nc * 4, (r + 1) * nc * 4);
    let par = par0;
    for (let t = 0; t < ticks; t++) {
      chunks(
        state.address(state.phase[par], r * n),
        state.address(state.coherence[par], r * n),
        state.address(state.phase[par ^ 1], r * n),
        state.address(state.coherence[par ^ 1], r * n),
        n, 0, nc, k, state.mean[r]!, bias(k, state.history[r]!),
        state.address(partials),
      );
      phase13Finish(state, r, partials, nc, rows.values, rows.offset(rowTick0 + t, r));
      par ^= 1;
    }
  }
}

/**
 * Where gpu.js's generated code tops out: per-step throughput of fused
 * webasm pipelines at N = 1,000,000, for a trivial 3-point stencil (the
 * least a phase-13 tick must do twice) and for each of the four steps of our
 * phase-13 tick on its own. A step's rate is pockets of one ring advanced
 * through that step per second (the scalars step reads only the chunk
 * partials, so its rate is high and barely matters); a tick needs
 * all four steps, so its rate is bounded by the harmonic sum of theirs.
 * Printed as ratios to the native baseline measured in the same run.
 */
import { performance } from 'node:perf_hooks';
import { CHUNK } from '../kernels/constants.js';
import { coherenceKernel, partialsKernel, phaseKernel, scalarsKernel } from '../kernels/gpujs/phase13.js';
import { gpuFor, input, type Handle, type KernelThis } from '../kernels/gpujs/runtime.js';
import { buildNative, runNative } from './native/baseline.js';

function stencil(this: KernelThis<Record<string, never>>, P: number[]): number {
  const x = this.thread.x;
  return Math.fround(Math.fround(0.5 * Math.fround(P[x]! + P[x + 2]!)) - P[x + 1]!);
}

export async function gpujsCeilingBench(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const N = 1_000_000;
  const T = 20;
  const nc = Math.ceil(N / CHUNK);
  await buildNative();
  const native = await runNative({ pockets: N, ticks: 200, coupling: 0.002 });
  const gpu = gpuFor('webasm');
  const constants = { N, NC: nc, CH: CHUNK };
  const padded = new Float32Array(N + 2).fill(0.1);
  const flat = new Float32Array(N).fill(0.1);
  const S = new Float32Array([0.2, 0.1]);
  const Kc = new Float32Array([0.002]);
  const partialsIn = new Float32Array(4 * nc).fill(1);
  const steps: Array<{ name: string; cells: number; make: () => { run: () => Promise<unknown>; kind: () => string } }> = [
    {
      name: 'trivial 3-point stencil (1D)',
      cells: N,
      make: () => {
        const k = gpu.createKernel(stencil, { output: [N] });
        const p = gpu.createPipeline(function (this: { constants: { T: number } }, P: Handle): Handle[] {
          let r: Handle = P;
          for (let t = 0; t < this.constants.T; t++) r = k(P);
          return [r];
        }, { constants: { T }, threads: true });
        return { run: () => p(padded), kind: () => p.executorKind };
      },
    },
    {
      name: 'phase step (φ′)',
      cells: N,
      make: () => {
        const k = gpu.createKernel(phaseKernel, { output: [N, 1], constants });
        const p = gpu.createPipeline(function (this: { constants: { T: number } }, P: Handle, C: Handle): Handle[] {
          let r: Handle = P;
          for (let t = 0; t < this.constants.T; t++) r = k(P, C);
          return [r];
        }, { constants: { T }, threads: true });
        return { run: () => p(input(flat, [N, 1]), Kc), kind: () => p.executorKind };
      },
    },
    {
      name: 'coherence step (κ′)',
      cells: N,
      make: () => {
        const k = gpu.createKernel(coherenceKernel, { output: [N, 1], constants });
        const p = gpu.createPipeline(function (this: { constants: { T: number } }, K: Handle, S: Handle, C: Handle): Handle[] {
          let r: Handle = K;
          for (let t = 0; t < this.constants.T; t++) r = k(K, S, C);
          return [r];
        }, { constants: { T }, threads: true });
        return { run: () => p(input(flat, [N, 1]), input(S, [2, 1]), Kc), kind: () => p.executorKind };
      },
    },
    {
      name: 'chunk partials step',
      cells: N,
      make: () => {
        const k = gpu.createKernel(partialsKernel, { output: [nc, 1, 4], constants, loopMaxIterations: CHUNK });
        const p = gpu.createPipeline(function (this: { constants: { T: number } }, P: Handle, K: Handle, S: Handle): Handle[] {
          let r: Handle = P;
          for (let t = 0; t < this.constants.T; t++) r = k(P, K, S);
          return [r];
        }, { constants: { T }, threads: true });
        return { run: () => p(input(flat, [N, 1]), input(flat, [N, 1]), input(S, [2, 1])), kind: () => p.executorKind };
      },
    },
    {
      name: 'scalars step',
      cells: N,
      make: () => {
        const k = gpu.createKernel(scalarsKernel, { output: [8, 1], constants, loopMaxIterations: nc + 1 });
        const p = gpu.createPipeline(function (this: { constants: { T: number } }, Pa: Handle, S: Handle): Handle[] {
          let r: Handle = Pa;
          for (let t = 0; t < this.constants.T; t++) r = k(Pa, S);
          return [r];
        }, { constants: { T }, threads: true });
        return { run: () => p(input(partialsIn, [nc, 1, 4]), input(S, [2, 1])), kind: () => p.executorKind };
      },
    },
  ];
  const results: Array<{ step: string; executor: string; cellsPerSecond: number; ratioToNative: number }> = [];
  if (!json) process.stdout.write(`gpu.js webasm ceiling at N=${N.toLocaleString('en')}: native tick ${(native.updatesPerSecond / 1e9).toFixed(3)} G pocket-updates/s\n`);
  let inverse = 0;
  for (const s of steps) {
    const { run, kind } = s.make();
    await run(); // compile
    const t0 = performance.now();
    await run();
    const seconds = (performance.now() - t0) / 1000;
    const rate = (s.cells * T) / seconds;
    if (s.name !== 'trivial 3-point stencil (1D)') inverse += 1 / rate;
    results.push({ step: s.name, executor: kind(), cellsPerSecond: rate, ratioToNative: rate / native.updatesPerSecond });
    if (!json) process.stdout.write(`  ${s.name.padEnd(30)} ${(rate / 1e9).toFixed(3)} G pockets/s  ${(rate / native.updatesPerSecond).toFixed(3)}× native tick  [${kind()}]\n`);
  }
  const bound = 1 / inverse;
  if (!json) process.stdout.write(`  => a full tick on webasm is bounded by ${(bound / 1e9).toFixed(3)} G/s = ${(bound / native.updatesPerSecond).toFixed(3)}× native\n`);
  else process.stdout.write(JSON.stringify({ bench: 'gpujs-ceiling', pockets: N, native: native.updatesPerSecond, steps: results, tickBound: bound }) + '\n');
  await gpu.destroy();
}

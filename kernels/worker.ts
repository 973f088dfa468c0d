/**
 * Pool worker entry (piscina). Views the shared buffers named in a task and
 * runs the requested backend over the task's index range. Kernels are
 * compiled once per worker and cached by shape (see gpujs/runtime.ts).
 */
import { QallowError } from '../runtime/errors.js';
import type { ComputeTask, ProbeResult, RunInfo, TaskReply, TaskResults } from './backend.js';
import { runPhase12Strands } from './js/phase12.js';
import { runPhase13Rings } from './js/phase13.js';
import { runPhase13RingsWasm } from './wasm/phase13.js';
import { runGangMember } from './gang.js';
import { RowBlock } from './rows.js';
import { Phase12State, Phase13State } from './state.js';
import type { GpuMode } from './gpujs/runtime.js';

type Value = TaskResults[keyof TaskResults];

async function gpuMode(backend: 'webasm' | 'cpu' | 'gpu'): Promise<GpuMode> {
  // (js and wasm never reach here)
  if (backend !== 'gpu') return backend;
  const { default: gpujs } = await import('gpu.js');
  if (await gpujs.GPU.isWebGPUAvailable()) return 'gpu';
  if (gpujs.GPU.isHeadlessGLSupported) return 'gpu';
  throw new QallowError('BACKEND_UNAVAILABLE', 'backend "gpu" is unavailable: no WebGPU adapter and no headless GL on this host; use --backend webasm or auto', {
    backend,
  });
}

async function probe(backend: ComputeTask & { type: 'probe' }): Promise<ProbeResult> {
  if (backend.backend === 'js') return { available: true, executor: 'js', reason: null };
  if (backend.backend === 'wasm') {
    try {
      const state = Phase13State.allocate({ pockets: 8, rings: 1, couplings: [0.001] });
      runPhase13RingsWasm(state, 0, 1, 1, RowBlock.allocate(1, 1), 0);
      return { available: true, executor: 'wasm', reason: null };
    } catch (e) {
      return { available: false, executor: 'none', reason: `the wasm kernel does not load here: ${e instanceof Error ? e.message : String(e)}` };
    }
  }
  try {
    const mode = await gpuMode(backend.backend);
    // Run a real two-ring kernel and report what gpu.js actually executed.
    const state = Phase13State.allocate({ pockets: 8, rings: 2, couplings: [0.001, 0.002] });
    const rows = RowBlock.allocate(1, 2);
    const { runPhase13RingsGpu } = await import('./gpujs/phase13.js');
    const info = await runPhase13RingsGpu(mode, state, 0, 2, 1, rows, 0, false);
    const executor = `${info.backend ?? mode}/${info.executor}`;
    const expected = backend.backend === 'gpu' ? null : backend.backend;
    if (expected !== null && info.backend !== expected) {
      return { available: false, executor, reason: `gpu.js ran ${info.backend ?? 'nothing'} instead of ${expected}: ${info.fallbackReason ?? 'no reason given'}` };
    }
    return { available: true, executor, reason: info.fallbackReason };
  } catch (e) {
    return { available: false, executor: 'none', reason: e instanceof Error ? e.message : String(e) };
  }
}

async function execute(task: ComputeTask): Promise<Value> {
  switch (task.type) {
    case 'phase13.rings': {
      const state = Phase13State.attach(task.state);
      const rows = RowBlock.attach(task.rows);
      if (task.backend === 'js') {
        runPhase13Rings(state, task.r0, task.r1, task.ticks, rows, task.rowTick0);
        return { executor: 'js', fallbackReason: null } satisfies RunInfo;
      }
      if (task.backend === 'wasm') {
        runPhase13RingsWasm(state, task.r0, task.r1, task.ticks, rows, task.rowTick0);
        return { executor: 'wasm', fallbackReason: null } satisfies RunInfo;
      }
      const { runPhase13RingsGpu } = await import('./gpujs/phase13.js');
      const info = await runPhase13RingsGpu(await gpuMode(task.backend), state, task.r0, task.r1, task.ticks, rows, task.rowTick0, task.kernelThreads);
      return { executor: `${info.backend ?? task.backend}/${info.executor}`, fallbackReason: info.fallbackReason } satisfies RunInfo;
    }
    case 'phase13.gang': {
      runGangMember(Phase13State.attach(task.state), RowBlock.attach(task.rows), task.control, task);
      return null;
    }
    case 'phase12.strands': {
      const state = Phase12State.attach(task.state);
      const rows = RowBlock.attach(task.rows);
      if (task.backend === 'js' || task.backend === 'wasm') {
        // Phase 12 is three scalars per strand: the wasm backend has no kernel
        // of its own for it and runs the js reference, and says so.
        runPhase12Strands(state, task.s0, task.s1, task.ticks, rows, task.rowTick0);
        return { executor: task.backend === 'wasm' ? 'js (phase 12 has no wasm kernel)' : 'js', fallbackReason: null } satisfies RunInfo;
      }
      const { runPhase12StrandsGpu } = await import('./gpujs/phase12.js');
      const mode = await gpuMode(task.backend);
      await runPhase12StrandsGpu(mode, state, task.s0, task.s1, task.ticks, rows, task.rowTick0);
      return { executor: `${task.backend}`, fallbackReason: null } satisfies RunInfo;
    }
    case 'probe':
      return probe(task);
    case 'fault':
      if (task.kind === 'exit') process.exit(70);
      throw new QallowError('TASK_FAILED', 'injected kernel fault', { kind: task.kind });
  }
}

export default async function run(task: ComputeTask): Promise<TaskReply<Value>> {
  try {
    return { ok: true, value: await execute(task) };
  } catch (e) {
    const err =
      e instanceof QallowError
        ? e
        : new QallowError('TASK_FAILED', `${task.type} task failed: ${e instanceof Error ? e.message : String(e)}`, { task: task.type });
    return { ok: false, error: err.toJSON() };
  }
}

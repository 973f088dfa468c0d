/**
 * Kernel backends and the task protocol between the coordinator and the
 * pool's workers. A task names a backend, carries descriptors of shared
 * buffers (never the data) and an index range; the reply is a tagged result
 * so a typed QallowError survives the thread hop intact.
 */
import type { SerializedError } from '../runtime/errors.js';
import type { RowBlockDescriptor } from './rows.js';
import type { Phase12Descriptor, Phase13Descriptor } from './state.js';

/** Concrete backends. `js` is the plain TypeScript float32 reference. */
export const BACKENDS = ['js', 'wasm', 'webasm', 'cpu', 'gpu'] as const;
export type BackendId = (typeof BACKENDS)[number];
export type BackendRequest = BackendId | 'auto';

/** Backends whose output is bit-exact against the golden vectors (tested). */
export const EXACT_BACKENDS: readonly BackendId[] = ['js', 'wasm', 'webasm', 'cpu'];

/** Backends that run phase 13 in place on the shared state and can split a tick's chunks across threads. */
export const SLICE_BACKENDS: readonly BackendId[] = ['js', 'wasm'];

export function isBackendRequest(v: string): v is BackendRequest {
  return v === 'auto' || (BACKENDS as readonly string[]).includes(v);
}

export interface Phase13RingsTask {
  readonly type: 'phase13.rings';
  readonly backend: BackendId;
  readonly state: Phase13Descriptor;
  readonly rows: RowBlockDescriptor;
  readonly r0: number;
  readonly r1: number;
  readonly ticks: number;
  readonly rowTick0: number;
  /** Let a gpu.js pipeline use its own wasm threads (only when this task has the pool to itself). */
  readonly kernelThreads: boolean;
}

/** One member of a gang running a whole epoch over (ring, chunk range) items (see gang.ts). */
export interface Phase13GangTask {
  readonly type: 'phase13.gang';
  readonly backend: 'js' | 'wasm';
  readonly state: Phase13Descriptor;
  readonly rows: RowBlockDescriptor;
  readonly control: SharedArrayBuffer;
  readonly member: number;
  readonly members: number;
  /** Flat [ring, c0, c1, ...] triples. */
  readonly items: readonly number[];
  readonly ticks: number;
  readonly rowTick0: number;
}

export interface Phase12StrandsTask {
  readonly type: 'phase12.strands';
  readonly backend: BackendId;
  readonly state: Phase12Descriptor;
  readonly rows: RowBlockDescriptor;
  readonly s0: number;
  readonly s1: number;
  readonly ticks: number;
  readonly rowTick0: number;
}

/** Is a backend usable in this worker, and what does it really run on? */
export interface ProbeTask {
  readonly type: 'probe';
  readonly backend: BackendId;
}

/** Operator fault injection and crash tests: fail the way a broken kernel would. */
export interface FaultTask {
  readonly type: 'fault';
  readonly kind: 'throw' | 'exit';
}

export type ComputeTask = Phase13RingsTask | Phase13GangTask | Phase12StrandsTask | ProbeTask | FaultTask;

export interface RunInfo {
  /** What executed: e.g. 'js', 'webasm/fused-sync', 'cpu/generic'. */
  readonly executor: string;
  /** Why gpu.js declined its fused executor or fell back, if it did. */
  readonly fallbackReason: string | null;
}

export interface ProbeResult {
  readonly available: boolean;
  readonly executor: string;
  readonly reason: string | null;
}

export interface TaskResults {
  'phase13.rings': RunInfo;
  'phase13.gang': null;
  'phase12.strands': RunInfo;
  probe: ProbeResult;
  fault: null;
}

export type TaskResult<T extends ComputeTask> = TaskResults[T['type']];

export type TaskReply<V> = { readonly ok: true; readonly value: V } | { readonly ok: false; readonly error: SerializedError };

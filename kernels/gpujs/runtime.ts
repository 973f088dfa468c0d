/**
 * Shared gpu.js plumbing for the kernel programs: one GPU instance per mode
 * per worker, pipelines compiled once per shape and reused, and the block
 * decomposition that keeps the number of distinct compiled plans small.
 *
 * Why blocks: tracing and compiling a webasm pipeline costs ≈2 ms per tick
 * step, so a plan that unrolled a whole 1000-tick epoch would cost seconds
 * per new shape. Epochs are instead run as blocks of BLOCK ticks, then the
 * remainder in power-of-two blocks, so a shape needs at most log2(BLOCK)+1
 * plans, and state is copied into wasm memory once per block, never per tick.
 */
import gpujs from 'gpu.js';

export type GpuMode = 'webasm' | 'cpu' | 'gpu';

/*
 * A typed facade over the part of gpu.js we use. gpu.js's own typings lag its
 * API (no `loopMaxIterations`, no `input`, `any` pipeline handles), so the
 * casts live here, once, and kernel code stays typed.
 */
export interface KernelThis<C> {
  readonly thread: { readonly x: number; readonly y: number; readonly z: number };
  readonly constants: C;
}
export interface KernelSettings {
  output: number[];
  constants?: Record<string, number>;
  loopMaxIterations?: number;
}
export interface Kernel {
  (...args: unknown[]): unknown;
  destroy(): void;
}
export interface Pipeline {
  (...args: unknown[]): Promise<unknown>;
  readonly executorKind: string;
  readonly backend: string | null;
  readonly fallbackReason: string | null;
  destroy(): Promise<void>;
}
/** Pipeline handles are opaque: they may only be passed to kernels or returned. */
export type Handle = unknown;
export interface Gpu {
  createKernel<C>(fn: (this: KernelThis<C>, ...args: never[]) => number, settings: KernelSettings): Kernel;
  createPipeline<C>(
    fn: (this: { constants: C }, ...args: Handle[]) => Handle[],
    settings: { constants: C; threads: boolean },
  ): Pipeline;
  destroy(): Promise<void>;
}

export function input(values: Float32Array, dims: number[]): unknown {
  return (gpujs as unknown as { input: (v: Float32Array, d: number[]) => unknown }).input(values, dims);
}

export const BLOCK = 32;

const gpus = new Map<GpuMode, Gpu>();

export function gpuFor(mode: GpuMode): Gpu {
  let g = gpus.get(mode);
  if (!g) {
    // 'gpu' lets gpu.js pick its best GL backend; callers check what ran.
    g = new gpujs.GPU({ mode }) as unknown as Gpu;
    gpus.set(mode, g);
  }
  return g;
}

/** Split `ticks` into BLOCK-sized blocks, then power-of-two remainders. */
export function blocks(ticks: number): number[] {
  const out: number[] = [];
  let left = ticks;
  while (left >= BLOCK) {
    out.push(BLOCK);
    left -= BLOCK;
  }
  for (let b = BLOCK >> 1; b >= 1; b >>= 1) {
    if (left >= b) {
      out.push(b);
      left -= b;
    }
  }
  return out;
}

/** A small LRU of compiled pipelines, destroyed on eviction. */
export class PlanCache<P> {
  private readonly plans = new Map<string, P>();
  constructor(
    private readonly capacity: number,
    private readonly dispose: (p: P) => void,
  ) {}

  get(key: string, build: () => P): P {
    const hit = this.plans.get(key);
    if (hit !== undefined) {
      this.plans.delete(key);
      this.plans.set(key, hit);
      return hit;
    }
    const p = build();
    this.plans.set(key, p);
    while (this.plans.size > this.capacity) {
      const [oldKey, old] = this.plans.entries().next().value as [string, P];
      this.plans.delete(oldKey);
      this.dispose(old);
    }
    return p;
  }
}

export function disposePipeline(p: Pipeline): void {
  void p.destroy().catch(() => undefined);
}

/** Copy a gpu.js result (flat or nested rows) into `dst` at `offset`. */
export function copyResult(result: unknown, dst: Float32Array, offset = 0): number {
  if (result instanceof Float32Array) {
    dst.set(result, offset);
    return offset + result.length;
  }
  if (Array.isArray(result)) {
    let o = offset;
    for (const part of result) o = copyResult(part, dst, o);
    return o;
  }
  throw new TypeError(`unexpected gpu.js result of type ${Object.prototype.toString.call(result)}`);
}

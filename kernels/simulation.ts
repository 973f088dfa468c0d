/**
 * Coordinators that advance a phase by an epoch of ticks through the pool and
 * return the epoch's per-tick rows. A phase actor holds one of these per run:
 * one call per epoch, many ticks per call.
 *
 * Work split (the result never depends on it, SPEC §1):
 * - rings (or strands) are split into contiguous groups, one task per group,
 *   each task running every tick of the epoch with no per-tick round trip;
 * - when there are fewer rings than threads and the rings are large, the js
 *   and wasm backends instead splits each tick's chunks across the threads ("slice"
 *   mode): workers write chunk partials into shared memory and the
 *   coordinator adds them in chunk order. One dispatch per tick costs
 *   ≈0.1 ms against ≈10 ms of work per tick at N = 1M, so the per-tick
 *   barrier is cheap where it is used;
 * - a gpu.js backend with a single group lets gpu.js use its own wasm
 *   threads for that group instead.
 */
import { CHUNK } from './constants.js';
import { SLICE_BACKENDS, type BackendId, type RunInfo } from './backend.js';
import { abortGang, newGangControl } from './gang.js';
import { initPhase13 } from './js/phase13.js';
import type { Phase12Params, Phase13Params } from './params.js';
import type { ComputePool } from './pool.js';
import { RowBlock } from './rows.js';
import { Phase12State, Phase13State } from './state.js';

/** Below this many pockets per ring a tick is too short to split across threads. */
export const SLICE_MIN_POCKETS = 4 * CHUNK;

/** Split [0, n) into at most `parts` contiguous, balanced ranges. */
export function splitRange(n: number, parts: number): Array<[number, number]> {
  const p = Math.max(1, Math.min(parts, n));
  const out: Array<[number, number]> = [];
  for (let i = 0; i < p; i++) out.push([Math.floor((i * n) / p), Math.floor(((i + 1) * n) / p)]);
  return out;
}

export class Phase13Simulation {
  readonly state: Phase13State;
  lastRun: RunInfo = { executor: 'none', fallbackReason: null };

  private constructor(
    private readonly pool: ComputePool,
    readonly params: Phase13Params,
    readonly backend: BackendId,
    state: Phase13State,
  ) {
    this.state = state;
  }

  static create(pool: ComputePool, params: Phase13Params, backend: BackendId): Phase13Simulation {
    const state = Phase13State.allocate(params);
    initPhase13(state);
    return new Phase13Simulation(pool, params, backend, state);
  }

  /** Resume from an existing state (a restored checkpoint). */
  static resume(pool: ComputePool, params: Phase13Params, backend: BackendId, state: Phase13State): Phase13Simulation {
    return new Phase13Simulation(pool, params, backend, state);
  }

  get tick(): number {
    return this.state.tick;
  }

  /** Whether an epoch will split ticks across threads (js, few large rings). */
  get sliced(): boolean {
    const s = this.state;
    return SLICE_BACKENDS.includes(this.backend) && this.pool.threads > 1 && s.rings < this.pool.threads && s.pockets >= SLICE_MIN_POCKETS;
  }

  async runEpoch(ticks: number): Promise<RowBlock> {
    const s = this.state;
    const rows = RowBlock.allocate(ticks, s.rings);
    if (this.sliced) {
      await this.runSliced(ticks, rows);
      this.lastRun = { executor: `${this.backend}/sliced×${this.pool.threads}`, fallbackReason: null };
      return rows;
    }
    const groups = splitRange(s.rings, this.pool.threads);
    const kernelThreads = groups.length === 1 && this.pool.threads > 1;
    const infos = await Promise.all(
      groups.map(([r0, r1]) =>
        this.pool.run({ type: 'phase13.rings', backend: this.backend, state: s.descriptor, rows: rows.descriptor, r0, r1, ticks, rowTick0: 0, kernelThreads }),
      ),
    );
    s.advance(ticks);
    this.lastRun = infos[0]!;
    return rows;
  }

  private async runSliced(ticks: number, rows: RowBlock): Promise<void> {
    const s = this.state;
    const chunks = s.chunks;
    const backend = this.backend === 'wasm' ? 'wasm' : 'js';
    // Flatten (ring, chunk) and cut into one contiguous range per thread.
    const ranges = splitRange(s.rings * chunks, this.pool.threads).map(([a, b]) => {
      const items: number[] = [];
      for (let x = a; x < b; ) {
        const ring = Math.floor(x / chunks);
        const c0 = x - ring * chunks;
        const c1 = Math.min(chunks, c0 + (b - x));
        items.push(ring, c0, c1);
        x += c1 - c0;
      }
      return items;
    });
    const control = newGangControl();
    await this.pool.runGang(
      ranges.map((items, member) => ({
        type: 'phase13.gang' as const, backend, state: s.descriptor, rows: rows.descriptor, control,
        member, members: ranges.length, items, ticks, rowTick0: 0,
      })),
      () => abortGang(control),
    );
    s.advance(ticks);
  }
}

export class Phase12Simulation {
  readonly state: Phase12State;
  lastRun: RunInfo = { executor: 'none', fallbackReason: null };

  private constructor(
    private readonly pool: ComputePool,
    readonly params: Phase12Params,
    readonly backend: BackendId,
    state: Phase12State,
  ) {
    this.state = state;
  }

  static create(pool: ComputePool, params: Phase12Params, backend: BackendId): Phase12Simulation {
    return new Phase12Simulation(pool, params, backend, Phase12State.allocate(params));
  }

  static resume(pool: ComputePool, params: Phase12Params, backend: BackendId, state: Phase12State): Phase12Simulation {
    return new Phase12Simulation(pool, params, backend, state);
  }

  get tick(): number {
    return this.state.tick;
  }

  async runEpoch(ticks: number): Promise<RowBlock> {
    const s = this.state;
    const rows = RowBlock.allocate(ticks, s.strands);
    const infos = await Promise.all(
      splitRange(s.strands, this.pool.threads).map(([s0, s1]) =>
        this.pool.run({ type: 'phase12.strands', backend: this.backend, state: s.descriptor, rows: rows.descriptor, s0, s1, ticks, rowTick0: 0 }),
      ),
    );
    s.advance(ticks);
    this.lastRun = infos[0]!;
    return rows;
  }
}

/**
 * Gang execution of one epoch of a sliced phase-13 run: every pool thread
 * runs one member task for the whole epoch, each member owning a fixed range
 * of (ring, chunk) items, and the members meet at a barrier in shared memory
 * twice per tick instead of returning to the coordinator:
 *
 *   1. every member computes its chunks of tick t (new phases, coherences,
 *      chunk partials) from the tick's mean and bias;
 *   2. barrier — all partials of tick t are written;
 *   3. member 0 adds the partials in chunk order (SPEC §1), updates each
 *      ring's mean and drift history and writes the tick's rows;
 *   4. barrier — the new mean and history are visible to every member.
 *
 * Measured on 2 cores at N = 1M, dispatching a task pair per tick cost
 * ≈0.2 ms of a ≈1 ms tick; two barriers cost a few µs. The barrier spins
 * briefly (the partner is usually microseconds away) and then sleeps with
 * Atomics.wait, waking every 100 ms to notice an abort: if any member fails,
 * the coordinator raises the abort flag and the others throw instead of
 * waiting forever. The pool runs one gang at a time (ComputePool.runGang), so
 * two gangs can never each hold half the threads and wait for the other.
 */
import { QallowError } from '../runtime/errors.js';
import { bias, phase13Chunks, phase13Finish } from './js/phase13.js';
import type { RowBlock } from './rows.js';
import type { Phase13State } from './state.js';
import { phase13ChunksWasm } from './wasm/phase13.js';

/** Int32 slots of the gang control buffer. */
const ARRIVED = 0;
const GENERATION = 1;
const ABORT = 2;
export const GANG_CONTROL_BYTES = 16;

const SPINS = 20_000;
const WAIT_MS = 100;

export function newGangControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(GANG_CONTROL_BYTES);
}

export function abortGang(control: SharedArrayBuffer): void {
  const ctl = new Int32Array(control);
  Atomics.store(ctl, ABORT, 1);
  Atomics.add(ctl, GENERATION, 1);
  Atomics.notify(ctl, GENERATION);
}

function aborted(): QallowError {
  return new QallowError('TASK_FAILED', 'gang aborted: another member of this epoch failed', { task: 'phase13.gang' });
}

/** Wait until all `members` have arrived. */
export function barrier(ctl: Int32Array, members: number): void {
  const gen = Atomics.load(ctl, GENERATION);
  if (Atomics.load(ctl, ABORT) !== 0) throw aborted();
  if (Atomics.add(ctl, ARRIVED, 1) === members - 1) {
    Atomics.store(ctl, ARRIVED, 0);
    Atomics.add(ctl, GENERATION, 1);
    Atomics.notify(ctl, GENERATION);
    return;
  }
  for (let i = 0; i < SPINS; i++) {
    if (Atomics.load(ctl, GENERATION) !== gen) break;
  }
  while (Atomics.load(ctl, GENERATION) === gen) Atomics.wait(ctl, GENERATION, gen, WAIT_MS);
  if (Atomics.load(ctl, ABORT) !== 0) throw aborted();
}

export interface GangMember {
  readonly backend: 'js' | 'wasm';
  readonly member: number;
  readonly members: number;
  /** Flat [ring, c0, c1, ...] triples owned by this member. */
  readonly items: readonly number[];
  readonly ticks: number;
  readonly rowTick0: number;
}

/** One member's share of an epoch (runs inside a pool worker). */
export function runGangMember(state: Phase13State, rows: RowBlock, control: SharedArrayBuffer, m: GangMember): void {
  const ctl = new Int32Array(control);
  const nc = state.chunks;
  const par0 = state.parity;
  let wasmFn: Parameters<typeof phase13ChunksWasm>[1];
  for (let t = 0; t < m.ticks; t++) {
    const par = (par0 ^ (t & 1)) as 0 | 1;
    for (let i = 0; i < m.items.length; i += 3) {
      const ring = m.items[i]!;
      const c0 = m.items[i + 1]!;
      const c1 = m.items[i + 2]!;
      const k = state.coupling[ring]!;
      const mean = state.mean[ring]!;
      const b = bias(k, state.history[ring]!);
      if (m.backend === 'wasm') {
        wasmFn = phase13ChunksWasm(state, wasmFn, ring, c0, c1, mean, b, par);
      } else {
        const base = ring * state.pockets;
        phase13Chunks(
          state.phase[par], state.coherence[par], state.phase[par ^ 1], state.coherence[par ^ 1],
          base, state.pockets, c0, c1, k, mean, b,
          state.partials.subarray(ring * nc * 4, (ring + 1) * nc * 4),
        );
      }
    }
    barrier(ctl, m.members);
    if (m.member === 0) {
      for (let r = 0; r < state.rings; r++) {
        phase13Finish(state, r, state.partials.subarray(r * nc * 4, (r + 1) * nc * 4), nc, rows.values, rows.offset(m.rowTick0 + t, r));
      }
    }
    barrier(ctl, m.members);
  }
}

/**
 * A phase's state as plain, owned data (a snapshot), the canonical bytes of
 * that state, and its hash (SPEC §4: `stateHash` is SHA-256 over the state's
 * canonical bytes: typed arrays, parameters, backend id).
 *
 * What a snapshot holds is exactly what the next tick reads:
 * - phase 13: the current half of phase and coherence (the other half is
 *   overwritten before it is read), drift history, mean phase and coupling
 *   per ring. `partials` is per-tick scratch and is left out. `coupling` is
 *   the live per-ring value, which adaptations change; `params.couplings`
 *   stays what the run was started with.
 * - phase 12: entropy, decoherence, stretch per strand.
 * Take a snapshot between epochs, never while the pool is writing the state.
 *
 * Canonical layout (primitives as in bytes.ts: u32/f64 little-endian, str =
 * u32 length ‖ UTF-8, f64s/f32s = u32 count ‖ values):
 *
 *   str("qallow/state/v1")
 *   str(phase)                         "phase12" | "phase13"
 *   str(backend)                       BackendId
 *   u32 paramCount, then per parameter str(name) ‖ value, in this order:
 *     phase12: "ticks" u32, "eps" f64s
 *     phase13: "ticks" u32, "pockets" u32, "rings" u32, "couplings" f64s, "reference" u8 (0|1)
 *   u32 tick
 *   u32 arrayCount, then per array str(name) ‖ f32s(values), in this order:
 *     phase12: "values"  (3 × strands: entropy, decoherence, stretch)
 *     phase13: "phase", "coherence" (rings × pockets), "history", "mean", "coupling" (rings)
 *
 * Float arrays are hashed bit for bit (NaN payloads and -0 included), so a
 * diverged state hashes as faithfully as a finite one.
 */
import type { BackendId } from '../../kernels/backend.js';
import type { Phase12Params, Phase13Params } from '../../kernels/params.js';
import { Phase12State, Phase13State } from '../../kernels/state.js';
import { QallowError } from '../errors.js';
import { collect, sha256Hex, type LayoutWriter } from './bytes.js';
import { MAX_TICK, isBackendId, paramsProblem, show } from './validate.js';

export const STATE_PURPOSE = 'qallow/state/v1';

export interface Phase12Arrays {
  /** Per strand: entropy, decoherence, stretch. */
  readonly values: Float32Array;
}

export interface Phase13Arrays {
  /** Current half, rings × pockets. */
  readonly phase: Float32Array;
  readonly coherence: Float32Array;
  /** Per ring. */
  readonly history: Float32Array;
  readonly mean: Float32Array;
  readonly coupling: Float32Array;
}

export interface Phase12Snapshot {
  readonly phase: 'phase12';
  readonly params: Phase12Params;
  readonly backend: BackendId;
  readonly tick: number;
  readonly arrays: Phase12Arrays;
}

export interface Phase13Snapshot {
  readonly phase: 'phase13';
  readonly params: Phase13Params;
  readonly backend: BackendId;
  readonly tick: number;
  readonly arrays: Phase13Arrays;
}

export type StateSnapshot = Phase12Snapshot | Phase13Snapshot;

/** Array names per phase, in canonical order. */
export const SNAPSHOT_ARRAYS = {
  phase12: ['values'],
  phase13: ['phase', 'coherence', 'history', 'mean', 'coupling'],
} as const satisfies { phase12: ReadonlyArray<keyof Phase12Arrays>; phase13: ReadonlyArray<keyof Phase13Arrays> };

/** Expected length of each array of a snapshot, from its parameters. */
function expectedLengths(s: StateSnapshot): Record<string, number> {
  if (s.phase === 'phase12') return { values: 3 * s.params.eps.length };
  const n = s.params.pockets * s.params.rings;
  const r = s.params.rings;
  return { phase: n, coherence: n, history: r, mean: r, coupling: r };
}

/** What is inconsistent in a snapshot (naming the field), or null. */
export function snapshotProblem(s: StateSnapshot): string | null {
  if (s.phase !== 'phase12' && s.phase !== 'phase13') return `phase must be "phase12" or "phase13" (got ${show((s as { phase: unknown }).phase)})`;
  const pp = paramsProblem(s.params);
  if (pp) return pp;
  if (s.params.phase !== s.phase) return `params.phase is ${show(s.params.phase)} but the snapshot is ${s.phase}`;
  if (!isBackendId(s.backend)) return `backend must be a known backend id (got ${show(s.backend)})`;
  if (!Number.isInteger(s.tick) || s.tick < 0 || s.tick > MAX_TICK) return `tick must be an integer from 0 to ${MAX_TICK} (got ${show(s.tick)})`;
  if (typeof s.arrays !== 'object' || s.arrays === null) return `arrays must be an object (got ${show(s.arrays)})`;
  const lengths = expectedLengths(s);
  const names: readonly string[] = SNAPSHOT_ARRAYS[s.phase];
  for (const name of Object.keys(s.arrays)) {
    if (!names.includes(name)) return `arrays.${name} is not part of a ${s.phase} state`;
  }
  for (const name of names) {
    const a = (s.arrays as unknown as Record<string, unknown>)[name];
    if (!(a instanceof Float32Array)) return `arrays.${name} must be a Float32Array (got ${show(a)})`;
    if (a.length !== lengths[name]) return `arrays.${name} must have ${lengths[name]} values for these params (got ${a.length})`;
  }
  return null;
}

function assertSnapshot(s: StateSnapshot, code: 'BAD_PARAMETER' | 'CHECKPOINT_CORRUPT'): void {
  const problem = snapshotProblem(s);
  if (problem) throw new QallowError(code, `state snapshot: ${problem}`, { problem });
}

function shapeMismatch(what: string, state: number, params: number): QallowError {
  return new QallowError('BAD_PARAMETER', `state has ${state} ${what} but params say ${params}; snapshot a state with the params it was allocated from`, {
    param: what,
  });
}

export function snapshotPhase13(state: Phase13State, params: Phase13Params, backend: BackendId): Phase13Snapshot {
  if (state.pockets !== params.pockets) throw shapeMismatch('pockets', state.pockets, params.pockets);
  if (state.rings !== params.rings) throw shapeMismatch('rings', state.rings, params.rings);
  const p = state.parity;
  // slice() copies into an ordinary ArrayBuffer, byte for byte (same element type).
  const s: Phase13Snapshot = {
    phase: 'phase13',
    params,
    backend,
    tick: state.tick,
    arrays: {
      phase: state.phase[p].slice(),
      coherence: state.coherence[p].slice(),
      history: state.history.slice(),
      mean: state.mean.slice(),
      coupling: state.coupling.slice(),
    },
  };
  assertSnapshot(s, 'BAD_PARAMETER');
  return s;
}

/** A fresh state holding the snapshot, current half at parity 0. */
export function restorePhase13(s: StateSnapshot): Phase13State {
  assertSnapshot(s, 'CHECKPOINT_CORRUPT');
  if (s.phase !== 'phase13') throw new QallowError('BAD_PARAMETER', `cannot restore a ${s.phase} snapshot as a phase13 state`, { param: 'phase' });
  const state = Phase13State.allocate(s.params);
  state.phase[0].set(s.arrays.phase);
  state.coherence[0].set(s.arrays.coherence);
  state.history.set(s.arrays.history);
  state.mean.set(s.arrays.mean);
  state.coupling.set(s.arrays.coupling);
  // Not advance(): that flips parity. The restored current half is half 0.
  state.header[0] = s.tick;
  state.header[1] = 0;
  return state;
}

export function snapshotPhase12(state: Phase12State, params: Phase12Params, backend: BackendId): Phase12Snapshot {
  if (state.strands !== params.eps.length) throw shapeMismatch('strands', state.strands, params.eps.length);
  const s: Phase12Snapshot = { phase: 'phase12', params, backend, tick: state.tick, arrays: { values: state.values.slice() } };
  assertSnapshot(s, 'BAD_PARAMETER');
  return s;
}

export function restorePhase12(s: StateSnapshot): Phase12State {
  assertSnapshot(s, 'CHECKPOINT_CORRUPT');
  if (s.phase !== 'phase12') throw new QallowError('BAD_PARAMETER', `cannot restore a ${s.phase} snapshot as a phase12 state`, { param: 'phase' });
  const state = Phase12State.allocate(s.params);
  state.values.set(s.arrays.values);
  state.header[0] = s.tick;
  return state;
}

function writeState(s: StateSnapshot, w: LayoutWriter): void {
  w.str(STATE_PURPOSE);
  w.str(s.phase);
  w.str(s.backend);
  if (s.phase === 'phase12') {
    w.u32(2);
    w.str('ticks');
    w.u32(s.params.ticks);
    w.str('eps');
    w.f64s(s.params.eps);
  } else {
    w.u32(5);
    w.str('ticks');
    w.u32(s.params.ticks);
    w.str('pockets');
    w.u32(s.params.pockets);
    w.str('rings');
    w.u32(s.params.rings);
    w.str('couplings');
    w.f64s(s.params.couplings);
    w.str('reference');
    w.u8(s.params.reference ? 1 : 0);
  }
  w.u32(s.tick);
  const names: readonly string[] = SNAPSHOT_ARRAYS[s.phase];
  const arrays = s.arrays as unknown as Record<string, Float32Array>;
  w.u32(names.length);
  for (const name of names) {
    w.str(name);
    w.f32s(arrays[name]!);
  }
}

/** The canonical bytes of a state (layout above). Throws BAD_PARAMETER for an inconsistent snapshot. */
export function canonicalStateBytes(s: StateSnapshot): Uint8Array {
  assertSnapshot(s, 'BAD_PARAMETER');
  return collect((w) => writeState(s, w));
}

/** Hex SHA-256 of `canonicalStateBytes(s)`, streamed (no second copy of the state). */
export function stateHash(s: StateSnapshot): string {
  assertSnapshot(s, 'BAD_PARAMETER');
  return sha256Hex((w) => writeState(s, w));
}

/**
 * State snapshots: canonical bytes and hash, and the round trip that replay
 * and crash restart rely on — snapshot → (store encoding) → restore → go on
 * computing gives the same rows, bit for bit, as going on from the original.
 */
import { createHash } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { phase12Params, phase13Params } from '../kernels/params.js';
import { ComputePool } from '../kernels/pool.js';
import type { RowBlock } from '../kernels/rows.js';
import { Phase12Simulation, Phase13Simulation, SLICE_MIN_POCKETS } from '../kernels/simulation.js';
import { Phase13State } from '../kernels/state.js';
import { isQallowError } from '../runtime/errors.js';
import { decodeSnapshot, encodeSnapshot } from '../runtime/store/codec.js';
import {
  STATE_PURPOSE,
  canonicalStateBytes,
  restorePhase12,
  restorePhase13,
  snapshotPhase12,
  snapshotPhase13,
  stateHash,
  type Phase13Snapshot,
  type StateSnapshot,
} from '../runtime/store/snapshot.js';
import { phase12Snapshot, phase13Snapshot } from './fixtures/store-fixtures.js';

function bytesOf(rows: RowBlock): Buffer {
  return Buffer.from(rows.values.buffer, rows.values.byteOffset, rows.values.byteLength);
}

function sameBytes(t: ExecutionContext, a: Uint8Array, b: Uint8Array, message?: string): void {
  t.true(Buffer.from(a).equals(Buffer.from(b)), message);
}

/** Through the storage encoding too, as a restart does. */
const throughStore = (s: StateSnapshot): StateSnapshot => decodeSnapshot(encodeSnapshot(s));

test('canonical bytes start with the purpose prefix and hash to stateHash', (t) => {
  for (const s of [phase12Snapshot(7), phase13Snapshot(7)]) {
    const bytes = canonicalStateBytes(s);
    const prefix = Buffer.from(STATE_PURPOSE);
    t.is(new DataView(bytes.buffer).getUint32(0, true), prefix.length);
    sameBytes(t, bytes.subarray(4, 4 + prefix.length), prefix);
    t.is(stateHash(s), createHash('sha256').update(bytes).digest('hex'));
    t.regex(stateHash(s), /^[0-9a-f]{64}$/);
  }
});

test('the phase 12 layout is exactly as documented', (t) => {
  const s = phase12Snapshot(42, 3, 1);
  const parts: Buffer[] = [];
  const u32 = (v: number): void => void parts.push(Buffer.from(new Uint32Array([v]).buffer));
  const str = (v: string): void => {
    u32(Buffer.byteLength(v));
    parts.push(Buffer.from(v));
  };
  str('qallow/state/v1');
  str('phase12');
  str('js');
  u32(2);
  str('ticks');
  u32(s.params.ticks);
  str('eps');
  u32(1);
  parts.push(Buffer.from(new Float64Array(s.params.eps).buffer));
  u32(42);
  u32(1);
  str('values');
  u32(3);
  parts.push(Buffer.from(s.arrays.values.buffer.slice(0)));
  sameBytes(t, canonicalStateBytes(s), Buffer.concat(parts));
});

test('every field of the state changes the hash: backend, tick, each parameter, each array bit (-0 and NaN payloads too)', (t) => {
  const base = phase13Snapshot(10);
  const h = stateHash(base);
  const variants: Array<[string, Phase13Snapshot]> = [
    ['backend', { ...base, backend: 'wasm' }],
    ['tick', { ...base, tick: 11 }],
    ['params.ticks', { ...base, params: { ...base.params, ticks: 1001 } }],
    ['params.couplings', { ...base, params: { ...base.params, couplings: [0.001, 0.002, 0.0030000001] } }],
    ['params.reference', { ...base, params: { ...base.params, reference: true } }],
  ];
  for (const name of ['phase', 'coherence', 'history', 'mean', 'coupling'] as const) {
    for (const [label, bits] of [
      ['low bit', (u: number) => u ^ 1],
      ['sign (0 → -0 style)', (u: number) => u ^ 0x8000_0000],
      ['NaN payload', () => 0x7fc0_0001],
    ] as const) {
      const copy = base.arrays[name].slice();
      const u = new Uint32Array(copy.buffer);
      u[u.length - 1] = bits(u[u.length - 1]!);
      variants.push([`arrays.${name} ${label}`, { ...base, arrays: { ...base.arrays, [name]: copy } }]);
    }
  }
  const seen = new Set([h]);
  for (const [label, v] of variants) {
    const hv = stateHash(v);
    t.not(hv, h, label);
    seen.add(hv);
  }
  t.is(seen.size, variants.length + 1, 'all variants hash differently');
  // +0 and -0 are different states.
  const zero = { ...base, arrays: { ...base.arrays, mean: new Float32Array([0, 0, 0]) } };
  const negZero = { ...base, arrays: { ...base.arrays, mean: new Float32Array([0, -0, 0]) } };
  t.not(stateHash(zero), stateHash(negZero));
});

test('an inconsistent snapshot is refused with the field named', (t) => {
  const s = phase13Snapshot(1);
  const err = t.throws(() => stateHash({ ...s, arrays: { ...s.arrays, history: new Float32Array(2) } }));
  t.true(isQallowError(err, 'BAD_PARAMETER'));
  t.regex(err!.message, /arrays\.history/);
  t.throws(() => stateHash({ ...s, tick: -1 }), { message: /tick/ });
  t.throws(() => stateHash({ ...s, backend: 'abacus' as 'js' }), { message: /backend/ });
  t.throws(() => restorePhase13({ ...s, arrays: { ...s.arrays, phase: new Float32Array(1) } }), { message: /arrays\.phase/ });
  t.true(isQallowError(t.throws(() => restorePhase12(s)), 'BAD_PARAMETER'));
});

test('snapshotPhase13 copies the current half (whichever parity) and owns its arrays', (t) => {
  const params = phase13Params({ pockets: 6, ticks: 10, couplings: [0.001, 0.002] });
  const state = Phase13State.allocate(params);
  state.phase[0].fill(1);
  state.phase[1].fill(2);
  state.coherence[0].fill(3);
  state.coherence[1].fill(4);
  state.advance(3); // parity 1
  const s = snapshotPhase13(state, params, 'js');
  t.is(s.tick, 3);
  t.deepEqual(Array.from(s.arrays.phase), Array(12).fill(2));
  t.deepEqual(Array.from(s.arrays.coherence), Array(12).fill(4));
  state.phase[1].fill(9);
  t.is(s.arrays.phase[0], 2, 'the snapshot does not alias the shared state');
  const restored = restorePhase13(s);
  t.is(restored.tick, 3);
  t.is(restored.parity, 0);
  t.deepEqual(Array.from(restored.phase[0]), Array(12).fill(2));
  t.is(stateHash(snapshotPhase13(restored, params, 'js')), stateHash(s));
  const other = phase13Params({ pockets: 7, ticks: 10, couplings: [0.001, 0.002] });
  t.true(isQallowError(t.throws(() => snapshotPhase13(state, other, 'js')), 'BAD_PARAMETER'));
});

test('phase 13: restore from a snapshot and go on = go on from the original, bit for bit (ring-per-task and sliced modes)', async (t) => {
  const pool = new ComputePool({ threads: 2 });
  pool.start();
  t.teardown(() => pool.stop());
  for (const [pockets, couplings] of [
    [37, [0.001, 0.004, 0.0025]],
    [20_000, [0.002]],
  ] as const) {
    const params = phase13Params({ pockets, ticks: 30, couplings });
    const original = Phase13Simulation.create(pool, params, 'js');
    await original.runEpoch(5); // odd: the current half is B
    const snap = snapshotPhase13(original.state, params, 'js');
    const restored = Phase13Simulation.resume(pool, params, 'js', restorePhase13(throughStore(snap)));
    t.is(original.sliced, pockets >= SLICE_MIN_POCKETS, 'both work splits are covered');
    t.is(restored.sliced, original.sliced);
    t.is(stateHash(snapshotPhase13(restored.state, params, 'js')), stateHash(snap));
    for (const ticks of [7, 4]) {
      const a = await original.runEpoch(ticks);
      const b = await restored.runEpoch(ticks);
      t.true(bytesOf(a).equals(bytesOf(b)), `rows after restore, N=${pockets}, ${ticks} ticks`);
    }
    t.is(restored.tick, 16);
    t.is(stateHash(snapshotPhase13(restored.state, params, 'js')), stateHash(snapshotPhase13(original.state, params, 'js')));
  }
});

test('phase 12: restore from a snapshot and go on = go on from the original, bit for bit', async (t) => {
  const pool = new ComputePool({ threads: 2 });
  pool.start();
  t.teardown(() => pool.stop());
  const params = phase12Params({ ticks: 50, eps: [0.0001, 0.001, 0.01, 0.02] });
  const original = Phase12Simulation.create(pool, params, 'js');
  await original.runEpoch(9);
  const snap = snapshotPhase12(original.state, params, 'js');
  t.is(snap.tick, 9);
  const restored = Phase12Simulation.resume(pool, params, 'js', restorePhase12(throughStore(snap)));
  t.is(stateHash(snapshotPhase12(restored.state, params, 'js')), stateHash(snap));
  const a = await original.runEpoch(11);
  const b = await restored.runEpoch(11);
  t.true(bytesOf(a).equals(bytesOf(b)));
  t.is(stateHash(snapshotPhase12(restored.state, params, 'js')), stateHash(snapshotPhase12(original.state, params, 'js')));
  t.true(isQallowError(t.throws(() => restorePhase13(snap)), 'BAD_PARAMETER'));
});

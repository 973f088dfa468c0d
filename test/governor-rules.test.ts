/**
 * The governor (actors/governor.ts), one test per rule: pure inputs, one
 * action out, and the memory it hands to the next epoch.
 */
import test from 'ava';
import { DEFAULT_GOVERNANCE, afterRollback, carriedOver, divergence, genesisMemory, govern, type GovernorInput, type GovernorMemory, type LaneFigures } from '../actors/governor.js';

/** A healthy failing lane (below the threshold, nothing clamped). */
function lane(over: Partial<LaneFigures> = {}): LaneFigures {
  return { drift: 0.05, total: 2.8, compassion: 0.95, harmony: 0.99, finite: true, pass: false, ...over };
}

function memory(over: Partial<GovernorMemory> = {}): GovernorMemory {
  return {
    lanes: [{ drift: 0.06, total: 2.7 }],
    failingEpochs: 3,
    adaptations: 0,
    lastGood: { epoch: 4, tick: 400, lanes: [{ drift: 0.06, total: 2.7 }] },
    ...over,
  };
}

function input(lanes: LaneFigures[], over: Partial<GovernorInput> = {}): GovernorInput {
  return { phase: 'phase13', epoch: 5, tick: 500, lanes, couplings: lanes.map(() => 0.01), memory: memory(), rule: DEFAULT_GOVERNANCE, ...over };
}

test('passing: continue, the failing streak resets, this epoch becomes the rollback target', (t) => {
  const out = govern(input([lane({ pass: true, total: 2.95 })]));
  t.deepEqual(out.action, { type: 'continue', reason: 'passing' });
  t.is(out.memory.failingEpochs, 0);
  t.deepEqual(out.memory.lastGood, { epoch: 5, tick: 500, lanes: [{ drift: 0.05, total: 2.95 }] });
});

test('converging (failing, total rising): continue, counted as failing', (t) => {
  const out = govern(input([lane({ total: 2.8 })]));
  t.deepEqual(out.action, { type: 'continue', reason: 'converging' });
  t.is(out.memory.failingEpochs, 4);
  t.is(out.memory.lastGood.epoch, 5);
});

test('failing without rising total (and not diverging): continue with reason failing', (t) => {
  const out = govern(input([lane({ total: 2.6 })]));
  t.deepEqual(out.action, { type: 'continue', reason: 'failing' });
});

test('drift rising epoch over epoch: rollback to the last good checkpoint, coupling halved in float32', (t) => {
  const out = govern(input([lane({ drift: 0.07 })]));
  t.is(out.action.type, 'rollback');
  if (out.action.type !== 'rollback') return;
  t.is(out.action.toEpoch, 4);
  t.is(out.action.toTick, 400);
  t.deepEqual(out.action.adaptation, { rings: [0], fromCouplings: [0.01], toCouplings: [Math.fround(0.005)] });
  t.regex(out.action.reason, /ring 0: drift rising/);
  t.is(out.memory.lastGood.epoch, 4, 'a diverging epoch is never a rollback target');
});

test('equal drift (k = 0 keeps it constant) is not rising', (t) => {
  t.is(divergence('phase13', lane({ drift: 0.06 }), { drift: 0.06, total: 2.7 }), null);
  t.is(divergence('phase13', lane({ drift: 0.07 }), undefined), null, 'no previous figure at genesis');
});

test('C clamped to 0 diverges; so does H clamped to 0', (t) => {
  t.is(divergence('phase13', lane({ compassion: 0 }), undefined), 'clamped');
  t.is(divergence('phase13', lane({ harmony: 0 }), undefined), 'clamped');
  const out = govern(input([lane({ compassion: 0, drift: 0.01 })]));
  t.is(out.action.type, 'rollback');
});

test('any non-finite value diverges', (t) => {
  t.is(divergence('phase13', lane({ finite: false }), undefined), 'non-finite');
  const out = govern(input([lane({ finite: false, drift: NaN, total: NaN })]));
  t.is(out.action.type, 'rollback');
});

test('per ring: only the diverging rings are adapted', (t) => {
  const lanes = [lane({ total: 2.8 }), lane({ compassion: 0 }), lane({ total: 2.8 }), lane({ finite: false })];
  const out = govern(input(lanes, {
    couplings: [0.002, 0.01, 0.001, 0.02],
    memory: memory({ lanes: lanes.map(() => ({ drift: 0.06, total: 2.7 })) }),
  }));
  if (out.action.type !== 'rollback') return t.fail(`expected rollback, got ${out.action.type}`);
  t.deepEqual(out.action.adaptation.rings, [1, 3]);
  t.deepEqual(out.action.adaptation.fromCouplings, [0.01, 0.02]);
  t.deepEqual(out.action.adaptation.toCouplings, [Math.fround(0.005), Math.fround(0.01)]);
  t.deepEqual(out.divergence, [null, 'clamped', null, 'non-finite']);
});

test('adaptation factor comes from the rule', (t) => {
  const out = govern(input([lane({ compassion: 0 })], { rule: { ...DEFAULT_GOVERNANCE, adaptationFactor: 0.25 } }));
  if (out.action.type !== 'rollback') return t.fail();
  t.deepEqual(out.action.adaptation.toCouplings, [Math.fround(0.01 * 0.25)]);
});

test('halt: diverging again after maxAdaptations adaptations', (t) => {
  const out = govern(input([lane({ compassion: 0 })], { memory: memory({ adaptations: 5 }) }));
  t.is(out.action.type, 'halt');
  if (out.action.type === 'halt') t.regex(out.action.reason, /max adaptations/);
  const none = govern(input([lane({ compassion: 0 })], { memory: memory({ adaptations: 0 }), rule: { ...DEFAULT_GOVERNANCE, maxAdaptations: 0 } }));
  t.is(none.action.type, 'halt', 'maxAdaptations 0: the first divergence halts');
});

test('halt: still failing after maxFailingEpochs consecutive failing epochs', (t) => {
  const at49 = govern(input([lane({ total: 2.8 })], { memory: memory({ failingEpochs: 48 }) }));
  t.is(at49.action.type, 'continue');
  t.is(at49.memory.failingEpochs, 49);
  const at50 = govern(input([lane({ total: 2.8 })], { memory: at49.memory }));
  t.is(at50.action.type, 'halt');
  if (at50.action.type === 'halt') t.regex(at50.action.reason, /max failing epochs/);
});

test('phase 12: never diverging, only pass/fail; halts after maxFailingEpochs', (t) => {
  const p12 = (l: LaneFigures, m: GovernorMemory): ReturnType<typeof govern> =>
    govern({ phase: 'phase12', epoch: 2, tick: 20, lanes: [l], couplings: [], memory: m, rule: { ...DEFAULT_GOVERNANCE, maxFailingEpochs: 2 } });
  t.is(divergence('phase12', lane({ finite: false, compassion: 0 }), { drift: 0, total: 3 }), null);
  const first = p12(lane({ compassion: 0, drift: 1 }), memory({ failingEpochs: 0 }));
  t.is(first.action.type, 'continue');
  t.is(p12(lane(), first.memory).action.type, 'halt');
  t.deepEqual(p12(lane({ pass: true }), first.memory).action, { type: 'continue', reason: 'passing' });
});

test('the memory after a rollback: the target figures, one more adaptation, itself the new target', (t) => {
  const m = afterRollback(memory({ adaptations: 1 }), 9, 400);
  t.deepEqual(m, { lanes: [{ drift: 0.06, total: 2.7 }], failingEpochs: 3, adaptations: 2, lastGood: { epoch: 9, tick: 400, lanes: [{ drift: 0.06, total: 2.7 }] } });
  t.deepEqual(genesisMemory().lastGood, { epoch: 0, tick: 0, lanes: null });
});

test('an extra checkpoint of a good state becomes the rollback target; of a diverged one it does not', (t) => {
  t.is(carriedOver(memory(), 4, 5, 400).lastGood.epoch, 5);
  t.is(carriedOver(memory(), 6, 7, 600).lastGood.epoch, 4);
});

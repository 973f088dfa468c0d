/**
 * The host side of signed admin commands: each refusal (UNAUTHORIZED for a
 * foreign target or an unknown key, STALE_COMMAND either side of the window,
 * BAD_SIGNATURE, REPLAYED_COMMAND), tampering with any signed field or any
 * bit of the frame, and the bounded nonce cache. Time is a hand-moved clock.
 */
import test from 'ava';
import {
  AdminVerifier,
  NonceCache,
  decodeSignedCommand,
  encodeSignedCommand,
  signCommand,
  signedCommandBytes,
  type AdminCommand,
  type SignedCommand,
  type WallClock,
} from '../runtime/admin/index.js';
import { Ed25519SecretKey } from '../runtime/identity/ed25519.js';
import { isQallowError, type ErrorCode, type QallowError } from '../runtime/errors.js';

const T0 = 1_750_000_000_000;
const ADMIN = Ed25519SecretKey.generate();
const OTHER_ADMIN = Ed25519SecretKey.generate();
const STRANGER = Ed25519SecretKey.generate();

class TestClock implements WallClock {
  constructor(public t: number = T0) {}
  now(): number {
    return this.t;
  }
}

function setup(opts: { node?: string; maxNonces?: number; maxSkewMs?: number } = {}): { clock: TestClock; verifier: AdminVerifier } {
  const clock = new TestClock();
  const verifier = new AdminVerifier(
    { node: opts.node ?? 'node-a', adminKeys: [ADMIN.publicKey, OTHER_ADMIN.publicKey.hex], maxNonces: opts.maxNonces, maxSkewMs: opts.maxSkewMs },
    { clock },
  );
  return { clock, verifier };
}

const RUN: AdminCommand = {
  type: 'run',
  id: 'ring-1',
  epochTicks: 10,
  backend: 'js',
  params: { phase: 'phase13', ticks: 100, pockets: 64, couplings: [0.002, 0.003], rings: 2, reference: false },
};

function refused(t: import('ava').ExecutionContext, fn: () => unknown, code: ErrorCode, what: string): QallowError {
  const e = t.throws(fn, undefined, what);
  t.true(isQallowError(e, code), `${what}: expected ${code}, got ${String(e)}`);
  return e as QallowError;
}

test('a command signed by an authorised key, for this node, now, is accepted once', (t) => {
  const { verifier } = setup();
  const s = signCommand(RUN, ADMIN, 'node-a', { now: T0 });
  const ok = verifier.verify(decodeSignedCommand(encodeSignedCommand(s)));
  t.deepEqual(ok.command, RUN);
  t.true(ok.adminKey.equals(ADMIN.publicKey));
  t.is(ok.timestamp, T0);
  t.is(verifier.remembered, 1);
  // A second authorised key (given as hex) works too.
  t.notThrows(() => verifier.verify(signCommand({ type: 'status' }, OTHER_ADMIN, 'node-a', { now: T0 })));
});

test('REPLAYED_COMMAND: the same signed command twice', (t) => {
  const { verifier } = setup();
  const wire = encodeSignedCommand(signCommand({ type: 'shutdown' }, ADMIN, 'node-a', { now: T0 }));
  verifier.verify(decodeSignedCommand(wire));
  const e = refused(t, () => verifier.verify(decodeSignedCommand(wire)), 'REPLAYED_COMMAND', 'replay');
  t.true(e.message.includes('sign a new one'), e.message);
});

test('UNAUTHORIZED: an unknown admin key, even with a valid signature', (t) => {
  const { verifier } = setup();
  const e = refused(t, () => verifier.verify(signCommand({ type: 'status' }, STRANGER, 'node-a', { now: T0 })), 'UNAUTHORIZED', 'stranger');
  t.is(e.details['adminKey'], STRANGER.publicKey.hex);
  t.is(verifier.remembered, 0, 'a refused command leaves no nonce');
});

test('a command signed for node A is refused by node B, whether the target is left alone or rewritten', (t) => {
  const b = setup({ node: 'node-b' }).verifier;
  const forA = signCommand({ type: 'cancel', run: 'r1' }, ADMIN, 'node-a', { now: T0 });
  const e = refused(t, () => b.verify(forA), 'UNAUTHORIZED', 'addressed to A');
  t.is(e.details['target'], 'node-a');
  t.is(e.details['node'], 'node-b');
  // Rewriting the target to B does not help: the node id is inside the signature.
  refused(t, () => b.verify({ ...forA, target: 'node-b' as SignedCommand['target'] }), 'BAD_SIGNATURE', 'retargeted');
  t.notThrows(() => setup({ node: 'node-a' }).verifier.verify(forA));
});

test('STALE_COMMAND: outside ±maxSkewMs either way; the edges are inside', (t) => {
  const { verifier } = setup();
  const at = (ms: number): SignedCommand => signCommand({ type: 'runs' }, ADMIN, 'node-a', { now: T0 + ms });
  const past = refused(t, () => verifier.verify(at(-30_001)), 'STALE_COMMAND', 'past');
  t.true(past.message.includes('old'), past.message);
  const future = refused(t, () => verifier.verify(at(30_001)), 'STALE_COMMAND', 'future');
  t.true(future.message.includes('future'), future.message);
  t.notThrows(() => verifier.verify(at(-30_000)));
  t.notThrows(() => verifier.verify(at(30_000)));
  const tight = setup({ maxSkewMs: 1000 }).verifier;
  refused(t, () => tight.verify(at(1001)), 'STALE_COMMAND', 'custom window');
});

test('a replay after the window has passed is stale, and its nonce has been forgotten', (t) => {
  const { clock, verifier } = setup();
  const s = signCommand({ type: 'status' }, ADMIN, 'node-a', { now: T0 });
  verifier.verify(s);
  clock.t = T0 + 30_000;
  refused(t, () => verifier.verify(s), 'REPLAYED_COMMAND', 'still inside the window');
  clock.t = T0 + 30_001;
  refused(t, () => verifier.verify(s), 'STALE_COMMAND', 'after the window');
  t.is(verifier.remembered, 0, 'expired nonces are dropped');
});

test('setting the clock back does not reopen the window for a forgotten nonce', (t) => {
  const { clock, verifier } = setup();
  const s = signCommand({ type: 'status' }, ADMIN, 'node-a', { now: T0 });
  verifier.verify(s);
  clock.t = T0 + 60_000;
  verifier.verify(signCommand({ type: 'status' }, ADMIN, 'node-a', { now: clock.t })); // expires the first nonce
  clock.t = T0; // clock stepped back
  refused(t, () => verifier.verify(s), 'STALE_COMMAND', 'replay after a clock step back');
});

// ---------------------------------------------------------------------------
// Tampering

type Tamper = [name: string, change: (s: SignedCommand) => SignedCommand];

function withCommand(s: SignedCommand, command: AdminCommand): SignedCommand {
  return { ...s, command };
}

const RUN_TAMPERS: Tamper[] = [
  ['timestamp + 1 ms', (s) => ({ ...s, timestamp: s.timestamp + 1 })],
  ['timestamp − 1 ms', (s) => ({ ...s, timestamp: s.timestamp - 1 })],
  ['command type', (s) => withCommand(s, { type: 'status' })],
  ['run id', (s) => withCommand(s, { ...RUN, id: 'ring-2' })],
  ['run id removed', (s) => withCommand(s, { ...RUN, id: undefined })],
  ['epochTicks', (s) => withCommand(s, { ...RUN, epochTicks: 11 })],
  ['backend', (s) => withCommand(s, { ...RUN, backend: 'wasm' })],
  ['ticks', (s) => withCommand(s, { ...RUN, params: { phase: 'phase13', ticks: 101, pockets: 64, couplings: [0.002, 0.003], rings: 2, reference: false } })],
  ['pockets', (s) => withCommand(s, { ...RUN, params: { phase: 'phase13', ticks: 100, pockets: 65, couplings: [0.002, 0.003], rings: 2, reference: false } })],
  ['a coupling by one ulp', (s) => withCommand(s, { ...RUN, params: { phase: 'phase13', ticks: 100, pockets: 64, couplings: [0.002, 0.0030000000000000005], rings: 2, reference: false } })],
  ['couplings reordered', (s) => withCommand(s, { ...RUN, params: { phase: 'phase13', ticks: 100, pockets: 64, couplings: [0.003, 0.002], rings: 2, reference: false } })],
  ['rings removed', (s) => withCommand(s, { ...RUN, params: { phase: 'phase13', ticks: 100, pockets: 64, couplings: [0.002, 0.003], reference: false } })],
  ['reference flipped', (s) => withCommand(s, { ...RUN, params: { phase: 'phase13', ticks: 100, pockets: 64, couplings: [0.002, 0.003], rings: 2, reference: true } })],
  ['phase swapped', (s) => withCommand(s, { ...RUN, params: { phase: 'phase12', ticks: 100, eps: [0.002, 0.003] } })],
  ['adminKey swapped for another authorised key', (s) => ({ ...s, adminKey: OTHER_ADMIN.publicKey.bytes })],
];

for (const [name, change] of RUN_TAMPERS) {
  test(`tampering: ${name} → BAD_SIGNATURE`, (t) => {
    const { verifier } = setup();
    const s = signCommand(RUN, ADMIN, 'node-a', { now: T0 });
    refused(t, () => verifier.verify(change(s)), 'BAD_SIGNATURE', name);
    t.notThrows(() => verifier.verify(s), 'the untouched command is still good');
  });
}

test('tampering: every nonce and signature byte, and the run of a control command', (t) => {
  const { verifier } = setup();
  const s = signCommand({ type: 'pause', run: 'ring-1' }, ADMIN, 'node-a', { now: T0 });
  for (let i = 0; i < s.nonce.length; i++) {
    const nonce = new Uint8Array(s.nonce);
    nonce[i]! ^= 0x01;
    refused(t, () => verifier.verify({ ...s, nonce }), 'BAD_SIGNATURE', `nonce[${i}]`);
  }
  for (let i = 0; i < s.signature.length; i++) {
    const signature = new Uint8Array(s.signature);
    signature[i]! ^= 0x80;
    refused(t, () => verifier.verify({ ...s, signature }), 'BAD_SIGNATURE', `signature[${i}]`);
  }
  refused(t, () => verifier.verify({ ...s, command: { type: 'pause', run: 'ring-2' } }), 'BAD_SIGNATURE', 'run');
  refused(t, () => verifier.verify({ ...s, command: { type: 'resume', run: 'ring-1' } }), 'BAD_SIGNATURE', 'type');
  t.notThrows(() => verifier.verify(s));
});

test('every bit of the signed bytes is covered: flipping any one breaks the signature', (t) => {
  const s = signCommand(RUN, ADMIN, 'node-a', { now: T0 });
  const bytes = signedCommandBytes(s);
  t.true(ADMIN.publicKey.verify(bytes, s.signature));
  let checked = 0;
  for (let i = 0; i < bytes.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const m = new Uint8Array(bytes);
      m[i]! ^= bit;
      if (ADMIN.publicKey.verify(m, s.signature)) t.fail(`byte ${i} bit ${bit} not covered`);
      checked++;
    }
  }
  t.is(checked, 2 * bytes.length);
});

test('no single-bit change anywhere in the wire frame is accepted', (t) => {
  const { verifier } = setup();
  const frame = encodeSignedCommand(signCommand(RUN, ADMIN, 'node-a', { now: T0 }));
  const codes = new Map<string, number>();
  for (let i = 0; i < frame.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const m = new Uint8Array(frame);
      m[i]! ^= 1 << bit;
      try {
        verifier.verify(decodeSignedCommand(m));
        t.fail(`frame byte ${i} bit ${bit}: accepted`);
      } catch (e) {
        if (!isQallowError(e)) throw e;
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      }
    }
  }
  t.log(Object.fromEntries(codes));
  t.deepEqual([...codes.keys()].filter((c) => !['BAD_FRAME', 'BAD_SIGNATURE', 'UNAUTHORIZED', 'STALE_COMMAND'].includes(c)), []);
  t.is(verifier.remembered, 0);
});

// ---------------------------------------------------------------------------
// The nonce cache is bounded, and being full never lets a replay through

test('a full nonce cache evicts the oldest and refuses commands at or before it as stale', (t) => {
  const { clock, verifier } = setup({ maxNonces: 4 });
  const sent: SignedCommand[] = [];
  for (let i = 0; i < 10; i++) {
    clock.t = T0 + i;
    const s = signCommand({ type: 'status' }, ADMIN, 'node-a', { now: clock.t });
    verifier.verify(s);
    sent.push(s);
    t.true(verifier.remembered <= 4);
  }
  t.is(verifier.remembered, 4);
  refused(t, () => verifier.verify(sent[9]!), 'REPLAYED_COMMAND', 'a remembered nonce');
  refused(t, () => verifier.verify(sent[6]!), 'REPLAYED_COMMAND', 'the oldest remembered nonce');
  const evicted = refused(t, () => verifier.verify(sent[0]!), 'STALE_COMMAND', 'an evicted nonce');
  t.true(evicted.message.includes('full'), evicted.message);
  refused(t, () => verifier.verify(sent[5]!), 'STALE_COMMAND', 'the newest evicted nonce');
  // A fresh command stamped after the floor is fine.
  t.notThrows(() => verifier.verify(signCommand({ type: 'status' }, ADMIN, 'node-a', { now: clock.t })));
  t.is(verifier.remembered, 4);
});

test('NonceCache: expires by timestamp whatever the arrival order, and never holds more than its bound', (t) => {
  const cache = new NonceCache(3, 100);
  cache.add('c', 30, 30);
  cache.add('a', 10, 30);
  cache.add('b', 20, 30);
  t.is(cache.size, 3);
  t.is(cache.seen('a', 110), 10, 'a is kept until 10 + 100');
  t.is(cache.seen('a', 111), undefined, 'then dropped');
  t.is(cache.seen('b', 111), 20);
  t.is(cache.size, 2);
  cache.add('d', 40, 111);
  cache.add('e', 50, 111); // full: evicts b (timestamp 20)
  t.is(cache.size, 3);
  t.is(cache.floor, 20);
  t.is(cache.seen('b', 111), undefined);
  t.is(cache.seen('c', 111), 30);
  t.throws(() => new NonceCache(0, 100), { instanceOf: RangeError });

  const big = new NonceCache(1000, 1e9);
  for (let i = 0; i < 5000; i++) big.add(`n${i}`, (i * 7919) % 5000, 0);
  t.is(big.size, 1000);
  t.true(big.floor < 5000);
});

test('constructor validation: bad admin keys are KEY_INVALID naming the entry; bad options are BAD_PARAMETER', (t) => {
  const e = t.throws(() => new AdminVerifier({ node: 'node-a', adminKeys: [ADMIN.publicKey, 'zz'] }));
  t.true(isQallowError(e, 'KEY_INVALID'));
  t.is((e as QallowError).details['field'], 'adminKeys[1]');
  const small = t.throws(() => new AdminVerifier({ node: 'node-a', adminKeys: [new Uint8Array(32)] }));
  t.true(isQallowError(small, 'KEY_INVALID'), 'the all-zero (small-order) key is refused');
  t.true(isQallowError(t.throws(() => new AdminVerifier({ node: 'Node A', adminKeys: [] })), 'BAD_PARAMETER'));
  t.true(isQallowError(t.throws(() => new AdminVerifier({ node: 'node-a', adminKeys: [], maxSkewMs: -1 })), 'BAD_PARAMETER'));
  t.true(isQallowError(t.throws(() => new AdminVerifier({ node: 'node-a', adminKeys: [], maxNonces: 0 })), 'BAD_PARAMETER'));
});

test('a hand-built SignedCommand with a malformed field is BAD_FRAME, not a crash', (t) => {
  const { verifier } = setup();
  const s = signCommand({ type: 'status' }, ADMIN, 'node-a', { now: T0 });
  refused(t, () => verifier.verify({ ...s, nonce: new Uint8Array(3) }), 'BAD_FRAME', 'short nonce');
  refused(t, () => verifier.verify({ ...s, timestamp: T0 + 0.5 }), 'BAD_FRAME', 'fractional timestamp');
  refused(t, () => verifier.verify({ ...s, signature: new Uint8Array(10) }), 'BAD_FRAME', 'short signature');
});

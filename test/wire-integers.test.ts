/**
 * Integers from outside, on every decoder that reads them (issue 11 item 4):
 * the admin wire, the transport envelope and the governance messages accept
 * every exact MessagePack encoding of an integer field — uint64 (0xcf, what
 * most libraries write above 2^32), int64 (0xd3), the small ints, a whole
 * float — and refuse fractions, values above 2^53 − 1 and negatives where
 * the field is unsigned, naming the field. Frames are built by hand: a
 * marker float is packed where the integer goes and its nine bytes are
 * swapped for the encoding under test (MessagePack maps and arrays count
 * items, not bytes, so any length fits).
 */
import test from 'ava';
import { Packr } from 'msgpackr';
import { AdminVerifier, decodeSignedCommand, encodeSignedCommand, signCommand } from '../runtime/admin/index.js';
import { isQallowError } from '../runtime/errors.js';
import { decodeLedgerMsg, decodePropose } from '../runtime/governance/wire.js';
import { Ed25519SecretKey } from '../runtime/identity/ed25519.js';
import { exactInteger, exactUint } from '../runtime/integer.js';
import { WIRE_VERSION, decodeFrame } from '../runtime/transport/envelope.js';

const packr = new Packr({ useRecords: false, moreTypes: false, structuredClone: false, bundleStrings: false });

type Encoding = 'uint64' | 'int64' | 'uint32' | 'float64';

function encodeInt(v: bigint | number, as: Encoding): Uint8Array {
  const out = new Uint8Array(as === 'uint32' ? 5 : 9);
  const view = new DataView(out.buffer);
  if (as === 'uint64') {
    out[0] = 0xcf;
    view.setBigUint64(1, BigInt(v));
  } else if (as === 'int64') {
    out[0] = 0xd3;
    view.setBigInt64(1, BigInt(v));
  } else if (as === 'uint32') {
    out[0] = 0xce;
    view.setUint32(1, Number(v));
  } else {
    out[0] = 0xcb;
    view.setFloat64(1, Number(v));
  }
  return out;
}

/** A float no real field holds; packed as 0xcb and 8 bytes. */
const MARKER = 1234.5678125;

function swapMarker(frame: Uint8Array, replacement: Uint8Array): Uint8Array {
  const needle = new Uint8Array(9);
  needle[0] = 0xcb;
  new DataView(needle.buffer).setFloat64(1, MARKER);
  const at = Buffer.from(frame).indexOf(Buffer.from(needle));
  if (at < 0 || Buffer.from(frame).indexOf(Buffer.from(needle), at + 1) >= 0) throw new Error('marker must occur exactly once');
  return Buffer.concat([frame.subarray(0, at), replacement, frame.subarray(at + 9)]);
}

test('exactInteger: numbers and BigInts that are exact integers within ±(2^53 − 1), nothing else', (t) => {
  t.is(exactInteger(5), 5);
  t.is(Object.is(exactInteger(-0), 0), true);
  t.is(exactInteger(5n), 5);
  t.is(exactInteger(-5n), -5);
  t.is(exactInteger(BigInt(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  t.is(exactInteger(BigInt(Number.MAX_SAFE_INTEGER) + 1n), undefined);
  t.is(exactInteger(-BigInt(Number.MAX_SAFE_INTEGER) - 1n), undefined);
  t.is(exactInteger(2 ** 53), undefined);
  for (const bad of [0.5, NaN, Infinity, -Infinity, '5', null, undefined, true, {}]) t.is(exactInteger(bad), undefined, String(bad));
  t.is(exactUint(-1), undefined);
  t.is(exactUint(-1n), undefined);
  t.is(exactUint(3, 1, 2), undefined);
  t.is(exactUint(2n, 1, 2), 2);
});

// ------------------------------------------------------------------ admin wire

const ADMIN = Ed25519SecretKey.generate();
const NOW = 1_750_000_000_123; // above 2^32: a msgpack library writes it as uint64

function adminFrame(timestamp: Uint8Array, ticks?: Uint8Array): Uint8Array {
  const signed = signCommand({ type: 'run', params: { phase: 'phase12', ticks: 1000, eps: [0.1] } }, ADMIN, 'node-a', { now: NOW });
  // Pack the map by hand-ish: the same fields encodeSignedCommand writes, with markers where the integers go.
  const frame = packr.pack({
    v: 1,
    target: signed.target,
    timestamp: MARKER,
    nonce: signed.nonce,
    adminKey: signed.adminKey,
    signature: signed.signature,
    command: { type: 'run', params: { phase: 'phase12', ticks: ticks ? MARKER / 2 : 1000, eps: [0.1] } },
  });
  let out: Uint8Array = swapMarker(frame, timestamp);
  if (ticks) {
    const needle = new Uint8Array(9);
    needle[0] = 0xcb;
    new DataView(needle.buffer).setFloat64(1, MARKER / 2);
    const at = Buffer.from(out).indexOf(Buffer.from(needle));
    out = Buffer.concat([out.subarray(0, at), ticks, out.subarray(at + 9)]);
  }
  return out;
}

test('admin wire: a timestamp as uint64, int64 or whole float64 decodes, and the signature still verifies', (t) => {
  const verifier = new AdminVerifier({ node: 'node-a', adminKeys: [ADMIN.publicKey] }, { clock: { now: () => NOW } });
  for (const as of ['uint64', 'int64', 'float64'] as const) {
    const decoded = decodeSignedCommand(adminFrame(encodeInt(NOW, as)));
    t.is(decoded.timestamp, NOW, as);
    t.is(typeof decoded.timestamp, 'number');
    t.is(verifier.verify(decoded).timestamp, NOW, `${as} verifies`);
  }
  // What encodeSignedCommand writes still decodes (float64 for a number above 2^32).
  t.is(decodeSignedCommand(encodeSignedCommand(signCommand({ type: 'status' }, ADMIN, 'node-a', { now: NOW }))).timestamp, NOW);
});

test('admin wire: command integers (run ticks) as uint64 decode to numbers', (t) => {
  for (const as of ['uint64', 'int64', 'uint32'] as const) {
    const decoded = decodeSignedCommand(adminFrame(encodeInt(NOW, 'uint64'), encodeInt(1000, as)));
    t.like(decoded.command, { type: 'run', params: { phase: 'phase12', ticks: 1000 } }, as);
  }
});

test('admin wire: a fractional, negative or unsafe timestamp or ticks is BAD_FRAME naming the field', (t) => {
  const cases: Array<[string, Uint8Array, Uint8Array | undefined, string]> = [
    ['fraction', encodeInt(NOW + 0.5, 'float64'), undefined, 'signedCommand.timestamp'],
    ['2^53', encodeInt(2n ** 53n, 'uint64'), undefined, 'signedCommand.timestamp'],
    ['2^64 − 1', encodeInt(2n ** 64n - 1n, 'uint64'), undefined, 'signedCommand.timestamp'],
    ['-1 as int64', encodeInt(-1n, 'int64'), undefined, 'signedCommand.timestamp'],
    ['ticks 2^60', encodeInt(NOW, 'uint64'), encodeInt(2n ** 60n, 'uint64'), 'command.params.ticks'],
    ['ticks 0.5', encodeInt(NOW, 'uint64'), encodeInt(0.5, 'float64'), 'command.params.ticks'],
  ];
  for (const [name, ts, ticks, field] of cases) {
    const e = t.throws(() => decodeSignedCommand(adminFrame(ts, ticks)), undefined, name);
    t.true(isQallowError(e, 'BAD_FRAME'), `${name}: ${String(e)}`);
    if (isQallowError(e)) t.is(e.details['field'], field, name);
  }
});

// ------------------------------------------------------------------ transport envelope

function heartbeatFrame(id: Uint8Array, seq: number | typeof MARKER = 3): Uint8Array {
  return swapMarker(packr.pack([WIRE_VERSION, MARKER, 'node-a', 'qallow://node-b/cluster', 'heartbeat', { seq, sentAt: 1.5, incarnation: 9 }]), id);
}

test('transport: an envelope id (and body counts) in any exact integer encoding decodes', (t) => {
  for (const as of ['uint64', 'int64', 'uint32', 'float64'] as const) {
    const env = decodeFrame(heartbeatFrame(encodeInt(4_000_000_007, as)));
    t.is(env.id, 4_000_000_007, as);
  }
  const big = 2 ** 53 - 1;
  t.is(decodeFrame(heartbeatFrame(encodeInt(big, 'uint64'))).id, big);
  // A body count as uint64.
  const frame = swapMarker(packr.pack([WIRE_VERSION, 7, 'node-a', 'qallow://node-b/cluster', 'heartbeat', { seq: MARKER, sentAt: 1.5, incarnation: 9 }]), encodeInt(6_000_000_000, 'uint64'));
  t.like(decodeFrame(frame), { type: 'heartbeat', body: { seq: 6_000_000_000 } });
});

test('transport: a fractional, negative or unsafe id or count is BAD_FRAME naming the field', (t) => {
  const cases: Array<[string, Uint8Array, string]> = [
    ['fraction', encodeInt(7.25, 'float64'), 'id'],
    ['2^53', encodeInt(2n ** 53n, 'uint64'), 'id'],
    ['2^64 − 1', encodeInt(2n ** 64n - 1n, 'uint64'), 'id'],
    ['-1 as int64', encodeInt(-1n, 'int64'), 'id'],
  ];
  for (const [name, id, field] of cases) {
    const e = t.throws(() => decodeFrame(heartbeatFrame(id)), undefined, name);
    t.true(isQallowError(e, 'BAD_FRAME'), `${name}: ${String(e)}`);
    if (isQallowError(e)) t.is(e.details['field'], field, name);
  }
  const seq = swapMarker(packr.pack([WIRE_VERSION, 7, 'node-a', 'qallow://node-b/cluster', 'heartbeat', { seq: MARKER, sentAt: 1.5, incarnation: 9 }]), encodeInt(2n ** 63n, 'uint64'));
  const e = t.throws(() => decodeFrame(seq));
  t.true(isQallowError(e, 'BAD_FRAME'));
  if (isQallowError(e)) t.is(e.details['field'], 'body.seq');
});

// ------------------------------------------------------------------ governance messages

test('governance wire: counts decoded as BigInt (a msgpack uint64/int64) are the same numbers; bad ones name the field', (t) => {
  t.deepEqual(decodeLedgerMsg({ type: 'fetch', origin: 'node-a', from: 5n, limit: 10n }), { type: 'fetch', origin: 'node-a', from: 5, limit: 10 });
  const header = { origin: 'node-a', firstSeq: 1n, count: 1n, root: 'ab'.repeat(32) };
  const p = decodePropose({ type: 'propose', header, originSignature: new Uint8Array(64), entries: [new Uint8Array(3)] });
  t.deepEqual(p.header, { origin: 'node-a', firstSeq: 1, count: 1, root: 'ab'.repeat(32) });
  const cases: Array<[unknown, string]> = [
    [2n ** 53n, 'fetch.from'],
    [1.5, 'fetch.from'],
    [-1n, 'fetch.from'],
  ];
  for (const [from, field] of cases) {
    const e = t.throws(() => decodeLedgerMsg({ type: 'fetch', origin: 'node-a', from, limit: 1 }));
    t.true(isQallowError(e, 'BAD_FRAME'), String(e));
    if (isQallowError(e)) t.is(e.details['field'], field);
  }
});

import test from 'ava';
import { Packr } from 'msgpackr';
import { isQallowError, QallowError } from '../runtime/errors.js';
import {
  DEFAULT_FRAME_LIMITS,
  WIRE_VERSION,
  decodeFrame,
  decodeFrames,
  encodeBatch,
  encodeEnvelope,
  type Envelope,
  type FrameLimits,
} from '../runtime/transport/envelope.js';
import { WIRE_TYPES, type WireType } from '../runtime/transport/messages.js';
import { BODY_FIXTURES, NODE_A, fixtureEnvelopes } from './fixtures/transport-messages.js';
import { fuzzFrame, rng } from './fixtures/transport-fuzz.js';

// A packer as permissive as msgpackr gets, to build frames the encoder would refuse.
const raw = new Packr({ useRecords: false, moreTypes: false, structuredClone: false, bundleStrings: false });
const pack = (v: unknown): Uint8Array => raw.pack(v);

const TO = 'qallow://node-b/runs/phase13-r1';
const headOf = (type: string, body: unknown, over: Partial<Record<'version' | 'id' | 'from' | 'to', unknown>> = {}): unknown[] => [
  over.version ?? WIRE_VERSION,
  over.id ?? 7,
  over.from ?? NODE_A,
  over.to ?? TO,
  type,
  body,
];

for (const type of Object.keys(BODY_FIXTURES) as WireType[]) {
  test(`round trip: ${type} (${BODY_FIXTURES[type].length} fixtures)`, (t) => {
    for (const env of fixtureEnvelopes().filter((e) => e.type === type)) {
      const bytes = encodeEnvelope(env);
      const back = decodeFrame(bytes);
      t.deepEqual(back, env);
      // the batch path gives the same envelope
      t.deepEqual(decodeFrames(bytes), [env]);
    }
  });
}

test('the wire table has a row, and fixtures, for every type in the union', (t) => {
  t.deepEqual(Object.keys(WIRE_TYPES).sort(), Object.keys(BODY_FIXTURES).sort());
});

test('a batch round-trips in order, with header sizes for 2, 16 and 70000 envelopes', (t) => {
  const envs = fixtureEnvelopes();
  const parts = envs.map((e) => encodeEnvelope(e));
  t.deepEqual(decodeFrames(encodeBatch(parts)), envs);
  const many = (n: number): Envelope[] => Array.from({ length: n }, (_, i) => ({ ...envs[i % envs.length]!, id: i }) as Envelope);
  for (const n of [2, 16, 70_000]) {
    const batch = many(n);
    const limits: FrameLimits = { ...DEFAULT_FRAME_LIMITS, maxBatch: 100_000, maxFrameBytes: 64 * 1024 * 1024 };
    const back = decodeFrames(encodeBatch(batch.map((e) => encodeEnvelope(e))), limits);
    t.is(back.length, n);
    t.deepEqual(back.map((e) => e.id), batch.map((e) => e.id));
  }
});

test('decoded bytes are copies: aligned and not views of the frame', (t) => {
  const env = fixtureEnvelopes().find((e) => e.type === 'actor.tell' && typeof e.body.payload === 'object' && e.body.payload !== null && 'phase' in e.body.payload)!;
  const frame = encodeEnvelope(env);
  const back = decodeFrame(frame) as Envelope<'actor.tell'>;
  const phase = (back.body.payload as { phase: Uint8Array }).phase;
  t.true(phase instanceof Uint8Array);
  t.not(phase.buffer, frame.buffer);
  t.is(phase.byteOffset, 0);
  const floats = new Float32Array(phase.buffer, 0, 4);
  t.deepEqual([...floats], [0.5, -1.25, Number.NaN, Infinity]);
});

interface BadCase {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly field: string;
  readonly reason: string;
  readonly limits?: FrameLimits;
}

const good = encodeEnvelope(fixtureEnvelopes()[0]!);
const deep = (n: number): unknown => (n === 0 ? 1 : [deep(n - 1)]);

const BAD: readonly BadCase[] = [
  { name: 'empty', bytes: new Uint8Array(0), field: 'frame', reason: 'truncated' },
  { name: 'oversized', bytes: new Uint8Array(2048), field: 'frame', reason: 'oversized', limits: { ...DEFAULT_FRAME_LIMITS, maxFrameBytes: 1024 } },
  { name: 'truncated', bytes: good.subarray(0, good.length - 1), field: 'frame', reason: 'truncated' },
  { name: 'trailing bytes', bytes: new Uint8Array([...good, 0x00]), field: 'frame', reason: 'trailing' },
  { name: 'not an array', bytes: pack({ version: 1 }), field: 'frame', reason: 'malformed' },
  { name: 'a bare integer', bytes: pack(1), field: 'frame', reason: 'malformed' },
  { name: 'wrong version', bytes: pack(headOf('heartbeat', { seq: 1, sentAt: 0, incarnation: 0 }, { version: 2 })), field: 'version', reason: 'version' },
  { name: 'version not a number', bytes: pack(headOf('heartbeat', {}, { version: 'one' })), field: 'version', reason: 'malformed' },
  { name: 'five items', bytes: pack([1, 2, NODE_A, TO, 'heartbeat']), field: 'frame', reason: 'malformed' },
  { name: 'id negative', bytes: pack(headOf('heartbeat', { seq: 1, sentAt: 0, incarnation: 0 }, { id: -1 })), field: 'id', reason: 'invalid' },
  { name: 'id fractional', bytes: pack(headOf('heartbeat', { seq: 1, sentAt: 0, incarnation: 0 }, { id: 1.5 })), field: 'id', reason: 'invalid' },
  { name: 'from not a node id', bytes: pack(headOf('heartbeat', { seq: 1, sentAt: 0, incarnation: 0 }, { from: 'Node A' })), field: 'from', reason: 'invalid' },
  { name: 'to without scheme', bytes: pack(headOf('heartbeat', { seq: 1, sentAt: 0, incarnation: 0 }, { to: 'node-b/x' })), field: 'to', reason: 'invalid' },
  { name: 'to without actor', bytes: pack(headOf('heartbeat', { seq: 1, sentAt: 0, incarnation: 0 }, { to: 'qallow://node-b' })), field: 'to', reason: 'invalid' },
  { name: 'to too long', bytes: pack(headOf('heartbeat', { seq: 1, sentAt: 0, incarnation: 0 }, { to: `qallow://node-b/${'a/'.repeat(600)}a` })), field: 'to', reason: 'invalid' },
  { name: 'unknown type', bytes: pack(headOf('actor.shout', { payload: 1 })), field: 'type', reason: 'unknown-type' },
  { name: 'prototype key as type', bytes: pack(headOf('constructor', {})), field: 'type', reason: 'unknown-type' },
  { name: 'body not a map', bytes: pack(headOf('heartbeat', [1, 2, 3])), field: 'body', reason: 'invalid' },
  { name: 'body extra field', bytes: pack(headOf('heartbeat', { seq: 1, sentAt: 0, incarnation: 0, extra: 1 })), field: 'body.extra', reason: 'invalid' },
  { name: 'body missing field', bytes: pack(headOf('heartbeat', { sentAt: 0, incarnation: 0 })), field: 'body.seq', reason: 'invalid' },
  { name: 'body wrong type', bytes: pack(headOf('heartbeat', { seq: 'one', sentAt: 0, incarnation: 0 })), field: 'body.seq', reason: 'invalid' },
  { name: 'sentAt negative', bytes: pack(headOf('heartbeat', { seq: 1, sentAt: -5, incarnation: 0 })), field: 'body.sentAt', reason: 'invalid' },
  { name: 'cycleMs negative', bytes: pack(headOf('sync.pulse', { cycleMs: -1, tick: 1, runs: {}, sentAt: 0 })), field: 'body.cycleMs', reason: 'invalid' },
  { name: 'cycleMs NaN', bytes: pack(headOf('sync.pulse', { cycleMs: Number.NaN, tick: 1, runs: {}, sentAt: 0 })), field: 'body.cycleMs', reason: 'invalid' },
  { name: 'pulse runs not a map', bytes: pack(headOf('sync.pulse', { cycleMs: 1, tick: 1, runs: [3], sentAt: 0 })), field: 'body.runs', reason: 'invalid' },
  { name: 'pulse run id bad', bytes: pack(headOf('sync.pulse', { cycleMs: 1, tick: 1, runs: { '../x': 3 }, sentAt: 0 })), field: 'body.runs', reason: 'invalid' },
  { name: 'pulse run ticks negative', bytes: pack(headOf('sync.pulse', { cycleMs: 1, tick: 1, runs: { a: -3 }, sentAt: 0 })), field: 'body.runs.a', reason: 'invalid' },
  { name: 'timeoutMs zero', bytes: pack(headOf('actor.ask', { requestId: 1, timeoutMs: 0, payload: null })), field: 'body.timeoutMs', reason: 'invalid' },
  { name: 'reply ok not boolean', bytes: pack(headOf('actor.reply', { requestId: 1, ok: 'yes', payload: null })), field: 'body.ok', reason: 'invalid' },
  { name: 'reply error code not a code', bytes: pack(headOf('actor.reply', { requestId: 1, ok: false, error: { code: 'oops!', message: 'x' } })), field: 'body.error.code', reason: 'invalid' },
  { name: 'reply ok with error', bytes: pack(headOf('actor.reply', { requestId: 1, ok: true, error: { code: 'TIMEOUT', message: 'x' } })), field: 'body.error', reason: 'invalid' },
  { name: 'payload too deep', bytes: pack(headOf('actor.tell', { payload: deep(40) })), field: 'frame', reason: 'too-deep' },
  { name: 'payload timestamp extension', bytes: pack(headOf('actor.tell', { payload: new Date(0) })), field: 'frame', reason: 'malformed' },
  { name: 'payload undefined (extension)', bytes: pack(headOf('actor.tell', { payload: [undefined] })), field: 'frame', reason: 'malformed' },
  { name: 'map with integer key', bytes: new Uint8Array([0x96, 0x01, 0x07, 0xa1, 0x61, 0xa1, 0x62, 0xaa, ...Buffer.from('actor.tell'), 0x81, 0x01, 0x02]), field: 'frame', reason: 'malformed' },
  { name: 'huge string length', bytes: new Uint8Array([0x96, 0x01, 0x07, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x41]), field: 'frame', reason: 'truncated' },
  { name: 'huge array length', bytes: new Uint8Array([0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01]), field: 'frame', reason: 'truncated' },
  { name: 'reserved byte', bytes: new Uint8Array([0x96, 0xc1, 0, 0, 0, 0, 0]), field: 'frame', reason: 'malformed' },
  { name: 'empty batch', bytes: new Uint8Array([0x90]), field: 'frame', reason: 'malformed' },
  {
    name: 'batch with one bad envelope',
    bytes: encodeBatch([good, pack(headOf('heartbeat', { seq: 'x', sentAt: 0, incarnation: 0 }))]),
    field: 'envelopes[1].body.seq',
    reason: 'invalid',
  },
  { name: 'batch over maxBatch', bytes: encodeBatch([good, good, good]), field: 'frame', reason: 'oversized', limits: { ...DEFAULT_FRAME_LIMITS, maxBatch: 2 } },
];

for (const c of BAD) {
  test(`decode rejects: ${c.name}`, (t) => {
    const e = t.throws(() => decodeFrames(c.bytes, c.limits), { instanceOf: QallowError });
    t.is(e?.code, 'BAD_FRAME');
    t.is(e?.details['field'], c.field, e?.message);
    t.is(e?.details['reason'], c.reason, e?.message);
  });
}

test('decodeFrame (one envelope) refuses a batch', (t) => {
  const e = t.throws(() => decodeFrame(encodeBatch([good, good])), { instanceOf: QallowError });
  t.is(e?.code, 'BAD_FRAME');
  t.is(e?.details['field'], 'frame');
  t.is(e?.details['reason'], 'malformed');
});

const envOf = (payload: unknown): Envelope => ({ version: WIRE_VERSION, id: 1, from: NODE_A, to: TO, type: 'actor.tell', body: { payload } }) as unknown as Envelope;

const ENCODE_BAD: readonly { name: string; env: Envelope; field: string }[] = [
  { name: 'Float32Array in a payload', env: envOf({ samples: new Float32Array(4) }), field: 'body.payload.samples' },
  { name: 'undefined in an array', env: envOf([1, undefined]), field: 'body.payload[1]' },
  { name: 'a bigint', env: envOf({ n: 5n }), field: 'body.payload.n' },
  { name: 'a Date', env: envOf({ when: new Date(0) }), field: 'body.payload.when' },
  { name: 'a Map', env: envOf(new Map()), field: 'body.payload' },
  { name: 'a class instance', env: envOf({ x: new (class Point {})() }), field: 'body.payload.x' },
  { name: 'a function', env: envOf({ f: () => 1 }), field: 'body.payload.f' },
  { name: 'a __proto__ key', env: envOf(JSON.parse('{"__proto__": 1}')), field: 'body.payload.__proto__' },
  { name: 'nesting past the limit', env: envOf(deep(40)), field: `body.payload${'[0]'.repeat(32)}` },
  { name: 'a cycle', env: envOf((() => { const a: unknown[] = []; a.push(a); return a; })()), field: `body.payload${'[0]'.repeat(32)}` },
  { name: 'an extra body field', env: { ...envOf(1), body: { payload: 1, extra: 2 } } as unknown as Envelope, field: 'body.extra' },
  { name: 'a bad to', env: { ...envOf(1), to: 'node-b' } as Envelope, field: 'to' },
  { name: 'an unknown type', env: { ...envOf(1), type: 'nope' } as unknown as Envelope, field: 'type' },
];

for (const c of ENCODE_BAD) {
  test(`encode refuses: ${c.name}`, (t) => {
    const e = t.throws(() => encodeEnvelope(c.env), { instanceOf: QallowError });
    t.is(e?.code, 'BAD_PARAMETER');
    t.is(e?.details['field'], c.field, e?.message);
  });
}

test('encode refuses a message larger than the frame limit, naming the size', (t) => {
  const e = t.throws(() => encodeEnvelope(envOf(new Uint8Array(5000)), { ...DEFAULT_FRAME_LIMITS, maxFrameBytes: 4096 }), { instanceOf: QallowError });
  t.is(e?.code, 'BAD_PARAMETER');
  t.is(e?.details['reason'], 'oversized');
});

test('fuzz: 30,000 random and mutated frames never make decode throw anything but BAD_FRAME', (t) => {
  const rand = rng(0x5eed);
  const seeds = [...fixtureEnvelopes().map((e) => encodeEnvelope(e)), encodeBatch(fixtureEnvelopes().map((e) => encodeEnvelope(e)))];
  const outcome = { rejected: 0, accepted: 0 };
  const reasons = new Map<string, number>();
  for (let i = 0; i < 30_000; i++) {
    const { kind, frame } = fuzzFrame(rand, seeds);
    let envs: Envelope[];
    try {
      envs = decodeFrames(frame, { ...DEFAULT_FRAME_LIMITS, maxFrameBytes: 3000 });
    } catch (e) {
      if (!isQallowError(e, 'BAD_FRAME')) {
        t.fail(`case ${i} (${kind}): threw ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`);
        return;
      }
      outcome.rejected++;
      const r = String(e.details['reason']);
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
      continue;
    }
    outcome.accepted++;
    // whatever decodes is a valid envelope: it encodes again
    for (const env of envs) encodeEnvelope(env);
  }
  t.is(outcome.rejected + outcome.accepted, 30_000);
  t.true(outcome.rejected > 20_000, JSON.stringify(outcome));
  for (const r of ['truncated', 'malformed', 'too-deep', 'trailing', 'oversized', 'invalid']) t.true((reasons.get(r) ?? 0) > 0, `no case rejected for ${r}: ${JSON.stringify([...reasons])}`);
});

test('message type table: directed and broadcast types', (t) => {
  t.is(WIRE_TYPES['sync.pulse'].delivery, 'broadcast');
  t.is(WIRE_TYPES['actor.tell'].delivery, 'directed');
  t.is(WIRE_TYPES.heartbeat.delivery, 'either');
});

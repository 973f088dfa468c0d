/**
 * The transport's own MessagePack writer (envelope.ts `BatchWriter`) and
 * reader (scan.ts `readMsgpack`): checked against msgpackr in both
 * directions on seeded random plain data, every header width, the batch
 * frame as it is built in place, atomic appends, and the reader's string
 * cache.
 */
import test from 'ava';
import { Packr } from 'msgpackr';
import { isQallowError, QallowError } from '../runtime/errors.js';
import { BatchWriter, DEFAULT_FRAME_LIMITS, WIRE_VERSION, decodeFrame, decodeFrames, type Envelope, type FrameLimits } from '../runtime/transport/envelope.js';
import { ScanError, readMsgpack } from '../runtime/transport/scan.js';
import { rng } from './fixtures/transport-fuzz.js';
import { NODE_A, fixtureEnvelopes } from './fixtures/transport-messages.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, bundleStrings: false, structuredClone: false, int64AsType: 'number' });
const TO = 'qallow://node-b/runs/phase13-r1';
const BIG: FrameLimits = { ...DEFAULT_FRAME_LIMITS, maxBatch: 100_000, maxFrameBytes: 64 * 1024 * 1024 };

/** Plain data as the wire carries it, without -0 (arrives as 0) and lone surrogates (arrive as U+FFFD). */
function randomValue(rand: () => number, depth = 0): unknown {
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = int(depth > 3 ? 7 : 10);
  switch (pick) {
    case 0:
      return [null, true, false][int(3)];
    case 1: {
      // every integer width, both signs
      const mags = [0, 1, 31, 32, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, 2 ** 53 - 1];
      const m = mags[int(mags.length)]!;
      return m === 0 || rand() < 0.5 ? m : -m;
    }
    case 2:
      return [1.5, -0.25, 1e300, -1e-300, Number.NaN, Infinity, -Infinity, 2 ** 60, 0.1][int(9)];
    case 3: {
      const lens = [0, 1, 5, 31, 32, 64, 65, 255, 256, rand() < 0.1 ? 70_000 : 300];
      const n = lens[int(lens.length)]!;
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(0x20 + int(95));
      return s;
    }
    case 4:
      return ['ψ≥2.9 ✓', 'naïve', '日本語テキスト', '😀 emoji', 'a'.repeat(40) + 'é'][int(5)];
    case 5: {
      const lens = [0, 3, 255, 256, rand() < 0.1 ? 65_535 : 2, rand() < 0.1 ? 65_536 : 4];
      const b = new Uint8Array(lens[int(lens.length)]!);
      for (let i = 0; i < b.length; i += 97) b[i] = int(256);
      return b;
    }
    case 6:
      return int(1000);
    case 7: {
      const n = [0, 1, 15, 16, 17][int(5)]!;
      return Array.from({ length: n }, () => randomValue(rand, depth + 1));
    }
    default: {
      const n = [0, 1, 2, 15, 16, 17][int(6)]!;
      const o: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) o[`k${int(50)}_${i}`] = randomValue(rand, depth + 1);
      return o;
    }
  }
}

const tellOf = (payload: unknown, id = 1): Envelope => ({ version: WIRE_VERSION, id, from: NODE_A, to: TO, type: 'actor.tell', body: { payload } }) as unknown as Envelope;

function write(envs: readonly Envelope[], limits: FrameLimits = BIG): Uint8Array {
  const w = new BatchWriter();
  for (const e of envs) w.append(e.id, e.from, e.to, e.type, e.body, limits);
  return w.finish();
}

/** msgpackr reads byte strings as Buffers, this codec as plain Uint8Arrays: compare the bytes. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

const asArray = (e: Envelope): unknown[] => [e.version, e.id, e.from, e.to, e.type, e.body];

test('writer → msgpackr: 500 random payloads decode as msgpackr reads them, and as msgpackr would have written them', (t) => {
  const rand = rng(0xc0dec);
  for (let i = 0; i < 500; i++) {
    const env = tellOf(randomValue(rand), i * 7919);
    const ours = write([env]);
    t.deepEqual(plain(packr.unpack(ours)), plain(asArray(env)), `case ${i}`);
    // and our reader agrees with msgpackr on msgpackr's own encoding of the same envelope
    const theirs = packr.pack(asArray(env));
    t.deepEqual(readMsgpack(theirs, 40).value, plain(packr.unpack(theirs)), `case ${i}`);
  }
});

test('reader → msgpackr agreement on random frames with every container width', (t) => {
  const rand = rng(0x5eed5);
  for (let i = 0; i < 60; i++) {
    const v = { list: Array.from({ length: [0, 15, 16, 65_536][i % 4]! }, (_, j) => j % 300), map: randomValue(rand) };
    const bytes = packr.pack(v);
    const ours = readMsgpack(bytes, 40).value as typeof v;
    const theirs = packr.unpack(bytes) as typeof v;
    t.is(ours.list.length, v.list.length);
    t.true(ours.list.every((x, j) => x === theirs.list[j]));
    t.deepEqual(ours.map, plain(theirs.map));
  }
});

test('maps of 16 and 65,536 keys are written with widened heads', (t) => {
  for (const n of [15, 16, 65_536]) {
    const payload = Object.fromEntries(Array.from({ length: n }, (_, i) => [`key${i}`, i]));
    const frame = write([tellOf(payload)]);
    const back = (decodeFrame(frame, BIG) as Envelope<'actor.tell'>).body.payload as Record<string, number>;
    const theirs = ((packr.unpack(frame) as unknown[])[5] as { payload: Record<string, number> }).payload;
    for (const got of [back, theirs]) {
      t.is(Object.keys(got).length, n);
      t.true(Object.entries(got).every(([k, v]) => k === `key${v}`));
    }
  }
});

test('-0 arrives as 0; a lone surrogate arrives as U+FFFD', (t) => {
  const back = decodeFrame(write([tellOf({ z: -0, s: 'a\ud800b' })])) as Envelope<'actor.tell'>;
  t.true(Object.is((back.body.payload as { z: number }).z, 0));
  t.is((back.body.payload as { s: string }).s, 'a\ufffdb');
});

test('a batch built in place decodes in order, with 1-, 3- and 5-byte batch heads', (t) => {
  const fixtures = fixtureEnvelopes();
  for (const n of [1, 2, 15, 16, 65_536, 70_000]) {
    const envs = Array.from({ length: n }, (_, i) => ({ ...fixtures[i % fixtures.length]!, id: i }) as Envelope);
    const frame = write(envs);
    const head = frame[0]!;
    if (n === 1) t.is(head, 0x96);
    else if (n <= 15) t.is(head, 0x90 | n);
    else t.is(head, n <= 0xffff ? 0xdc : 0xdd);
    const back = decodeFrames(frame, BIG);
    t.is(back.length, n);
    if (n < 100) t.deepEqual(back, envs);
    else t.true(back.every((e, i) => e.id === i && e.type === envs[i]!.type));
  }
});

test('append is atomic: a refused body or an oversized message leaves the batch as it was; removeLast takes one back', (t) => {
  const w = new BatchWriter(16);
  const limits: FrameLimits = { ...DEFAULT_FRAME_LIMITS, maxFrameBytes: 4096 };
  const size = w.append(1, NODE_A, TO, 'actor.tell', { payload: 'first' }, limits);
  const bad = t.throws(() => w.append(2, NODE_A, TO, 'actor.tell', { payload: { x: new Float32Array(2) } }, limits), { instanceOf: QallowError });
  t.is(bad?.code, 'BAD_PARAMETER');
  const big = t.throws(() => w.append(3, NODE_A, TO, 'actor.tell', { payload: 'x'.repeat(10_000) }, limits), { instanceOf: QallowError });
  t.is(big?.details['reason'], 'oversized');
  const huge = t.throws(() => w.append(4, NODE_A, TO, 'actor.tell', { payload: [new Uint8Array(3000), new Uint8Array(3000)] }, limits), { instanceOf: QallowError });
  t.is(huge?.details['reason'], 'oversized');
  t.is(w.count, 1);
  t.is(w.bytes, size);
  const second = w.append(5, NODE_A, TO, 'actor.tell', { payload: 'second' }, limits);
  const third = w.append(6, NODE_A, TO, 'actor.tell', { payload: 'third' }, limits);
  const taken = w.removeLast(third);
  t.deepEqual(decodeFrame(taken), tellOf('third', 6));
  t.is(w.bytes, size + second);
  t.deepEqual(decodeFrames(w.finish()), [tellOf('first', 1), tellOf('second', 5)]);
  t.throws(() => w.append(7, NODE_A, TO, 'actor.tell', { payload: 1 }, limits), { instanceOf: QallowError });
});

test('a payload that changes while it is written is refused, not written half-checked', (t) => {
  const w = new BatchWriter();
  let reads = 0;
  const sly = {
    get x(): unknown {
      // plain data for the body check, something else for the writer
      return ++reads === 1 ? 1 : new Float32Array(1);
    },
  };
  const e = t.throws(() => w.append(1, NODE_A, TO, 'actor.tell', { payload: sly }, DEFAULT_FRAME_LIMITS), { instanceOf: QallowError });
  t.is(e?.code, 'BAD_PARAMETER');
  t.is(e?.details['field'], 'body');
  t.is(w.count, 0);
});

test('reader: a __proto__ key, an integer key, an extension and a bad length are BAD_FRAME; nothing else is thrown', (t) => {
  const proto = new Uint8Array([0x96, 0x01, 0x07, 0xa1, 0x61, 0xa1, 0x62, 0xaa, ...Buffer.from('actor.tell'), 0x81, 0xa7, ...Buffer.from('payload'), 0x81, 0xa9, ...Buffer.from('__proto__'), 0x01]);
  const cases: [Uint8Array, string][] = [
    [proto, 'malformed'],
    [new Uint8Array([0x81, 0x01, 0x02]), 'malformed'],
    [new Uint8Array([0x92, 0xd4, 0x00, 0x00]), 'malformed'],
    [new Uint8Array([0x91, 0xc5, 0xff, 0xff, 0x00]), 'truncated'],
  ];
  for (const [bytes, reason] of cases) {
    const e = t.throws(() => decodeFrames(bytes), { instanceOf: QallowError });
    t.is(e?.code, 'BAD_FRAME');
    t.is(e?.details['reason'], reason, e?.message);
    t.throws(() => readMsgpack(bytes, 40), { instanceOf: ScanError });
  }
});

test('reader string cache: strings alike in length and sampled bytes still decode as themselves', (t) => {
  // same length, first, last, middle and quarter bytes: the same cache slot
  const a = 'qallow://node-b/aXcdefghijklmnop';
  const b = 'qallow://node-b/aYcdefghijklmnop';
  t.is(a.length, b.length);
  for (let i = 0; i < 50; i++) {
    const s = i % 3 === 0 ? b : a;
    t.is(readMsgpack(packr.pack(s), 4).value, s);
  }
  // decoded byte strings are copies, not views of the frame
  const frame = packr.pack([new Uint8Array([1, 2, 3])]);
  const [bytes] = readMsgpack(frame, 4).value as [Uint8Array];
  frame.fill(0);
  t.deepEqual([...bytes], [1, 2, 3]);
  t.is(bytes.byteOffset, 0);
});

test('fuzz: the writer never writes what the reader refuses', (t) => {
  const rand = rng(0xfeed);
  let frames = 0;
  for (let i = 0; i < 200; i++) {
    const envs = Array.from({ length: 1 + Math.floor(rand() * 20) }, (_, j) => tellOf(randomValue(rand), j));
    try {
      const back = decodeFrames(write(envs), BIG);
      t.is(back.length, envs.length);
      frames++;
    } catch (e) {
      t.fail(`case ${i}: ${isQallowError(e) ? `${e.code} ${e.message}` : String(e)}`);
    }
  }
  t.is(frames, 200);
});

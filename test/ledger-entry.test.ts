/**
 * Ledger entries: round trip per kind (fixtures typed per kind in
 * helpers/ledger.ts), the byte layout rebuilt by hand, exact float64 figures
 * (NaN, −0), and the decoder naming the bad field for every kind of damage.
 */
import { createHash } from 'node:crypto';
import test from 'ava';
import { nodeId } from '../runtime/actors/address.js';
import { isQallowError } from '../runtime/errors.js';
import { ENTRY_KINDS, ZERO_HASH, decodeEntry, encodeEntry, entryHash, type LedgerEntry } from '../runtime/ledger/entry.js';
import { DETAILS, entryOf } from './helpers/ledger.js';

const A = nodeId('node-a');

for (const kind of ENTRY_KINDS) {
  test(`round trip: ${kind}`, (t) => {
    const e = entryOf(kind, A, 3, 'cd'.repeat(32)) as LedgerEntry;
    const bytes = encodeEntry(e);
    t.deepEqual(decodeEntry(bytes), e);
    t.is(entryHash(e), createHash('sha256').update(bytes).digest('hex'));
    t.deepEqual(encodeEntry(decodeEntry(bytes)), bytes, 'one encoding per entry');
  });
}

test('every kind has a fixture and a distinct encoding', (t) => {
  t.deepEqual(Object.keys(DETAILS).sort(), [...ENTRY_KINDS].sort());
  const hashes = new Set(ENTRY_KINDS.map((k) => entryHash(entryOf(k, A, 1, ZERO_HASH) as LedgerEntry)));
  t.is(hashes.size, ENTRY_KINDS.length);
});

test('the byte layout, rebuilt by hand for a rollback entry', (t) => {
  const e = entryOf('rollback', A, 2, '11'.repeat(32), { run: 'r', epoch: 7, tick: 7000, timestamp: 5, decision: 'rollback' }) as LedgerEntry;
  const parts: Buffer[] = [];
  const u32 = (v: number): void => void parts.push(Buffer.from(new Uint32Array([v]).buffer));
  const u64 = (v: number): void => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    parts.push(b);
  };
  const f64 = (v: number): void => {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    parts.push(b);
  };
  const str = (s: string): void => {
    u32(Buffer.byteLength(s));
    parts.push(Buffer.from(s));
  };
  str('qallow/ledger-entry/v1');
  str('node-a');
  u64(2);
  parts.push(Buffer.from('11'.repeat(32), 'hex'));
  parts.push(Buffer.of(2)); // rollback
  str('r');
  u32(7);
  u64(7000);
  parts.push(Buffer.from('ab'.repeat(32), 'hex'));
  f64(e.figures.minTotal);
  f64(e.figures.maxEntropy);
  u32(4);
  u32(4);
  str('rollback');
  u32(3);
  str(DETAILS.rollback.reason);
  u64(5);
  t.deepEqual(Buffer.from(encodeEntry(e)), Buffer.concat(parts));
});

test('figures are exact float64: NaN, −0, infinities and subnormals survive', (t) => {
  for (const v of [NaN, -0, Infinity, -Infinity, 5e-324, 2.9000000000000004]) {
    const e = entryOf('ethics_check', A, 1, ZERO_HASH, { figures: { minTotal: v, maxEntropy: -v, passed: 0, lanes: 3 }, decision: 'fail' }) as LedgerEntry;
    const back = decodeEntry(encodeEntry(e));
    t.true(Object.is(back.figures.minTotal, v), String(v));
    t.true(Object.is(back.figures.maxEntropy, -v), String(-v));
  }
});

test('NaN has one encoding: a NaN with another bit pattern is refused by name', (t) => {
  const bytes = encodeEntry(entryOf('ethics_check', A, 1, ZERO_HASH, { figures: { minTotal: NaN, maxEntropy: 0, passed: 0, lanes: 1 } }) as LedgerEntry);
  const buf = Buffer.from(bytes);
  const at = buf.indexOf(Buffer.from('000000000000f87f', 'hex'));
  t.true(at > 0);
  buf[at + 7] = 0xff; // negative NaN
  const e = t.throws(() => decodeEntry(buf));
  t.true(isQallowError(e, 'LEDGER_BAD_ENTRY') && e.details['field'] === 'figures.minTotal');
});

function field(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    if (isQallowError(e)) return `${e.code}:${String(e.details['field'])}`;
    throw e;
  }
  return 'accepted';
}

test('decoding names the bad field', (t) => {
  const good = encodeEntry(entryOf('halt', A, 1, ZERO_HASH) as LedgerEntry);
  const purposeLen = 4 + 'qallow/ledger-entry/v1'.length;
  const kindAt = purposeLen + 4 + 6 + 8 + 32;
  const patched = (at: number, v: number): Uint8Array => {
    const b = new Uint8Array(good);
    b[at] = v;
    return b;
  };
  t.is(field(() => decodeEntry(patched(4, 0x51))), 'LEDGER_BAD_ENTRY:purpose');
  t.is(field(() => decodeEntry(patched(kindAt, 9))), 'LEDGER_BAD_ENTRY:kind');
  t.is(field(() => decodeEntry(patched(kindAt, 0))), 'LEDGER_BAD_ENTRY:kind');
  t.is(field(() => decodeEntry(patched(purposeLen + 4, 'N'.charCodeAt(0)))), 'LEDGER_BAD_ENTRY:origin', 'node ids are lowercase');
  t.is(field(() => decodeEntry(patched(purposeLen + 4, 0xff))), 'LEDGER_BAD_ENTRY:origin', 'invalid UTF-8');
  t.is(field(() => decodeEntry(patched(purposeLen + 4 + 6, 0))), 'LEDGER_BAD_ENTRY:seq', 'seq 0');
  t.is(field(() => decodeEntry(patched(purposeLen + 4 + 6 + 8, 1))), 'LEDGER_BAD_ENTRY:prevHash', 'seq 1 must follow zeros');
  t.is(field(() => decodeEntry(good.subarray(0, good.length - 3))), 'LEDGER_BAD_ENTRY:timestamp');
  t.is(field(() => decodeEntry(Buffer.concat([good, Buffer.of(0)]))), 'LEDGER_BAD_ENTRY:end');
  t.is(field(() => decodeEntry(new Uint8Array(0))), 'LEDGER_BAD_ENTRY:purpose');
});

test('an entry is decoded or refused for every single-byte change, never misread', (t) => {
  const e = entryOf('adaptation', A, 4, 'ee'.repeat(32)) as LedgerEntry;
  const good = encodeEntry(e);
  const h = entryHash(e);
  let refused = 0;
  for (let i = 0; i < good.length; i++) {
    const b = new Uint8Array(good);
    b[i]! ^= 0x01;
    let back: LedgerEntry | undefined;
    try {
      back = decodeEntry(b);
    } catch (err) {
      t.true(isQallowError(err, 'LEDGER_BAD_ENTRY'), `byte ${i}`);
      refused++;
      continue;
    }
    // What decodes is a different entry, with a different hash and the same bytes back.
    t.notDeepEqual(back, e, `byte ${i}`);
    t.deepEqual(encodeEntry(back), b, `byte ${i}`);
    t.not(createHash('sha256').update(b).digest('hex'), h);
  }
  t.true(refused > 0);
});

test('encoding validates and names the field (BAD_PARAMETER)', (t) => {
  const base = entryOf('adaptation', A, 2, '22'.repeat(32)) as LedgerEntry;
  const cases: [string, Record<string, unknown>][] = [
    ['origin', { origin: 'Not A Node' }],
    ['seq', { seq: 0 }],
    ['seq', { seq: 1.5 }],
    ['prevHash', { prevHash: 'xyz' }],
    ['prevHash', { prevHash: ZERO_HASH }],
    ['kind', { kind: 'vote' }],
    ['stateHash', { stateHash: 'AB'.repeat(32) }],
    ['figures.passed', { figures: { minTotal: 3, maxEntropy: 0, passed: 5, lanes: 4 } }],
    ['decision', { decision: '' }],
    ['detail.toCoupling', { detail: { rings: [0, 1], fromCoupling: [1, 2], toCoupling: [1] } }],
    ['detail.fromCoupling[1]', { detail: { rings: [0, 1], fromCoupling: [1, NaN], toCoupling: [1, 2] } }],
    ['detail.extra', { detail: { ...DETAILS.adaptation, extra: 1 } }],
    ['run', { run: '\ud800' }],
    ['timestamp', { timestamp: -1 }],
  ];
  for (const [name, patch] of cases) {
    t.is(field(() => encodeEntry({ ...base, ...patch } as LedgerEntry)), `BAD_PARAMETER:${name}`, name);
  }
});

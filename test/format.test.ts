/**
 * runtime/format.ts: formatG9 must be glibc's `%.9g` byte for byte (the CSVs
 * are compared with the original C output), and parseCNumber must read what
 * it writes. The last tests check formatG against C's printf itself on a few
 * thousand deterministic values.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { formatG, formatG9, parseCNumber } from '../runtime/format.js';
import { tempDir } from './helpers/cli.js';

const run = promisify(execFile);
const f32 = Math.fround;

test('formatG9 rounds exact decimal ties half to even, like glibc', (t) => {
  t.is(formatG9(1.001953125), '1.00195312'); // ...125: tie, 2 is even → down (toPrecision says ...13)
  t.is(formatG9(1.005859375), '1.00585938'); // ...375: tie, 7 is odd → up
  t.is(formatG9(123456788.5), '123456788'); // tie at the units digit, 8 even
  t.is(formatG9(123456787.5), '123456788'); // tie, 7 odd → up
  t.is(formatG9(1.0019531250000002), '1.00195313'); // just above the tie → up
});

test('formatG9 writes exponents with a sign and at least two digits', (t) => {
  t.is(formatG9(1e-5), '1e-05');
  t.is(formatG9(2.5e19), '2.5e+19');
  t.is(formatG9(f32(5.46584261e-6)), '5.46584261e-06');
  t.is(formatG9(1.5e-7), '1.5e-07');
  t.is(formatG9(1e21), '1e+21');
  t.is(formatG9(1e-300), '1e-300');
  t.is(formatG9(5e-324), '4.94065646e-324');
  t.is(formatG9(Number.MAX_VALUE), '1.79769313e+308');
});

test('formatG9 switches between fixed and exponent form where %g does', (t) => {
  t.is(formatG9(1e-4), '0.0001');
  t.is(formatG9(1e-5), '1e-05');
  t.is(formatG9(0.000123456789), '0.000123456789');
  t.is(formatG9(123456789), '123456789');
  t.is(formatG9(1e9), '1e+09');
  t.is(formatG9(1234567890), '1.23456789e+09');
  // the switch uses the exponent after rounding
  t.is(formatG9(999999999.5), '1e+09');
  t.is(formatG9(0.000099999999999), '0.0001');
});

test('formatG9 strips trailing zeros and a bare decimal point', (t) => {
  t.is(formatG9(0.5), '0.5');
  t.is(formatG9(2), '2');
  t.is(formatG9(100), '100');
  t.is(formatG9(0.1), '0.1');
  t.is(formatG9(f32(0.1)), '0.100000001');
  t.is(formatG9(1.25e-10), '1.25e-10');
  t.is(formatG9(0), '0');
});

test('formatG9 writes negative numbers and -0', (t) => {
  t.is(formatG9(-1.5), '-1.5');
  t.is(formatG9(-1e-5), '-1e-05');
  t.is(formatG9(-1.001953125), '-1.00195312');
  t.is(formatG9(-123456789), '-123456789');
  t.is(formatG9(-0), '-0');
});

test('formatG9 writes non-finite values as inf, -inf, nan', (t) => {
  t.is(formatG9(Infinity), 'inf');
  t.is(formatG9(-Infinity), '-inf');
  t.is(formatG9(NaN), 'nan');
});

test('formatG takes other precisions', (t) => {
  t.is(formatG(Math.PI, 6), '3.14159');
  t.is(formatG(Math.PI, 1), '3');
  t.is(formatG(0.5, 1), '0.5');
  t.is(formatG(2.5, 1), '2'); // tie → even
  t.is(formatG(123456, 3), '1.23e+05');
  t.is(formatG(Math.PI), formatG9(Math.PI));
});

test('parseCNumber reads C spellings of non-finite values', (t) => {
  t.is(parseCNumber('inf'), Infinity);
  t.is(parseCNumber('+inf'), Infinity);
  t.is(parseCNumber('-inf'), -Infinity);
  t.true(Number.isNaN(parseCNumber('nan')));
  t.true(Number.isNaN(parseCNumber('-nan')));
});

test('parseCNumber reads finite numbers in fixed and exponent form', (t) => {
  t.is(parseCNumber('0'), 0);
  t.true(Object.is(parseCNumber('-0'), -0));
  t.is(parseCNumber('1e-05'), 1e-5);
  t.is(parseCNumber('2.5e+19'), 2.5e19);
  t.is(parseCNumber('-1.00195312'), -1.00195312);
  t.is(parseCNumber('0.000698999967'), 0.000698999967);
});

test('parseCNumber rejects text that is not a number', (t) => {
  for (const s of ['', '  ', 'abc', '1.2.3', '0.1x', 'infinite']) {
    t.throws(() => parseCNumber(s), { instanceOf: RangeError }, JSON.stringify(s));
  }
});

/** mulberry32: a small seeded PRNG, so the values (and any failure) are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return (x ^ (x >>> 14)) >>> 0;
  };
}

const view = new DataView(new ArrayBuffer(8));

function float32FromBits(bits: number): number {
  view.setUint32(0, bits);
  return view.getFloat32(0);
}

function hex64(x: number): string {
  view.setFloat64(0, x);
  return view.getUint32(0).toString(16).padStart(8, '0') + view.getUint32(4).toString(16).padStart(8, '0');
}

interface Sample {
  readonly precision: number;
  readonly value: number;
}

/** Deterministic values that exercise every branch of %g. */
function samples(): Sample[] {
  const next = prng(0x9a110);
  const out: Sample[] = [];
  const add = (value: number, precision = 9): void => void out.push({ precision, value });
  // random finite float32 bit patterns (any sign, normals and subnormals), widened to double
  while (out.length < 3000) {
    const bits = next();
    if (((bits >>> 23) & 0xff) === 0xff) continue;
    add(float32FromBits(bits));
  }
  // ethics totals as the CSV writes them: S + C + H of float32 values, summed in double
  const unit = (): number => f32(next() / 2 ** 32);
  for (let i = 0; i < 500; i++) add(unit() + unit() + unit());
  // random finite doubles
  for (let i = 0; i < 500; i++) {
    view.setUint32(0, next());
    view.setUint32(4, next());
    const d = view.getFloat64(0);
    if (Number.isFinite(d)) add(d);
  }
  // exact ties at the 9th significant digit: 9-digit integers + 0.5, and k / 2^10 with 10 significant digits
  for (let i = 0; i < 200; i++) add(100000000 + (next() % 900000000) + 0.5);
  for (let i = 0; i < 200; i++) add((1024 + (next() % 1024)) / 1024);
  // around every power of ten: the fixed/exponent switch and the carry into a new decade
  for (let e = -320; e <= 308; e++) {
    const p = Number(`1e${e}`);
    add(p);
    add(p * (1 - 2 ** -52));
    add(p * (1 - 1e-10));
    add(-p * (1 + 2 ** -50));
  }
  // other precisions
  for (let i = 0; i < 300; i++) add(float32FromBits(next() & 0x7f7fffff), 1 + (i % 17));
  add(0);
  add(-0);
  return out;
}

const C_SOURCE = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
  if (argc != 2) return 2;
  FILE *in = fopen(argv[1], "r");
  if (!in) return 3;
  int p; unsigned long long bits; double d;
  while (fscanf(in, "%d %llx", &p, &bits) == 2) {
    memcpy(&d, &bits, sizeof d);
    printf("%.*g\\n", p, d);
  }
  fclose(in);
  return 0;
}
`;

test('formatG matches C printf("%.*g") on a few thousand values', async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'g.c');
  const exe = join(dir, 'g');
  const input = join(dir, 'values.txt');
  const values = samples();
  await writeFile(src, C_SOURCE);
  await writeFile(input, values.map((s) => `${s.precision} ${hex64(s.value)}\n`).join(''));
  // gcc (glibc) is part of the test environment; a missing compiler fails this test.
  await run('gcc', ['-O0', '-o', exe, src]);
  const { stdout } = await run(exe, [input], { maxBuffer: 64 * 1024 * 1024 });
  const expected = stdout.split('\n');
  t.is(expected.length, values.length + 1, 'one line per value');
  const mismatches: string[] = [];
  values.forEach((s, i) => {
    const ours = formatG(s.value, s.precision);
    if (ours !== expected[i]) mismatches.push(`%.${s.precision}g of ${hex64(s.value)} (${s.value}): C "${expected[i]}", formatG "${ours}"`);
  });
  t.deepEqual(mismatches.slice(0, 20), [], `${mismatches.length} of ${values.length} differ`);
  t.true(values.length > 4000);
});

test('parseCNumber(formatG9(x)) round-trips every float32', (t) => {
  const next = prng(0x5eed);
  let checked = 0;
  for (let i = 0; i < 5000; i++) {
    const bits = next();
    if (((bits >>> 23) & 0xff) === 0xff) continue;
    const x = float32FromBits(bits);
    const back = f32(parseCNumber(formatG9(x)));
    if (!Object.is(back, x)) {
      t.fail(`${x} → "${formatG9(x)}" → ${back}`);
      return;
    }
    checked++;
  }
  t.true(checked > 4900);
});

/**
 * SPEC §1 "Input handling" and §2 exit codes, through the real CLI process:
 * one test per bad-input rule (exit 2, a one-line error naming the
 * parameter, no CSV rows on stdout), and the accepted side (`--reference`
 * guards, eps clamping, unvalidated k under --reference).
 *
 * Negative values: commander gives a required option-argument (`<value>`)
 * the next word even when it starts with a dash, so `--eps -0.5` and
 * `--eps=-0.5` both parse (checked below with both forms for eps and ticks;
 * the `=` form is the one that cannot be mistaken for a flag).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { runCli, tempDir, type CliResult } from './helpers/cli.js';

const P13 = ['simulate', 'phase13'];
const P12 = ['simulate', 'phase12'];

interface BadCase {
  readonly title: string;
  readonly args: string[];
  /** Words the one-line error must contain: the parameter (and, for limits, the limit). */
  readonly mentions: readonly string[];
}

const BAD: readonly BadCase[] = [
  // phase 13: ticks ≥ 1
  { title: 'phase13 --ticks 0', args: [...P13, '--pockets', '8', '--ticks', '0', '--coupling', '0.001'], mentions: ['ticks'] },
  { title: 'phase13 --ticks -5 (separate word)', args: [...P13, '--pockets', '8', '--ticks', '-5', '--coupling', '0.001'], mentions: ['ticks'] },
  { title: 'phase13 --ticks=-5', args: [...P13, '--pockets', '8', '--ticks=-5', '--coupling', '0.001'], mentions: ['ticks'] },
  // pockets ≥ 2 without --reference
  { title: 'phase13 --pockets 1', args: [...P13, '--pockets', '1', '--ticks', '10', '--coupling', '0.001'], mentions: ['pockets'] },
  // rings × pockets within the limit
  {
    title: 'phase13 --max-pockets 100 with 64 pockets × 2 rings',
    args: [...P13, '--pockets', '64', '--rings', '2', '--max-pockets', '100', '--ticks', '10', '--coupling', '0.001'],
    mentions: ['pockets', '100'],
  },
  {
    title: 'phase13 --pockets 16777217 above the default limit 2^24',
    args: [...P13, '--pockets', '16777217', '--ticks', '1', '--coupling', '0.001'],
    mentions: ['pockets', '16777216'],
  },
  // coupling finite and ≥ 0, one value or one per ring
  { title: 'phase13 --coupling inf', args: [...P13, '--pockets', '8', '--ticks', '10', '--coupling', 'inf'], mentions: ['coupling'] },
  { title: 'phase13 --coupling nan', args: [...P13, '--pockets', '8', '--ticks', '10', '--coupling', 'nan'], mentions: ['coupling'] },
  { title: 'phase13 --coupling=-0.1', args: [...P13, '--pockets', '8', '--ticks', '10', '--coupling=-0.1'], mentions: ['coupling'] },
  {
    title: 'phase13 --rings 3 with 2 couplings',
    args: [...P13, '--pockets', '8', '--ticks', '10', '--rings', '3', '--coupling', '0.001,0.002'],
    mentions: ['coupling'],
  },
  // phase 12: ticks ≥ 1, eps finite
  { title: 'phase12 --ticks 0', args: [...P12, '--ticks', '0', '--eps', '0.001'], mentions: ['ticks'] },
  { title: 'phase12 --eps inf', args: [...P12, '--ticks', '10', '--eps', 'inf'], mentions: ['eps'] },
  // malformed numbers are usage errors naming the flag
  { title: 'phase13 --ticks 10abc', args: [...P13, '--pockets', '8', '--ticks', '10abc', '--coupling', '0.001'], mentions: ['--ticks'] },
  { title: 'phase12 --eps 0.1x', args: [...P12, '--ticks', '10', '--eps', '0.1x'], mentions: ['--eps'] },
  // unknown backend, command, flag; missing required flag
  {
    title: 'phase13 --backend quantum',
    args: [...P13, '--pockets', '8', '--ticks', '10', '--coupling', '0.001', '--backend', 'quantum'],
    mentions: ['--backend', 'quantum'],
  },
  { title: 'unknown command', args: ['frobnicate'], mentions: ['frobnicate'] },
  { title: 'unknown flag', args: [...P13, '--pockets', '8', '--ticks', '10', '--coupling', '0.001', '--bogus-flag'], mentions: ['--bogus-flag'] },
  { title: 'missing required --pockets', args: [...P13, '--ticks', '10', '--coupling', '0.001'], mentions: ['--pockets'] },
];

/** A CSV data row: starts with a (ring/strand or tick) integer and a comma. */
const CSV_ROW = /^-?\d+,/m;

for (const c of BAD) {
  test(`rejects ${c.title}: exit 2, one-line error naming it`, async (t) => {
    const r = await runCli(c.args);
    t.is(r.code, 2, `stderr: ${r.stderr}`);
    t.regex(r.stderr, /^[^\n]+\n$/, 'stderr is exactly one line');
    for (const word of c.mentions) t.true(r.stderr.includes(word), `stderr names ${word}: ${r.stderr}`);
    t.notRegex(r.stdout, CSV_ROW, 'no CSV rows on stdout');
    t.false(r.stdout.includes('"qallow"'), 'no CSV rows on stdout');
  });
}

/** Run a simulation into a CSV file in `dir`; asserts exit 0 and returns the file's bytes. */
async function csvOf(t: ExecutionContext, dir: string, name: string, args: string[]): Promise<Buffer> {
  const file = join(dir, `${name}.csv`);
  const r: CliResult = await runCli([...args, '--backend', 'js', '--csv', file]);
  // Thrown rather than asserted: reading a CSV that was never written would hide why.
  if (r.code !== 0) throw new Error(`qallow ${args.join(' ')} exited ${r.code}; stderr: ${r.stderr}; stdout: ${r.stdout.slice(0, 2000)}`);
  t.pass();
  return readFile(file);
}

function assertRows(t: ExecutionContext, csv: Buffer, rows: number): void {
  const lines = csv.toString('utf8').trimEnd().split('\n');
  t.is(lines.length, rows + 1, 'header and one row per tick');
}

const RUN13 = ['--ticks', '20', '--coupling', '0.002'];

test('--reference promotes --pockets 1 to 2 (same CSV as --pockets 2)', async (t) => {
  const dir = await tempDir(t);
  const [ref, plain] = await Promise.all([
    csvOf(t, dir, 'ref1', [...P13, '--reference', '--pockets', '1', ...RUN13]),
    csvOf(t, dir, 'plain2', [...P13, '--pockets', '2', ...RUN13]),
  ]);
  assertRows(t, plain, 20);
  t.true(ref.equals(plain), 'byte-identical CSVs');
});

test('--reference caps --pockets 40 at 32 (same CSV as --pockets 32)', async (t) => {
  const dir = await tempDir(t);
  const [ref, plain] = await Promise.all([
    csvOf(t, dir, 'ref40', [...P13, '--reference', '--pockets', '40', ...RUN13]),
    csvOf(t, dir, 'plain32', [...P13, '--pockets', '32', ...RUN13]),
  ]);
  assertRows(t, plain, 20);
  t.true(ref.equals(plain), 'byte-identical CSVs');
});

test('a negative eps is accepted and clamped to 0 (both --eps -0.5 and --eps=-0.5)', async (t) => {
  const dir = await tempDir(t);
  const [spaced, joined, zero] = await Promise.all([
    csvOf(t, dir, 'neg-spaced', [...P12, '--ticks', '20', '--eps', '-0.5']),
    csvOf(t, dir, 'neg-joined', [...P12, '--ticks', '20', '--eps=-0.5']),
    csvOf(t, dir, 'zero', [...P12, '--ticks', '20', '--eps', '0']),
  ]);
  assertRows(t, zero, 20);
  t.true(spaced.equals(zero), '--eps -0.5 gives the CSV of eps 0');
  t.true(joined.equals(zero), '--eps=-0.5 gives the CSV of eps 0');
});

test('--reference accepts a negative coupling (the original does not validate k)', async (t) => {
  const dir = await tempDir(t);
  const csv = await csvOf(t, dir, 'negk', [...P13, '--reference', '--pockets', '8', '--ticks', '20', '--coupling=-0.1']);
  assertRows(t, csv, 20);
});

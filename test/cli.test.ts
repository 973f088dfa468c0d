/**
 * The `qallow` command line through the real executable (SPEC §2): help and
 * version, the simulate CSV (columns, rows, audit tag, stdout or --csv), the
 * --json summary, multi-ring and multi-strand layouts, and an I/O failure.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { runCli, tempDir } from './helpers/cli.js';

const PHASE13_HEADER = 'tick,avg_coherence,phase_drift,phase_energy,sustainability,compassion,harmony,ethics_total,audit_tag';
const PHASE12_HEADER = 'tick,coherence,entropy,decoherence,sustainability,compassion,harmony,ethics_total,audit_tag';

const RUN = ['simulate', 'phase13', '--pockets', '8', '--ticks', '50', '--coupling', '0.001', '--backend', 'js'];

function lines(text: string): string[] {
  return text.replace(/\n$/, '').split('\n');
}

/** Header line, then rows; asserts the text ends with a newline. */
function parseCsv(t: ExecutionContext, text: string): { header: string; rows: string[][] } {
  t.true(text.endsWith('\n'), 'CSV ends with a newline');
  const [header = '', ...rows] = lines(text);
  return { header, rows: rows.map((r) => r.split(',')) };
}

test('--help exits 0 and lists the commands and flags', async (t) => {
  const r = await runCli(['--help']);
  t.is(r.code, 0, r.stderr);
  for (const w of ['simulate', '--version', '--help']) t.true(r.stdout.includes(w), `mentions ${w}`);
});

test('simulate phase13 --help exits 0 and lists its flags', async (t) => {
  const r = await runCli(['simulate', 'phase13', '--help']);
  t.is(r.code, 0, r.stderr);
  for (const w of ['--pockets', '--ticks', '--coupling', '--rings', '--reference', '--csv', '--backend', '--audit-tag', '--json']) {
    t.true(r.stdout.includes(w), `mentions ${w}`);
  }
});

test('simulate phase12 --help exits 0 and lists its flags', async (t) => {
  const r = await runCli(['simulate', 'phase12', '--help']);
  t.is(r.code, 0, r.stderr);
  for (const w of ['--ticks', '--eps', '--csv', '--backend', '--audit-tag', '--json']) t.true(r.stdout.includes(w), `mentions ${w}`);
});

test('--version prints the package.json version', async (t) => {
  // dist/test/cli.test.js → the repository's package.json
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const r = await runCli(['--version']);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.trim(), pkg.version);
});

test('simulate phase13 --csv writes the original columns and one row per tick', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'out.csv');
  const r = await runCli([...RUN, '--csv', file]);
  t.is(r.code, 0, r.stderr);
  const { header, rows } = parseCsv(t, await readFile(file, 'utf8'));
  t.is(header, PHASE13_HEADER);
  t.is(rows.length, 50);
  rows.forEach((cells, i) => {
    t.is(cells.length, 9, `row ${i + 1} has 9 cells`);
    t.is(cells[0], String(i + 1), 'tick column counts from 1');
    t.is(cells[8], '"qallow"', 'default audit tag, quoted');
  });
  t.false(r.stdout.includes(PHASE13_HEADER), 'the CSV went to the file, not stdout');
});

test('--audit-tag fills the audit_tag column', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'tagged.csv');
  const r = await runCli([...RUN, '--audit-tag', 'run-7', '--csv', file]);
  t.is(r.code, 0, r.stderr);
  const { rows } = parseCsv(t, await readFile(file, 'utf8'));
  t.is(rows.length, 50);
  t.true(rows.every((cells) => cells[8] === '"run-7"'));
});

test('without --csv the CSV goes to stdout (and equals the --csv file)', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'same.csv');
  const [toStdout, toFile] = await Promise.all([runCli(RUN), runCli([...RUN, '--csv', file])]);
  t.is(toStdout.code, 0, toStdout.stderr);
  t.is(toFile.code, 0, toFile.stderr);
  const { header, rows } = parseCsv(t, toStdout.stdout);
  t.is(header, PHASE13_HEADER);
  t.is(rows.length, 50);
  t.is(toStdout.stdout, await readFile(file, 'utf8'), 'stdout holds exactly the CSV');
});

interface JsonSummary {
  readonly phase: string;
  readonly backend: { readonly backend: string };
  readonly executor: string;
  readonly ticks: number;
  readonly final: ReadonlyArray<{ readonly final: Readonly<Record<string, unknown>> }>;
}

test('--json prints one JSON summary object on stdout', async (t) => {
  const r = await runCli([...RUN, '--json']);
  t.is(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  t.is(out.length, 1, 'one line on stdout');
  const parsed: unknown = JSON.parse(out[0]!);
  t.true(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed), 'an object');
  for (const key of ['phase', 'backend', 'executor', 'ticks', 'final']) t.true(Object.hasOwn(parsed as object, key), `has ${key}`);
  const s = parsed as JsonSummary;
  t.is(s.phase, 'phase13');
  t.is(s.ticks, 50);
  t.is(s.backend.backend, 'js');
  t.is(s.final.length, 1);
  t.is(typeof s.final[0]!.final['ethics_total'], 'number');
});

test('several couplings: a leading ring column, rows by tick then ring', async (t) => {
  const ticks = 10;
  const r = await runCli(['simulate', 'phase13', '--pockets', '8', '--ticks', String(ticks), '--coupling', '0.001,0.002', '--backend', 'js']);
  t.is(r.code, 0, r.stderr);
  const { header, rows } = parseCsv(t, r.stdout);
  t.is(header, `ring,${PHASE13_HEADER}`);
  t.is(rows.length, 2 * ticks);
  rows.forEach((cells, i) => {
    t.is(cells.length, 10);
    t.is(cells[0], String(i % 2), `row ${i}: ring`);
    t.is(cells[1], String(Math.floor(i / 2) + 1), `row ${i}: tick`);
  });
  // the two rings really carry different couplings
  t.notDeepEqual(rows[0]!.slice(2), rows[1]!.slice(2));
});

test('phase12 with several eps: a leading strand column, rows by tick then strand', async (t) => {
  const ticks = 10;
  const r = await runCli(['simulate', 'phase12', '--ticks', String(ticks), '--eps', '0.001,0.01', '--backend', 'js']);
  t.is(r.code, 0, r.stderr);
  const { header, rows } = parseCsv(t, r.stdout);
  t.is(header, `strand,${PHASE12_HEADER}`);
  t.is(rows.length, 2 * ticks);
  rows.forEach((cells, i) => {
    t.is(cells.length, 10);
    t.is(cells[0], String(i % 2), `row ${i}: strand`);
    t.is(cells[1], String(Math.floor(i / 2) + 1), `row ${i}: tick`);
  });
});

test('--csv into a missing directory exits 1 with a one-line error naming the path', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'no-such-dir', 'out.csv');
  const r = await runCli([...RUN, '--csv', file]);
  t.is(r.code, 1);
  t.regex(r.stderr, /^[^\n]+\n$/, 'stderr is exactly one line');
  t.true(r.stderr.includes(file), `stderr names ${file}: ${r.stderr}`);
  t.notRegex(r.stdout, /^\d+,/m, 'no CSV rows on stdout');
});

test('the built CLI entry is executable, so the package bin works without `node`', async (t) => {
  const { statSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const mode = statSync(fileURLToPath(new URL('../bin/qallow.js', import.meta.url))).mode;
  t.true((mode & 0o111) !== 0, `mode ${mode.toString(8)}`);
});

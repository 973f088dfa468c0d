/**
 * The golden vectors travel with the repository (test/golden/, issue 11
 * item 7): SHA256SUMS lists the 134 vectors, NOTES.md and cases.tsv, every
 * listed file is there unchanged and nothing else is; the copy the golden
 * suites read (QALLOW_GOLDEN_DIR when set) matches the same sums; and the
 * check itself catches a missing, a changed and an unlisted file.
 */
import { copyFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { GOLDEN_DIR, REPO_GOLDEN_DIR, SUMS_FILE, checkGoldenDir, goldenCases, readSums } from './helpers/golden.js';
import { tempDir } from './helpers/cli.js';

const sums = readSums(join(REPO_GOLDEN_DIR, SUMS_FILE));

test('SHA256SUMS lists the 134 vectors, NOTES.md and cases.tsv', (t) => {
  const names = [...sums.keys()];
  t.is(names.filter((n) => n.endsWith('.csv')).length, 134);
  t.true(sums.has('NOTES.md'));
  t.true(sums.has('cases.tsv'));
  t.is(names.length, 136);
});

test('test/golden holds every file of SHA256SUMS, unchanged, and nothing else', (t) => {
  t.deepEqual(checkGoldenDir(REPO_GOLDEN_DIR, sums), []);
});

test('the vectors the golden suites read (QALLOW_GOLDEN_DIR when set) match SHA256SUMS', (t) => {
  t.deepEqual(checkGoldenDir(GOLDEN_DIR, sums), [], `GOLDEN_DIR = ${GOLDEN_DIR}`);
  t.is(goldenCases().length, 134);
});

test('the check names a missing, a changed and an unlisted file', async (t) => {
  const dir = await tempDir(t);
  await Promise.all([...sums.keys()].map((n) => copyFile(join(REPO_GOLDEN_DIR, n), join(dir, n))));
  t.deepEqual(checkGoldenDir(dir, sums), [], 'an exact copy passes');
  await rm(join(dir, 'NOTES.md'));
  await appendFile(join(dir, 'phase12_ticks1_eps0.csv'), '2,0,0,0,0,0,0,0\n');
  await writeFile(join(dir, 'phase12_ticks2_eps0.csv'), 'tick\n');
  const problems = checkGoldenDir(dir, sums);
  t.is(problems.length, 3, problems.join('\n'));
  t.regex(problems.find((p) => p.startsWith('NOTES.md')) ?? '', /missing/);
  t.regex(problems.find((p) => p.startsWith('phase12_ticks1_eps0.csv')) ?? '', /changed/);
  t.regex(problems.find((p) => p.startsWith('phase12_ticks2_eps0.csv')) ?? '', /not listed/);
});

test('a malformed SHA256SUMS line is a BAD_ENCODING error naming the line', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, SUMS_FILE);
  await writeFile(file, `${'0'.repeat(64)}  a.csv\nnot a sum\n`);
  const e = t.throws(() => readSums(file));
  t.is((e as { code?: string }).code, 'BAD_ENCODING');
  t.regex(e?.message ?? '', /line 2/);
});

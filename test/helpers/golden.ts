/**
 * The golden vectors and how to compare against them (NOTES §6). The 134
 * reference vectors, their NOTES.md and cases.tsv live in the repository in
 * test/golden/, with test/golden/SHA256SUMS (sha256sum format) that
 * golden-sums.test.ts checks; QALLOW_GOLDEN_DIR points the suites at another
 * copy of the same vectors instead (checked against the same SHA256SUMS).
 * Our CSV lines are compared byte for byte with the golden lines
 * (after dropping our audit_tag column and reading glibc's "-nan" as "nan"),
 * which is stricter than the float comparison NOTES §6 asks for; when a line
 * differs, `compareLine` says which column of which tick, by value.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QallowError } from '../../runtime/errors.js';
import { parseCNumber } from '../../runtime/format.js';

function repoRoot(): string {
  // dist/test/helpers → the directory holding package.json
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new QallowError('IO_ERROR', `no package.json above ${fileURLToPath(import.meta.url)}: run the tests from a qallow checkout`);
}

/** The repository's copy of the vectors, and the checksums every copy must match. */
export const REPO_GOLDEN_DIR: string = resolve(repoRoot(), 'test', 'golden');
export const SUMS_FILE = 'SHA256SUMS';
/** Files in a golden directory that are about the vectors, not vectors: not in SHA256SUMS. */
const NOT_SUMMED = new Set([SUMS_FILE, 'README.md']);

function findGoldenDir(): string {
  const override = process.env['QALLOW_GOLDEN_DIR'];
  if (override) {
    if (!existsSync(override) || !statSync(override).isDirectory()) {
      throw new QallowError('CONFIG_INVALID', `QALLOW_GOLDEN_DIR must name a directory of golden vectors (got "${override}"); unset it to use ${REPO_GOLDEN_DIR}`, { field: 'QALLOW_GOLDEN_DIR' });
    }
    return resolve(override);
  }
  if (!existsSync(join(REPO_GOLDEN_DIR, SUMS_FILE))) {
    throw new QallowError('IO_ERROR', `${join(REPO_GOLDEN_DIR, SUMS_FILE)} is missing: the golden vectors belong in test/golden/ (restore them with git checkout -- test/golden)`);
  }
  return REPO_GOLDEN_DIR;
}

export const GOLDEN_DIR: string = findGoldenDir();

/** SHA256SUMS (`<64 hex>  <name>` lines, as sha256sum writes them) → name → digest. */
export function readSums(file: string): Map<string, string> {
  const sums = new Map<string, string>();
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.length === 0) return;
      const m = /^([0-9a-f]{64}) [ *]([^/\\]+)$/.exec(line);
      if (!m) throw new QallowError('BAD_ENCODING', `${file} line ${i + 1} must be "<sha256 hex>  <file name>" (got "${line}")`, { field: `line ${i + 1}` });
      if (sums.has(m[2]!)) throw new QallowError('BAD_ENCODING', `${file} line ${i + 1} lists ${m[2]} a second time`, { field: `line ${i + 1}` });
      sums.set(m[2]!, m[1]!);
    });
  return sums;
}

/**
 * Check `dir` against `sums`: every listed file present with its digest, and
 * no file that is not listed (SHA256SUMS and README.md aside). Returns one line per
 * problem, empty when the directory matches.
 */
export function checkGoldenDir(dir: string, sums: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  const present = new Set(readdirSync(dir).filter((f) => !NOT_SUMMED.has(f)));
  for (const [name, digest] of sums) {
    if (!present.has(name)) {
      problems.push(`${name}: missing from ${dir}`);
      continue;
    }
    const actual = createHash('sha256').update(readFileSync(join(dir, name))).digest('hex');
    if (actual !== digest) problems.push(`${name}: sha256 ${actual} where ${SUMS_FILE} has ${digest} (the file was changed)`);
  }
  for (const name of [...present].sort()) if (!sums.has(name)) problems.push(`${name}: in ${dir} but not listed in ${SUMS_FILE}`);
  return problems;
}

export type GoldenCase =
  | { file: string; phase: 'phase12'; ticks: number; eps: string }
  | { file: string; phase: 'phase13'; uncapped: boolean; pockets: number; ticks: number; coupling: string };

export function goldenCases(): GoldenCase[] {
  const out: GoldenCase[] = [];
  for (const file of readdirSync(GOLDEN_DIR).sort()) {
    let m = /^phase12_ticks(\d+)_eps(-?[\d.]+)\.csv$/.exec(file);
    if (m) {
      out.push({ file, phase: 'phase12', ticks: Number(m[1]), eps: m[2]! });
      continue;
    }
    m = /^phase13_(uncapped_)?p(\d+)_t(\d+)_k([\d.]+)\.csv$/.exec(file);
    if (m) out.push({ file, phase: 'phase13', uncapped: m[1] !== undefined, pockets: Number(m[2]), ticks: Number(m[3]), coupling: m[4]! });
  }
  return out;
}

/** CLI arguments that reproduce a golden case (reference cases use --reference). */
export function cliArgs(c: GoldenCase): string[] {
  if (c.phase === 'phase12') return ['simulate', 'phase12', '--ticks', String(c.ticks), `--eps=${c.eps}`];
  const args = ['simulate', 'phase13', '--pockets', String(c.pockets), '--ticks', String(c.ticks), `--coupling=${c.coupling}`];
  if (!c.uncapped) args.push('--reference');
  return args;
}

export function goldenLines(file: string): string[] {
  return readFileSync(join(GOLDEN_DIR, file), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.replace(/-nan/g, 'nan'));
}

/** Our CSV text → lines comparable with golden lines (audit_tag dropped, optional lead column kept). */
export function ourLines(csv: string): string[] {
  return csv
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.replace(/,(?:"(?:[^"]|"")*"|audit_tag)$/, ''));
}

const COLS = 8;

/** NOTES §6 comparison of one line; returns a description of the first mismatch or null. */
export function compareLine(golden: string, ours: string): string | null {
  const g = golden.split(',');
  const o = ours.split(',');
  if (g.length !== COLS || o.length !== COLS) return `expected ${COLS} columns, got ${o.length}: ${ours}`;
  if (g[0] !== o[0]) return `tick ${o[0]} where golden has ${g[0]}`;
  const gv = g.map(parseCNumber);
  const ov = o.map(parseCNumber);
  for (let c = 1; c < 7; c++) {
    const a = Math.fround(gv[c]!);
    const b = Math.fround(ov[c]!);
    if (!Object.is(a, b) && !(Number.isNaN(a) && Number.isNaN(b))) return `tick ${g[0]} column ${c}: ${o[c]} where golden has ${g[c]}`;
  }
  const total = Math.fround(gv[4]!) + Math.fround(gv[5]!) + Math.fround(gv[6]!);
  const ours7 = Math.fround(ov[4]!) + Math.fround(ov[5]!) + Math.fround(ov[6]!);
  if (!Object.is(total, ours7) && !(Number.isNaN(total) && Number.isNaN(ours7))) return `tick ${g[0]} ethics_total differs`;
  if (golden !== ours) return `tick ${g[0]}: same values but different text: "${ours}" vs "${golden}"`;
  return null;
}

/** Compare full files (header + rows); null when identical. */
export function compareCsv(goldenFile: string, ours: string[]): string | null {
  const g = goldenLines(goldenFile);
  if (ours.length !== g.length) return `${ours.length} lines where golden has ${g.length}`;
  if (ours[0] !== g[0]) return `header "${ours[0]}" where golden has "${g[0]}"`;
  for (let i = 1; i < g.length; i++) {
    const d = compareLine(g[i]!, ours[i]!);
    if (d) return d;
  }
  return null;
}

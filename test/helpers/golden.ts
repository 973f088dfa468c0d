/**
 * The golden vectors in ../shared/golden and how to compare against them
 * (NOTES §6). Our CSV lines are compared byte for byte with the golden lines
 * (after dropping our audit_tag column and reading glibc's "-nan" as "nan"),
 * which is stricter than the float comparison NOTES §6 asks for; when a line
 * differs, `compareRows` says which column of which tick, by value.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCNumber } from '../../runtime/format.js';

function findGoldenDir(): string {
  if (process.env['QALLOW_GOLDEN_DIR']) return process.env['QALLOW_GOLDEN_DIR'];
  // dist/test/helpers → repo root → ../shared/golden
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) break;
    dir = dirname(dir);
  }
  return resolve(dir, '..', 'shared', 'golden');
}

export const GOLDEN_DIR = findGoldenDir();

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

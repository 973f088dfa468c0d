/**
 * A run's CSV (DATA/runs/RUN.csv, runtime/csv.ts) read back into columns per
 * lane. Decode means validate: the header must be a phase 12 or phase 13
 * header (with a leading `strand`/`ring` column when there are several
 * lanes), every row must have its numeric cells, and `inf`, `-inf`, `nan`
 * read as non-finite. A last line without its newline (a host still
 * writing) is left out.
 */
import { PHASE12_COLUMNS, PHASE13_COLUMNS } from '../csv.js';
import { QallowError } from '../errors.js';

export type Phase = 'phase12' | 'phase13';

/** The numeric columns after `tick`, in file order. */
export const NUMERIC_COLUMNS = {
  phase12: PHASE12_COLUMNS.slice(1, 8),
  phase13: PHASE13_COLUMNS.slice(1, 8),
} as const;

export interface LaneSeries {
  readonly ticks: Float64Array;
  /** Column name → values, one per row of this lane, aligned with `ticks`. */
  readonly columns: ReadonlyMap<string, Float64Array>;
}

export interface RunCsv {
  readonly phase: Phase;
  readonly lanes: readonly LaneSeries[];
  /** Highest tick present. */
  readonly lastTick: number;
  readonly rows: number;
}

function cell(text: string, line: number, column: string, path: string): number {
  const t = text.trim();
  if (t === 'nan' || t === '-nan') return NaN;
  if (t === 'inf') return Infinity;
  if (t === '-inf') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) {
    throw new QallowError('BAD_ENCODING', `${path} line ${line}: ${column} must be a number, inf, -inf or nan (got "${t.slice(0, 40)}")`, { path, line, column });
  }
  return Number(t);
}

export function parseRunCsv(text: string, path: string): RunCsv {
  const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
  const lines = complete.split('\n');
  lines.pop();
  const header = (lines[0] ?? '').split(',');
  let lead: string | null = null;
  if (header[0] === 'ring' || header[0] === 'strand') lead = header.shift()!;
  const phase: Phase | null = header.join(',') === PHASE13_COLUMNS.join(',') ? 'phase13' : header.join(',') === PHASE12_COLUMNS.join(',') ? 'phase12' : null;
  if (!phase || (lead === 'ring' && phase !== 'phase13') || (lead === 'strand' && phase !== 'phase12')) {
    throw new QallowError('BAD_ENCODING', `${path}: not a qallow run CSV (header "${(lines[0] ?? '').slice(0, 80)}")`, { path });
  }
  const names = NUMERIC_COLUMNS[phase];
  const perLane: Array<{ ticks: number[]; cols: number[][] }> = [];
  let lastTick = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    // The audit tag is the last, quoted cell and may hold commas: cut before it.
    const quote = line.indexOf('"');
    const cells = (quote >= 0 ? line.slice(0, quote) : line).split(',');
    if (quote >= 0) cells.pop();
    const want = (lead ? 1 : 0) + 1 + names.length;
    if (cells.length < want) {
      throw new QallowError('BAD_ENCODING', `${path} line ${i + 1}: ${cells.length} cells, expected ${want} before the audit tag`, { path, line: i + 1 });
    }
    const lane = lead ? cell(cells.shift()!, i + 1, lead, path) : 0;
    if (!Number.isInteger(lane) || lane < 0 || lane > 1 << 20) {
      throw new QallowError('BAD_ENCODING', `${path} line ${i + 1}: ${lead} must be a lane index (got "${lane}")`, { path, line: i + 1 });
    }
    const tick = cell(cells[0]!, i + 1, 'tick', path);
    if (!Number.isInteger(tick) || tick < 1) throw new QallowError('BAD_ENCODING', `${path} line ${i + 1}: tick must be an integer ≥ 1 (got "${cells[0]}")`, { path, line: i + 1 });
    while (perLane.length <= lane) perLane.push({ ticks: [], cols: names.map(() => []) });
    const l = perLane[lane]!;
    l.ticks.push(tick);
    // Every column but ethics_total is float32 printed with %.9g: fround restores the exact value the engine had.
    names.forEach((n, j) => {
      const v = cell(cells[j + 1]!, i + 1, n, path);
      l.cols[j]!.push(n === 'ethics_total' ? v : Math.fround(v));
    });
    if (tick > lastTick) lastTick = tick;
  }
  return {
    phase,
    lastTick,
    rows: perLane.reduce((a, l) => a + l.ticks.length, 0),
    lanes: perLane.map((l) => ({ ticks: Float64Array.from(l.ticks), columns: new Map(names.map((n, j) => [n, Float64Array.from(l.cols[j]!)])) })),
  };
}

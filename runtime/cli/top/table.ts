/**
 * Plain-text tables for `qallow top`: columns sized to their widest cell
 * (capped), numbers right-aligned, and every line cut to the screen width
 * with a trailing "…" so nothing wraps and the frame keeps its shape.
 */

export interface Column {
  readonly title: string;
  readonly align?: 'left' | 'right';
  /** Widest a cell may be before it is cut (the last column is only cut by the screen). */
  readonly max?: number;
}

/** Cut `line` to `width` display columns (one per code point here: the view writes no wide characters). */
export function fit(line: string, width: number): string {
  const chars = [...line];
  if (chars.length <= width) return line;
  if (width <= 0) return '';
  return chars.slice(0, width - 1).join('') + '…';
}

function pad(text: string, width: number, align: 'left' | 'right'): string {
  const n = [...text].length;
  if (n >= width) return text;
  return align === 'right' ? ' '.repeat(width - n) + text : text + ' '.repeat(width - n);
}

/** The header line and one line per row; cells are cut to their column's `max`. */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[]): string[] {
  const cells = rows.map((r) => columns.map((c, i) => fit(r[i] ?? '', c.max ?? Infinity)));
  const widths = columns.map((c, i) => Math.max([...c.title].length, ...cells.map((r) => [...r[i]!].length)));
  const line = (r: readonly string[]): string =>
    r
      .map((cell, i) => (i === r.length - 1 && columns[i]!.align !== 'right' ? cell : pad(cell, widths[i]!, columns[i]!.align ?? 'left')))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.title)), ...cells.map(line)];
}

/** A duration for people: 45s, 12m05s, 3h07m, 2d04h. */
export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** A figure with `digits` decimals, "-" when unknown. */
export function fixed(v: number | null | undefined, digits: number): string {
  if (v === null || v === undefined) return '-';
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  return v.toFixed(digits);
}

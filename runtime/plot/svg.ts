/**
 * A run plot as plain SVG, written by hand (no dependency): one panel per
 * figure (coherence, drift or entropy, E) against ticks, every selected lane
 * as a thin line, epoch boundaries as dashed lines, each epoch's ethics
 * decision as a coloured strip above the panels, non-finite values as gaps
 * with a red marker on the panel's top edge. Long runs are reduced to the
 * minimum and maximum per horizontal pixel, so the file stays small and no
 * spike disappears.
 */
import type { EpochMark } from './epochs.js';
import type { RunCsv } from './run-csv.js';

export interface PanelSpec {
  readonly column: string;
  readonly label: string;
}

export interface PlotInput {
  readonly title: string;
  /** One or two lines under the title. */
  readonly subtitle: readonly string[];
  readonly csv: RunCsv;
  /** Lane indices to draw. */
  readonly lanes: readonly number[];
  readonly laneName: string;
  readonly panels: readonly PanelSpec[];
  readonly epochs: readonly EpochMark[];
}

export interface PlotSummary {
  /** Non-finite values over the drawn lanes and panels. */
  readonly nonFinite: number;
}

const W = 1000;
const LEFT = 84;
const RIGHT = 24;
const PLOT_W = W - LEFT - RIGHT;
const PANEL_H = 190;
const GAP = 46;
const TOP = 132;
const STRIP_H = 14;
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const PASS = '#2e7d32';
const FAIL = '#c62828';
const UNKNOWN = '#9e9e9e';

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const f = (n: number): string => (Math.round(n * 100) / 100).toString();

/** "Nice" tick values (1, 2, 5 × 10^k) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function label(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2).replace(/\.?0+e/, 'e');
  return Number(v.toPrecision(6)).toString();
}

interface Bucket {
  min: number;
  max: number;
  bad: boolean;
}

export function renderPlot(p: PlotInput): { svg: string; summary: PlotSummary } {
  const height = TOP + p.panels.length * (PANEL_H + GAP) + 40;
  const maxTick = Math.max(1, p.csv.lastTick);
  const x = (tick: number): number => LEFT + (tick / maxTick) * PLOT_W;
  const out: string[] = [];
  let nonFinite = 0;
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`);
  out.push(`<title>${escapeXml(p.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(p.title)}</text>`);
  p.subtitle.slice(0, 2).forEach((line, i) => out.push(`<text x="${W / 2}" y="${40 + i * 16}" text-anchor="middle" fill="#444444">${escapeXml(line)}</text>`));

  // Legend: lanes, then the marks.
  let lx = LEFT;
  const ly = 80;
  const item = (svg: string, text: string): void => {
    out.push(svg.replace(/\{x\}/g, String(lx)));
    out.push(`<text x="${lx + 22}" y="${ly + 4}">${escapeXml(text)}</text>`);
    lx += 30 + text.length * 6.6;
  };
  if (p.lanes.length > 1) {
    for (const [i, lane] of p.lanes.entries()) {
      if (i >= 10) break;
      item(`<line x1="{x}" y1="${ly}" x2="${lx + 16}" y2="${ly}" stroke="${COLORS[i % COLORS.length]}" stroke-width="2"/>`, `${p.laneName} ${lane}`);
    }
    if (p.lanes.length > 10) item(`<line x1="{x}" y1="${ly}" x2="${lx + 16}" y2="${ly}" stroke="#999999" stroke-width="2"/>`, `+${p.lanes.length - 10} more`);
  }
  item(`<rect x="{x}" y="${ly - 5}" width="16" height="10" fill="${PASS}"/>`, 'epoch pass');
  item(`<rect x="{x}" y="${ly - 5}" width="16" height="10" fill="${FAIL}"/>`, 'epoch fail');
  item(`<path d="M ${lx + 3} ${ly - 5} L ${lx + 13} ${ly - 5} L ${lx + 8} ${ly + 4} Z" fill="${FAIL}"/>`, 'non-finite (gap)');

  // Decision strip.
  const sy = TOP - STRIP_H - 26;
  out.push(`<text x="${LEFT - 6}" y="${sy + STRIP_H - 3}" text-anchor="end" fill="#444444">ethics</text>`);
  out.push(`<g id="decisions">`);
  for (const e of p.epochs) {
    const x0 = x(e.fromTick - 1);
    const x1 = x(e.toTick);
    const fill = e.pass === null ? UNKNOWN : e.pass ? PASS : FAIL;
    const what = e.pass === null ? 'no row' : e.pass ? 'pass' : 'fail';
    out.push(`<rect x="${f(x0)}" y="${sy}" width="${f(Math.max(0.5, x1 - x0))}" height="${STRIP_H}" fill="${fill}" stroke="#ffffff" stroke-width="${x1 - x0 > 3 ? 0.5 : 0}"><title>epoch ${e.epoch} (ticks ${e.fromTick}–${e.toTick}): ${what}, E ${label(e.minTotal)}, entropy ${label(e.maxEntropy)}</title></rect>`);
  }
  out.push(`</g>`);

  p.panels.forEach((panel, pi) => {
    const top = TOP + pi * (PANEL_H + GAP);
    const bottom = top + PANEL_H;
    // Buckets per pixel column, per lane; the y range over every finite value drawn.
    let lo = Infinity;
    let hi = -Infinity;
    const perLane = p.lanes.map((laneIdx) => {
      const lane = p.csv.lanes[laneIdx]!;
      const values = lane.columns.get(panel.column)!;
      const buckets = new Map<number, Bucket>();
      for (let i = 0; i < values.length; i++) {
        const px = Math.round(x(lane.ticks[i]!) * 2) / 2;
        let b = buckets.get(px);
        if (!b) buckets.set(px, (b = { min: Infinity, max: -Infinity, bad: false }));
        const v = values[i]!;
        if (!Number.isFinite(v)) {
          b.bad = true;
          nonFinite++;
          continue;
        }
        if (v < b.min) b.min = v;
        if (v > b.max) b.max = v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      return buckets;
    });
    if (!Number.isFinite(lo)) {
      lo = 0;
      hi = 1;
    } else if (hi === lo) {
      const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.01 : 1;
      lo -= pad;
      hi += pad;
    } else {
      const pad = (hi - lo) * 0.05;
      lo -= pad;
      hi += pad;
    }
    const y = (v: number): number => bottom - ((v - lo) / (hi - lo)) * PANEL_H;

    out.push(`<g class="panel" id="panel-${escapeXml(panel.column)}">`);
    out.push(`<rect x="${LEFT}" y="${top}" width="${PLOT_W}" height="${PANEL_H}" fill="#fafafa" stroke="#333333" stroke-width="1"/>`);
    out.push(`<text x="${LEFT}" y="${top - 8}" font-weight="bold">${escapeXml(panel.label)}</text>`);
    for (const v of niceTicks(lo, hi)) {
      const yy = f(y(v));
      out.push(`<line x1="${LEFT}" y1="${yy}" x2="${LEFT + PLOT_W}" y2="${yy}" stroke="#e0e0e0" stroke-width="0.5"/>`);
      out.push(`<line x1="${LEFT - 4}" y1="${yy}" x2="${LEFT}" y2="${yy}" stroke="#333333"/>`);
      out.push(`<text x="${LEFT - 7}" y="${f(y(v) + 4)}" text-anchor="end">${escapeXml(label(v))}</text>`);
    }
    for (const t of niceTicks(0, maxTick, 8)) {
      const xx = f(x(t));
      out.push(`<line x1="${xx}" y1="${bottom}" x2="${xx}" y2="${bottom + 4}" stroke="#333333"/>`);
      out.push(`<text x="${xx}" y="${bottom + 16}" text-anchor="middle">${escapeXml(label(t))}</text>`);
    }
    if (p.epochs.length <= 60) {
      for (const e of p.epochs) {
        const xx = f(x(e.toTick));
        out.push(`<line x1="${xx}" y1="${top}" x2="${xx}" y2="${bottom}" stroke="${e.pass === false ? FAIL : '#9e9e9e'}" stroke-width="0.6" stroke-dasharray="3,3"/>`);
      }
    }
    const bad = new Set<number>();
    perLane.forEach((buckets, li) => {
      const color = COLORS[li % COLORS.length]!;
      const d: string[] = [];
      let open = false;
      for (const [px, b] of [...buckets.entries()].sort((a, c) => a[0] - c[0])) {
        const finite = b.min <= b.max;
        if (finite) {
          d.push(`${open ? 'L' : 'M'} ${f(px)} ${f(y(b.min))}`);
          if (b.max !== b.min) d.push(`L ${f(px)} ${f(y(b.max))}`);
          open = true;
        }
        if (b.bad) {
          bad.add(px);
          open = false;
        }
      }
      if (d.length) out.push(`<path d="${d.join(' ')}" fill="none" stroke="${color}" stroke-width="${p.lanes.length > 1 ? 0.8 : 1.3}" stroke-linejoin="round"/>`);
    });
    for (const px of bad) out.push(`<path class="nonfinite" d="M ${f(px - 4)} ${top} L ${f(px + 4)} ${top} L ${f(px)} ${top + 8} Z" fill="${FAIL}"/>`);
    out.push(`</g>`);
  });
  const last = TOP + p.panels.length * (PANEL_H + GAP) - GAP + 34;
  out.push(`<text x="${LEFT + PLOT_W / 2}" y="${last}" text-anchor="middle">tick</text>`);
  out.push(`</svg>`);
  return { svg: out.join('\n') + '\n', summary: { nonFinite } };
}

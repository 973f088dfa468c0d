/**
 * Plot one run of a data directory: its CSV (DATA/runs/RUN.csv), its run
 * record and checkpoints from the store (epoch boundaries), each epoch's
 * decision recomputed from the CSV, rendered to SVG. The store is opened the
 * way `checkpoint list` opens it; LMDB serves several processes at once, so
 * a host still running on the directory is fine (rows written after its
 * newest checkpoint are drawn without a decision).
 */
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EthicsRule } from '../../actors/run-engine.js';
import { QallowError, errorMessage } from '../errors.js';
import { createLmdbStore, lmdbPath } from '../store/lmdb.js';
import { epochMarks, type EpochMark } from './epochs.js';
import { parseRunCsv } from './run-csv.js';
import { renderPlot, type PanelSpec } from './svg.js';

export interface PlotRunInit {
  readonly dataDir: string;
  readonly run: string;
  readonly out: string;
  /** Lane indices to draw; all when absent. */
  readonly lanes?: readonly number[] | undefined;
  readonly ethics: EthicsRule;
}

export interface PlotRunResult {
  readonly run: string;
  readonly out: string;
  readonly phase: 'phase12' | 'phase13';
  readonly lastTick: number;
  readonly lanes: readonly number[];
  readonly epochs: readonly EpochMark[];
  readonly passed: number;
  readonly failed: number;
  readonly nonFinite: number;
  readonly bytes: number;
}

const PANELS: Record<'phase12' | 'phase13', PanelSpec[]> = {
  phase13: [
    { column: 'avg_coherence', label: 'coherence (avg_coherence)' },
    { column: 'phase_drift', label: 'drift (phase_drift)' },
    { column: 'ethics_total', label: 'E (ethics_total)' },
  ],
  phase12: [
    { column: 'coherence', label: 'coherence' },
    { column: 'entropy', label: 'entropy' },
    { column: 'ethics_total', label: 'E (ethics_total)' },
  ],
};

export async function plotRun(init: PlotRunInit): Promise<PlotRunResult> {
  const { dataDir, run } = init;
  try {
    await access(lmdbPath(dataDir));
  } catch {
    throw new QallowError('CHECKPOINT_NOT_FOUND', `no qallow store in ${dataDir} (expected ${lmdbPath(dataDir)}): is --data a host's data directory?`, { dataDir });
  }
  const store = createLmdbStore({ dataDir });
  await store.start();
  let record;
  let checkpoints;
  try {
    record = await store.getRun(run);
    checkpoints = await store.listCheckpoints(run);
    if (!record) {
      const known = await store.runs();
      throw new QallowError('CHECKPOINT_NOT_FOUND', `run ${run} is not in ${dataDir} (runs there: ${known.length ? known.join(', ') : 'none'})`, { run, dataDir });
    }
  } finally {
    await store.stop();
  }
  const csvPath = join(dataDir, 'runs', `${run}.csv`);
  let text: string;
  try {
    text = await readFile(csvPath, 'utf8');
  } catch (e) {
    throw new QallowError('IO_ERROR', `run ${run} has no readable CSV at ${csvPath}: ${errorMessage(e)}`, { run, path: csvPath });
  }
  const csv = parseRunCsv(text, csvPath);
  if (csv.phase !== record.params.phase) {
    throw new QallowError('BAD_ENCODING', `${csvPath} holds ${csv.phase} rows but run ${run} is ${record.params.phase}`, { run, path: csvPath });
  }
  const all = csv.lanes.map((_, i) => i);
  const lanes = init.lanes ?? all;
  for (const l of lanes) {
    if (!csv.lanes[l]) throw new QallowError('BAD_USAGE', `--lanes: run ${run} has lanes 0..${csv.lanes.length - 1} (got ${l})`, { flag: '--lanes' });
  }
  const p = record.params;
  const pockets = p.phase === 'phase13' ? p.pockets : 1;
  const epochs = epochMarks(csv, checkpoints, pockets, init.ethics);
  const laneName = p.phase === 'phase13' ? 'ring' : 'strand';
  // float32 parameters, shown as the short decimals they were given as
  const short = (xs: readonly number[]): string => xs.map((v) => Number(v.toPrecision(7))).join(',');
  const shape = p.phase === 'phase13' ? `${p.pockets} pockets × ${p.rings} ring${p.rings > 1 ? 's' : ''}, k ${short(p.couplings)}` : `${p.eps.length} strand${p.eps.length > 1 ? 's' : ''}, eps ${short(p.eps)}`;
  const passed = epochs.filter((e) => e.pass === true).length;
  const failed = epochs.filter((e) => e.pass === false).length;
  const { svg, summary } = renderPlot({
    title: `qallow run ${run}`,
    subtitle: [
      `${p.phase}, ${shape}, ${csv.lastTick}/${p.ticks} ticks, backend ${record.backend}, ${record.state}`,
      `${epochs.length} epochs: ${passed} pass, ${failed} fail (pass ⇔ E ≥ ${init.ethics.threshold} and entropy ≤ ${init.ethics.entropyMax})`,
    ],
    csv,
    lanes,
    laneName,
    panels: PANELS[p.phase],
    epochs,
  });
  try {
    await writeFile(init.out, svg);
  } catch (e) {
    throw new QallowError('IO_ERROR', `cannot write --out ${init.out}: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)} (${errorMessage(e)})`, { path: init.out });
  }
  return { run, out: init.out, phase: p.phase, lastTick: csv.lastTick, lanes, epochs, passed, failed, nonFinite: summary.nonFinite, bytes: Buffer.byteLength(svg) };
}

/**
 * `qallow simulate phase12|phase13`: run a phase offline and write its CSV
 * (SPEC §2). Without --csv the CSV goes to stdout and the summary to stderr;
 * with --json the summary is JSON on stdout (and the CSV needs --csv).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { Command, Option, type OptionValues } from '@commander-js/extra-typings';
import type { BackendRequest } from '../../../kernels/backend.js';
import { phase12Params, phase13Params, type PhaseParams } from '../../../kernels/params.js';
import { csvHeader, csvRows } from '../../csv.js';
import { QallowError } from '../../errors.js';
import { formatG9 } from '../../format.js';
import { simulate, type SimulateSummary } from '../../simulate.js';
import { parseBackend, parseInteger, parseNumberList } from '../args.js';
import { writeLine, type CliIO } from '../io.js';

const DEFAULT_TAG = 'qallow';

interface CommonOptions {
  csv?: string | undefined;
  backend: BackendRequest;
  auditTag: string;
  threads?: number | undefined;
  json?: true | undefined;
}

async function openSink(path: string | undefined, io: CliIO): Promise<{ write(s: string): Promise<void>; close(): Promise<void> }> {
  if (path === undefined) {
    return { write: async (s) => void io.stdout.write(s), close: async () => undefined };
  }
  const stream: WriteStream = createWriteStream(path);
  try {
    await once(stream, 'open'); // rejects with the stream's 'error'
  } catch (e) {
    throw new QallowError('IO_ERROR', `cannot write --csv ${path}: ${e instanceof Error ? e.message : String(e)}; check that the directory exists and is writable`, { path });
  }
  return {
    write: async (s) => {
      if (!stream.write(s)) await once(stream, 'drain');
    },
    close: () => new Promise((resolve, reject) => stream.end((e?: Error | null) => (e ? reject(e) : resolve()))),
  };
}

function humanSummary(s: SimulateSummary, csv: string | undefined): string[] {
  const lines: string[] = [];
  const fallback = s.backend.fallback ? ` (fallback from ${s.backend.fallback.from}: ${s.backend.fallback.reason})` : '';
  const measured = s.backend.measured
    ? ` (auto, measured: ${Object.entries(s.backend.measured).map(([b, r]) => `${b} ${(r / 1e6).toFixed(1)}M/s`).join(', ')})`
    : '';
  lines.push(`${s.phase}: ${s.ticks} ticks × ${s.lanes} ${s.phase === 'phase12' ? 'strand' : 'ring'}${s.lanes > 1 ? 's' : ''}${s.pockets ? ` × ${s.pockets} pockets` : ''} on ${s.backend.backend} [${s.executor}]${measured}${fallback}`);
  lines.push(`  ${s.seconds.toFixed(3)} s, ${(s.updatesPerSecond / 1e6).toFixed(2)} M ${s.phase === 'phase12' ? 'strand-ticks' : 'pocket-updates'}/s`);
  const show = s.final.slice(0, 8);
  for (const l of show) {
    const label = s.phase === 'phase12' ? `eps=${formatG9(l.parameter)}` : `k=${formatG9(l.parameter)}`;
    lines.push(`  ${s.lanes > 1 ? `#${l.lane} ` : ''}${label}: E=${formatG9(l.final['ethics_total']!)} entropy=${formatG9(l.entropyFigure)} ${l.passesEthics ? 'pass' : 'fail'}`);
  }
  if (s.final.length > show.length) lines.push(`  … ${s.final.length - show.length} more (use --json for all)`);
  if (csv) lines.push(`  csv: ${csv}`);
  return lines;
}

async function run(params: PhaseParams, opts: CommonOptions, io: CliIO): Promise<void> {
  const sink = await openSink(opts.json && opts.csv === undefined ? undefined : opts.csv, io);
  const toCsv = !(opts.json && opts.csv === undefined);
  const lanes = params.phase === 'phase12' ? params.eps.length : params.rings;
  try {
    if (toCsv) await sink.write(csvHeader(params.phase, lanes));
    const summary = await simulate({
      params,
      backend: opts.backend,
      pool: io.pool,
      threads: opts.threads,
      onRows: toCsv ? (rows, first) => sink.write(csvRows(rows, first, opts.auditTag)) : undefined,
    });
    await sink.close();
    if (summary.backend.fallback) {
      writeLine(io.stderr, `warning: backend ${summary.backend.fallback.from} is unavailable (${summary.backend.fallback.reason}); used ${summary.backend.backend}`);
    }
    if (opts.json) {
      writeLine(io.stdout, JSON.stringify({ ...summary, params, csv: opts.csv ?? null }));
    } else {
      const out = opts.csv === undefined ? io.stderr : io.stdout;
      for (const l of humanSummary(summary, opts.csv)) writeLine(out, l);
    }
    return;
  } catch (e) {
    await sink.close().catch(() => undefined);
    throw e;
  }
}

// eslint-disable-next-line @typescript-eslint/explicit-function-return-type -- the chained type is the point
function common<Opts extends OptionValues>(cmd: Command<[], Opts>) {
  return cmd
    .option('--csv <file>', 'write the per-tick CSV to FILE (default: stdout)')
    .addOption(new Option('--backend <backend>', 'auto | wasm | webasm | cpu | js | gpu').default('auto' as BackendRequest).argParser(parseBackend))
    .option('--audit-tag <tag>', 'value of the audit_tag column', DEFAULT_TAG)
    .option('--threads <n>', 'compute pool threads (default: available cores)', parseInteger('--threads'))
    .option('--json', 'print the summary as JSON');
}

export function simulateCommand(io: CliIO): Command {
  const cmd = new Command('simulate').description('run a phase offline and write its per-tick CSV');

  cmd.addCommand(common(
    new Command('phase12')
      .description('phase 12 elasticity: one strand per eps value')
      .requiredOption('--ticks <T>', 'ticks to run (≥ 1)', parseInteger('--ticks'))
      .requiredOption('--eps <X[,X...]>', 'stretch per strand; clamped to [0, 0.01] inside the recurrence', parseNumberList('--eps')),
  ).action(async (o) => {
    const params = phase12Params({ ticks: o.ticks, eps: o.eps });
    await run(params, o, io);
  }));

  cmd.addCommand(common(
    new Command('phase13')
      .description('phase 13 harmonic propagation: R rings of N pockets, one coupling per ring')
      .requiredOption('--pockets <N>', 'pockets per ring (≥ 2)', parseInteger('--pockets'))
      .requiredOption('--ticks <T>', 'ticks to run (≥ 1)', parseInteger('--ticks'))
      .requiredOption('--coupling <K[,K...]>', 'coupling k: one for every ring or one per ring', parseNumberList('--coupling'))
      .option('--rings <R>', 'rings (default: number of couplings given)', parseInteger('--rings'))
      .option('--reference', "the original function's guards: pockets < 2 become 2, pockets above 32 become 32")
      .option('--max-pockets <n>', 'limit on rings × pockets (default 16777216)', parseInteger('--max-pockets')),
  ).action(async (o) => {
    const params = phase13Params({
      pockets: o.pockets,
      ticks: o.ticks,
      couplings: o.coupling,
      rings: o.rings,
      reference: o.reference === true,
      maxPockets: o.maxPockets,
    });
    await run(params, o, io);
  }));

  return cmd;
}

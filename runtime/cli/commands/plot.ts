/**
 * `qallow plot --data DIR --run RUN --out FILE.svg`: a run's coherence,
 * drift (phase 12: entropy) and E per tick as an SVG, with its epochs and
 * their ethics decisions (runtime/plot). Offline: reads the data directory.
 * Exit 1 when the run, its CSV or the output file is unusable; 2 on bad usage.
 */
import { Command } from '@commander-js/extra-typings';
import { DEFAULTS } from '../../../config/defaults.js';
import { QallowError } from '../../errors.js';
import { plotRun } from '../../plot/plot-run.js';
import { parseNumberList } from '../args.js';
import { writeLine, type CliIO } from '../io.js';

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function parseLanes(text: string): number[] | 'all' {
  if (text.trim() === 'all') return 'all';
  const v = parseNumberList('--lanes')(text);
  if (!v.every((n) => Number.isSafeInteger(n) && n >= 0)) throw new QallowError('BAD_USAGE', `--lanes must be "all" or lane indices like 0,2 (got "${text}")`, { flag: '--lanes', value: text });
  return v;
}

function finite(flag: string): (text: string) => number {
  return (text) => {
    const [v] = parseNumberList(flag)(text);
    if (v === undefined || !Number.isFinite(v) || text.includes(',')) throw new QallowError('BAD_USAGE', `${flag} must be a number (got "${text}")`, { flag, value: text });
    return v;
  };
}

export function plotCommand(io: CliIO): Command {
  return new Command('plot')
    .description("plot a run's coherence, drift and E per tick with its epochs' ethics decisions, as SVG (offline)")
    .requiredOption('--data <dir>', "the host's data directory")
    .requiredOption('--run <run>', 'run id')
    .requiredOption('--out <file>', 'SVG file to write')
    .option('--lanes <list>', 'rings/strands to draw: "all" or indices like 0,2', parseLanes, 'all' as const)
    .option('--threshold <E>', `ethics threshold for the decisions (default ${DEFAULTS.ethics.threshold})`, finite('--threshold'))
    .option('--entropy-max <x>', `entropy bound for the decisions (default ${DEFAULTS.ethics.entropyMax})`, finite('--entropy-max'))
    .option('--json', 'print a JSON summary')
    .action(async (o) => {
      if (!RUN_ID.test(o.run)) throw new QallowError('BAD_USAGE', `--run must be a run id (letters, digits, ".", "_", "-") (got "${o.run}")`, { flag: '--run', value: o.run });
      const r = await plotRun({
        dataDir: o.data,
        run: o.run,
        out: o.out,
        lanes: o.lanes === 'all' ? undefined : o.lanes,
        ethics: { threshold: o.threshold ?? DEFAULTS.ethics.threshold, entropyMax: o.entropyMax ?? DEFAULTS.ethics.entropyMax },
      });
      if (o.json) writeLine(io.stdout, JSON.stringify(r));
      else {
        const nf = r.nonFinite ? `, ${r.nonFinite} non-finite value(s) shown as gaps` : '';
        writeLine(io.stdout, `${r.out}: run ${r.run} (${r.phase}), ticks 1..${r.lastTick}, lanes ${r.lanes.join(',')}, ${r.epochs.length} epochs: ${r.passed} pass, ${r.failed} fail${nf}`);
      }
    });
}

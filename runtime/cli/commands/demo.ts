/**
 * `qallow demo [--nodes 4] [--data DIR] [--quick] [--keep] [--json]` (SPEC §2):
 * a whole cluster on this machine with no configuration, one scenario, a
 * summary (runtime/demo/). What `npm start` runs.
 *
 * Exit codes: 0 the scenario ran and everything checked out (runs done, the
 * rescue passing, every ledger verified and equal); 1 it ran but a check
 * failed, or it could not run (the error names the host log to read); 2 bad
 * usage; 130 interrupted by Ctrl-C (SIGINT) or SIGTERM, after stopping every
 * host gracefully.
 */
import { setMaxListeners } from 'node:events';
import { Command, Option } from '@commander-js/extra-typings';
import { QallowError } from '../../errors.js';
import { runDemo } from '../../demo/run.js';
import { parseInteger } from '../args.js';
import { writeLine, type CliIO } from '../io.js';

const MAX_NODES = 16;

function parseNodes(text: string): number {
  const n = parseInteger('--nodes')(text);
  if (n < 4 || n > MAX_NODES) {
    // Four: one host per scenario step, and a quorum (> 2/3) that survives one host killed.
    throw new QallowError('BAD_USAGE', `--nodes must be between 4 and ${MAX_NODES} (got "${text}")`, { flag: '--nodes', value: text });
  }
  return n;
}

export function demoCommand(io: CliIO): Command {
  return new Command('demo')
    .description('a whole cluster on this machine: keys, configs, N hosts, one scenario (convergence, a sweep, a rescue, a crash), a summary')
    .addOption(new Option('--nodes <n>', `hosts to start (4-${MAX_NODES})`).argParser(parseNodes).default(4))
    .addOption(new Option('--data <dir>', 'directory for keys, configs, data and logs (made if missing; an earlier demo there is replaced)').default('.qallow/demo'))
    .option('--quick', 'a short scenario (well under a minute)')
    .option('--keep', 'leave the hosts running at the end (prints how to stop them)')
    .option('--json', 'print the summary as JSON (the progress goes to stderr)')
    .action(async (o) => {
      const stop = new AbortController();
      const force = new AbortController();
      // Every wait of the scenario listens to it.
      setMaxListeners(1000, stop.signal);
      const onSignal = (signal: NodeJS.Signals): void => {
        if (!stop.signal.aborted) stop.abort(new QallowError('INTERRUPTED', `${signal}: the demo is stopping`, { signal }));
        else force.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const summary = await runDemo(
          { nodes: o.nodes, data: o.data, quick: o.quick === true, json: o.json === true, keep: o.keep === true },
          { stdout: io.stdout, stderr: io.stderr, signal: stop.signal, force: force.signal },
        );
        if (o.json) writeLine(io.stdout, JSON.stringify(summary));
        if (!summary.ok) throw new QallowError('TASK_FAILED', `the demo ran but not every check passed (see the summary); logs in ${summary.dataDir}`, { dataDir: summary.dataDir });
      } finally {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
      }
    });
}

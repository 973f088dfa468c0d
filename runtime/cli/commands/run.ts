/**
 * `qallow run phase13|phase12 ...`: start a run on a host; `--follow` shows a
 * progress bar (ticks, epoch, E, decision) until the run ends.
 */
import { Command } from '@commander-js/extra-typings';
import type { BackendRequest } from '../../../kernels/backend.js';
import type { StartRunCommand } from '../../admin/command.js';
import { isLiveRun, type RunReport } from '../../admin/replies.js';
import { QallowError } from '../../errors.js';
import { formatG } from '../../format.js';
import { parseBackend, parseInteger, parseNumberList } from '../args.js';
import { adminCall, withTarget, type TargetOptions } from '../target.js';
import { writeLine, type CliIO } from '../io.js';

interface RunOpts extends TargetOptions {
  id?: string | undefined;
  epochTicks?: number | undefined;
  backend?: BackendRequest | undefined;
  follow?: true | undefined;
  paced?: true | undefined;
}

function bar(done: number, total: number, width = 30): string {
  const n = total > 0 ? Math.round((width * Math.min(done, total)) / total) : 0;
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}]`;
}

async function follow(io: CliIO, o: RunOpts, run: string): Promise<RunReport> {
  const tty = (io.stdout as NodeJS.WriteStream).isTTY === true;
  let lastEpoch = -1;
  for (;;) {
    const runs = await adminCall(o, { type: 'runs' });
    const r = runs.find((x) => x.run === run);
    if (!r) throw new QallowError('ACTOR_NOT_FOUND', `run ${run} is not on this host`, { run });
    const d = isLiveRun(r) ? r.lastDecision : null;
    const line = `${bar(r.tick, r.ticks ?? 0)} tick ${r.tick}/${String(r.ticks)} epoch ${r.epoch} E=${d ? formatG(d.minTotal, 6) : '-'} ${d ? (d.pass ? 'pass' : 'fail') : ''} ${r.state}`;
    if (tty) io.stdout.write(`\r${line}\x1b[K`);
    else if (r.epoch !== lastEpoch) writeLine(io.stdout, line);
    lastEpoch = r.epoch;
    if (r.state !== 'running' && r.state !== 'paused') {
      if (tty) io.stdout.write('\n');
      return r;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function start(io: CliIO, o: RunOpts, params: StartRunCommand['params']): Promise<void> {
  const cmd: StartRunCommand = { type: 'run', params, id: o.id, epochTicks: o.epochTicks, backend: o.backend, paced: o.paced };
  const s = await adminCall(o, cmd);
  const run = s.run;
  if (!o.follow) {
    writeLine(io.stdout, o.json ? JSON.stringify(s) : `started ${run} on ${s.backend} (${s.ticks} ticks)`);
    return;
  }
  if (!o.json) writeLine(io.stdout, `started ${run} on ${s.backend}`);
  const end = await follow(io, o, run);
  if (o.json) writeLine(io.stdout, JSON.stringify(end));
  if (end.state !== 'done') throw new QallowError('TASK_FAILED', `run ${run} ended ${end.state}`, { run });
}

export function runCommand(io: CliIO): Command {
  const cmd = new Command('run').description('start a run on a host');
  const common = <A extends unknown[], O extends Record<string, unknown>>(c: Command<A, O>) =>
    withTarget(c)
      .option('--id <run>', 'run id (default: generated)')
      .option('--epoch-ticks <E>', 'ticks per epoch (default: the host config)', parseInteger('--epoch-ticks'))
      .option('--backend <backend>', 'auto | wasm | webasm | cpu | js | gpu', parseBackend)
      .option('--follow', 'show progress until the run ends')
      .option('--paced', 'cluster pacing: stay within cluster.maxLeadTicks of the slowest peer running the same run id');
  cmd.addCommand(
    common(new Command('phase13'))
      .requiredOption('--pockets <N>', 'pockets per ring', parseInteger('--pockets'))
      .requiredOption('--ticks <T>', 'ticks', parseInteger('--ticks'))
      .requiredOption('--coupling <K[,K...]>', 'coupling per ring', parseNumberList('--coupling'))
      .option('--rings <R>', 'rings', parseInteger('--rings'))
      .action((o) => start(io, o, { phase: 'phase13', pockets: o.pockets, ticks: o.ticks, couplings: o.coupling, rings: o.rings })) as unknown as Command,
  );
  cmd.addCommand(
    common(new Command('phase12'))
      .requiredOption('--ticks <T>', 'ticks', parseInteger('--ticks'))
      .requiredOption('--eps <X[,X...]>', 'stretch per strand', parseNumberList('--eps'))
      .action((o) => start(io, o, { phase: 'phase12', ticks: o.ticks, eps: o.eps })) as unknown as Command,
  );
  return cmd;
}


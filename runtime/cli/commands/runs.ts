/** `qallow runs`: every run on the host with its state, epoch and last decision. */
import { Command } from '@commander-js/extra-typings';
import { formatG } from '../../format.js';
import { adminCall, withTarget } from '../target.js';
import { writeLine, type CliIO } from '../io.js';

export function runsTable(runs: ReadonlyArray<Record<string, unknown>>): string[] {
  const out = ['run                      phase    state      tick/ticks          epoch  E           decision'];
  for (const r of runs) {
    const d = r['lastDecision'] as Record<string, unknown> | null | undefined;
    const e = d ? formatG(Number(d['minTotal']), 6) : '-';
    const decision = d ? `${d['pass'] ? 'pass' : 'fail'} (${d['passed']}/${d['lanes']})` : '-';
    out.push(`${String(r['run']).padEnd(24)} ${String(r['phase']).padEnd(8)} ${String(r['state']).padEnd(10)} ${`${r['tick']}/${r['ticks']}`.padEnd(19)} ${String(r['epoch']).padStart(5)}  ${e.padEnd(11)} ${decision}`);
  }
  return out;
}

export function runsCommand(io: CliIO): Command {
  return withTarget(new Command('runs').description('runs with state, epoch and last decision')).action(async (o) => {
    const runs = (await adminCall(o, { type: 'runs' })) as Array<Record<string, unknown>>;
    if (o.json) return writeLine(io.stdout, JSON.stringify(runs));
    for (const l of runsTable(runs)) writeLine(io.stdout, l);
  });
}

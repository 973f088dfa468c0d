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
    // Why a run is not computing, where the host says so: a failed run's reason, a storage pause's error.
    const why = typeof r['failure'] === 'string' ? `failed: ${r['failure']}` : r['pauseReason'] ? `paused (${String(r['pauseReason'])})${storageNote(r['storageFault'])}` : null;
    if (why) out.push(`  ${String(r['run'])}: ${why}`);
  }
  return out;
}

function storageNote(fault: unknown): string {
  if (!fault || typeof fault !== 'object') return '';
  const f = fault as Record<string, unknown>;
  return `: ${String(f['message'])} (attempt ${String(f['attempts'])})`;
}

export function runsCommand(io: CliIO): Command {
  return withTarget(new Command('runs').description('runs with state, epoch and last decision')).action(async (o) => {
    const runs = (await adminCall(o, { type: 'runs' })) as Array<Record<string, unknown>>;
    if (o.json) return writeLine(io.stdout, JSON.stringify(runs));
    for (const l of runsTable(runs)) writeLine(io.stdout, l);
  });
}

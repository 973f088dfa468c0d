/** `qallow runs`: every run on the host with its state, epoch and last decision. */
import { Command } from '@commander-js/extra-typings';
import { isLiveRun, type RunReport, type StorageFaultReport } from '../../admin/replies.js';
import { formatG } from '../../format.js';
import { adminCall, withTarget } from '../target.js';
import { writeLine, type CliIO } from '../io.js';

/** The runs table; a stored run (no live status) shows its missing figures as `null` and `-`. */
export function runsTable(runs: readonly RunReport[]): string[] {
  const out = ['run                      phase    state      tick/ticks          epoch  E           decision'];
  for (const r of runs) {
    const live = isLiveRun(r) ? r : null;
    const d = live?.lastDecision;
    const e = d ? formatG(d.minTotal, 6) : '-';
    const decision = d ? `${d.pass ? 'pass' : 'fail'} (${d.passed}/${d.lanes})` : '-';
    out.push(`${r.run.padEnd(24)} ${String(r.phase).padEnd(8)} ${r.state.padEnd(10)} ${`${r.tick}/${String(r.ticks)}`.padEnd(19)} ${String(r.epoch).padStart(5)}  ${e.padEnd(11)} ${decision}`);
    // Why a run is not computing, where the host says so: a failed run's reason, a storage pause's error.
    const why = typeof live?.failure === 'string' ? `failed: ${live.failure}` : live?.pauseReason ? `paused (${live.pauseReason})${storageNote(live.storageFault)}` : null;
    if (why) out.push(`  ${r.run}: ${why}`);
  }
  return out;
}

function storageNote(fault: StorageFaultReport | null): string {
  return fault ? `: ${fault.message} (attempt ${fault.attempts})` : '';
}

export function runsCommand(io: CliIO): Command {
  return withTarget(new Command('runs').description('runs with state, epoch and last decision')).action(async (o) => {
    const runs = await adminCall(o, { type: 'runs' });
    if (o.json) return writeLine(io.stdout, JSON.stringify(runs));
    for (const l of runsTable(runs)) writeLine(io.stdout, l);
  });
}

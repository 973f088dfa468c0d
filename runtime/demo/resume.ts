/**
 * Did a killed host resume its run mid-way? Read from the restarted host's
 * own `runs` reply, not from its log: the host logs asynchronously, so a
 * SIGKILL can lose its last lines and a new line can lag. A run the host
 * recovered from a checkpoint is live and its status carries `recovered:
 * { epoch, tick }`; a run the host knows only from its store (no
 * `recovered` member at all) had ended before the kill and was not resumed.
 * A run recovered at its last tick had nothing left to compute: that is
 * not a resume mid-way either.
 */
import type { RecoveryReport, RunReport } from '../admin/replies.js';
import type { RunStep } from './plan.js';

export type ResumeOutcome =
  /** Not known yet (the host is still opening its runs): ask again. */
  | { readonly kind: 'pending' }
  | { readonly kind: 'resumed'; readonly epoch: number; readonly tick: number }
  /** It had ended before the kill (`state` from the host's store), or had computed its last tick. */
  | { readonly kind: 'ended'; readonly state: string; readonly tick: number; readonly recoveredAtEnd: boolean };

const ENDED = new Set(['done', 'halted', 'cancelled', 'failed']);

/** What resumeOutcome reads of a `runs` entry (a RunReport, live or stored). */
export type ResumeEntry = Pick<RunReport, 'run' | 'state' | 'tick'> & { readonly epoch?: number; readonly recovered?: RecoveryReport | null };

/** `entry`: the restarted host's `runs` entry for the run (undefined when it lists none yet). */
export function resumeOutcome(entry: ResumeEntry | undefined, step: Pick<RunStep, 'ticks'>): ResumeOutcome {
  if (!entry) return { kind: 'pending' };
  const { state, tick } = entry;
  // A run known only from the store has no `recovered`: it was not reopened.
  if (!('recovered' in entry)) return ENDED.has(state) ? { kind: 'ended', state, tick, recoveredAtEnd: false } : { kind: 'pending' };
  const r = entry.recovered;
  if (!r) return { kind: 'pending' };
  if (r.tick >= step.ticks) return { kind: 'ended', state, tick: r.tick, recoveredAtEnd: true };
  return { kind: 'resumed', epoch: r.epoch, tick: r.tick };
}

/** What the demo saw, for a person: why there was nothing to resume. */
export function describeEnded(run: string, o: Extract<ResumeOutcome, { kind: 'ended' }>, ticks: number): string {
  return o.recoveredAtEnd
    ? `${run} had computed all ${ticks} ticks before the kill: its host recovered it at its last checkpoint (tick ${o.tick}), with nothing left to resume`
    : `${run} had ended before the kill (${o.state} at tick ${o.tick}): there was nothing to resume`;
}

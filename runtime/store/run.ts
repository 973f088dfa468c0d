/**
 * A run's metadata record: what it runs and where it stands. The store keeps
 * one per run (last write wins); `runs()` lists the runs that have one.
 */
import type { BackendId } from '../../kernels/backend.js';
import type { PhaseParams } from '../../kernels/params.js';
import { isBackendId, paramsProblem, runIdProblem, show, u32Problem } from './validate.js';

export const RUN_STATES = ['running', 'paused', 'done', 'cancelled', 'failed', 'halted'] as const;
export type RunState = (typeof RUN_STATES)[number];

export interface RunRecord {
  readonly run: string;
  readonly params: PhaseParams;
  readonly backend: BackendId;
  readonly epochTicks: number;
  readonly state: RunState;
  /** Started with cluster pacing (SPEC §6): it may lead the slowest peer running it by a bounded number of ticks. */
  readonly paced?: boolean;
}

/** What is malformed in a run record (naming the field), or null. */
export function runRecordProblem(r: RunRecord): string | null {
  if (typeof r !== 'object' || r === null) return `run record must be an object (got ${show(r)})`;
  return (
    runIdProblem(r.run) ??
    paramsProblem(r.params) ??
    (isBackendId(r.backend) ? null : `backend must be a known backend id (got ${show(r.backend)})`) ??
    u32Problem('epochTicks', r.epochTicks, 1) ??
    ((RUN_STATES as readonly string[]).includes(r.state) ? null : `state must be one of ${RUN_STATES.join(', ')} (got ${show(r.state)})`)
  );
}

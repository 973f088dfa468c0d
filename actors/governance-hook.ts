/**
 * The contract between a run engine and whatever records its governance
 * decisions (SPEC §3: every ethics_check, rollback, adaptation and halt is a
 * ledger entry). The ledger (runtime/governance) implements it with a validator
 * quorum (a host without a cluster is its own quorum of 1); `localGovernance`
 * below, which only logs, is the default when none is handed in.
 *
 * Delivery, as the engine does it (actors/run-engine.ts):
 * - per epoch boundary, events in order: `ethics_check` for the epoch's
 *   checkpoint; then, when the governor acts, `rollback` + `adaptation` (both
 *   for the new checkpoint the rollback writes) or `halt`;
 * - `record` is awaited for each event, in order, before the next epoch runs;
 * - a `QallowError` with code `QUORUM_UNAVAILABLE` means "not recorded, try
 *   again later": the engine keeps the event and every later one queued and,
 *   with `governance.onQuorumLoss: pause` (default), pauses the run at this
 *   epoch boundary (`state: paused`, `pauseReason: quorum`, not journaled).
 *   When the host tells the phase actor `{ type: 'quorum', available: true }`
 *   the queue is recorded from the failed event on and the run resumes. With
 *   `continue` the run goes on and the queue is retried at every boundary;
 * - any other error is a real failure: it propagates (the phase actor's
 *   supervisor decides);
 * - at least once: the events of the checkpoint a restarted run recovers
 *   from are recorded again (a crash may fall between the checkpoint and the
 *   record), so an implementation must treat an event equal to one it already
 *   holds — same run, epoch, kind — as recorded.
 */
import type { Logger } from '../runtime/logger.js';

export interface EthicsFigures {
  /** Lowest total over the lanes (NaN if any is NaN). */
  readonly minTotal: number;
  /** Highest entropy figure over the lanes (NaN if any is NaN). */
  readonly maxEntropy: number;
  readonly passed: number;
  readonly lanes: number;
}

export interface EthicsCheckEvent {
  readonly kind: 'ethics_check';
  readonly run: string;
  readonly epoch: number;
  readonly tick: number;
  readonly stateHash: string;
  readonly figures: EthicsFigures;
  readonly decision: 'pass' | 'fail';
}

export interface RollbackEvent {
  readonly kind: 'rollback';
  readonly run: string;
  /** The new checkpoint holding the rolled-back-to state (with the adaptation applied). */
  readonly epoch: number;
  /** The tick the run went back to. */
  readonly tick: number;
  readonly stateHash: string;
  readonly toEpoch: number;
  readonly reason: string;
}

export interface AdaptationEvent {
  readonly kind: 'adaptation';
  readonly run: string;
  readonly epoch: number;
  readonly tick: number;
  readonly rings: readonly number[];
  readonly fromCouplings: readonly number[];
  readonly toCouplings: readonly number[];
}

export interface HaltEvent {
  readonly kind: 'halt';
  readonly run: string;
  readonly epoch: number;
  readonly tick: number;
  readonly reason: string;
}

export type GovernanceEvent = EthicsCheckEvent | RollbackEvent | AdaptationEvent | HaltEvent;
export type GovernanceEventKind = GovernanceEvent['kind'];
export const GOVERNANCE_EVENT_KINDS: readonly GovernanceEventKind[] = ['ethics_check', 'rollback', 'adaptation', 'halt'];

export interface EpochGovernance {
  /** Record one event durably; throw QallowError QUORUM_UNAVAILABLE when it cannot be recorded now. */
  record(event: GovernanceEvent): Promise<void>;
}

/** The default when no ledger is handed in (offline runs, tests): every event is a log line. A host always hands in its ledger, with or without a cluster. */
export function localGovernance(logger: Logger): EpochGovernance {
  return {
    record(event: GovernanceEvent): Promise<void> {
      logger.info({ ...event, governance: event.kind }, 'governance');
      return Promise.resolve();
    },
  };
}

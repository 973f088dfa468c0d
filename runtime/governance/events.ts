/**
 * From what happened to what the ledger records: a governance event of a
 * run (actors/governance-hook.ts), an accepted admin command or a
 * supervision decision becomes an entry draft — a ledger entry without the
 * chain fields (origin, seq, prevHash, timestamp) that the ledger fills in
 * when it batches it.
 *
 * `eventKey` identifies an event for deduplication: a run's events are
 * recorded at least once (a restarted run re-records the events of the
 * checkpoint it recovers from), so the ledger enters an event whose key it
 * already holds only once. Run events are keyed by kind, run and epoch;
 * admin and supervision drafts carry their own unique key.
 */
import type { GovernanceEvent } from '../../actors/governance-hook.js';
import type { EntryKind, Figures, LedgerEntry, LedgerEntryOf } from '../ledger/entry.js';
import { ZERO_HASH } from '../ledger/entry.js';

/** A ledger entry less the fields the ledger fills in when it batches it. */
export type EntryDraft = {
  [K in EntryKind]: Omit<LedgerEntryOf<K>, 'origin' | 'seq' | 'prevHash' | 'timestamp'> & {
    /** Deduplication key; default kind/run/epoch. */
    readonly key?: string;
  };
}[EntryKind];

/** Figures of entries that are not ethics checks. */
const NO_FIGURES: Figures = { minTotal: 0, maxEntropy: 0, passed: 0, lanes: 0 };

/**
 * What an admin entry's `decision` says happened (runtime/ledger/README.md): `done` — the
 * command was carried out (`shutdown`: the host stops on it); `refused:CODE` — it was verified
 * but failed with that QallowError code; `accepted` — written by earlier versions before the
 * command ran, outcome not recorded.
 */
export type AdminOutcome = 'done' | `refused:${string}` | 'accepted';

/** Whether `decision` is an admin entry's outcome. */
export function isAdminOutcome(decision: string): decision is AdminOutcome {
  return decision === 'done' || decision === 'accepted' || /^refused:[A-Z][A-Z0-9_]{0,54}$/.test(decision);
}

/** An admin command and what came of it; `key` must be unique per command (the host numbers them). */
export function adminEntry(command: string, run: string, target: string, outcome: AdminOutcome, key: string): EntryDraft {
  return { kind: 'admin', run, epoch: 0, tick: 0, stateHash: ZERO_HASH, figures: NO_FIGURES, decision: outcome, detail: { command, actorOrRun: target }, key };
}

/** A supervision decision: an actor restarted (its incarnation) or an escalation. */
/** `stop`: a supervisor gave up on a child over its restart intensity (stop-child: a run marked failed). */
export function supervisionEntry(actor: string, action: 'restart' | 'escalate' | 'stop', restarts: number, withinMs: number, key: string): EntryDraft {
  return { kind: 'supervision', run: '', epoch: 0, tick: 0, stateHash: ZERO_HASH, figures: NO_FIGURES, decision: action, detail: { actor, action, restarts, withinMs }, key };
}

export function isDraft(v: GovernanceEvent | EntryDraft): v is EntryDraft {
  return 'detail' in v;
}

export function eventEntry(e: GovernanceEvent, ethics: { readonly threshold: number; readonly entropyMax: number }): EntryDraft {
  switch (e.kind) {
    case 'ethics_check':
      return { kind: e.kind, run: e.run, epoch: e.epoch, tick: e.tick, stateHash: e.stateHash, figures: e.figures, decision: e.decision, detail: { threshold: ethics.threshold, entropyMax: ethics.entropyMax } };
    case 'rollback':
      return { kind: e.kind, run: e.run, epoch: e.epoch, tick: e.tick, stateHash: e.stateHash, figures: NO_FIGURES, decision: 'rollback', detail: { toEpoch: e.toEpoch, reason: e.reason } };
    case 'adaptation':
      return {
        kind: e.kind,
        run: e.run,
        epoch: e.epoch,
        tick: e.tick,
        stateHash: ZERO_HASH,
        figures: NO_FIGURES,
        decision: 'adaptation',
        detail: { rings: [...e.rings], fromCoupling: [...e.fromCouplings], toCoupling: [...e.toCouplings] },
      };
    case 'halt':
      return { kind: e.kind, run: e.run, epoch: e.epoch, tick: e.tick, stateHash: ZERO_HASH, figures: NO_FIGURES, decision: 'halt', detail: { reason: e.reason } };
  }
}

export function eventKey(d: EntryDraft | LedgerEntry): string {
  if ('key' in d && d.key !== undefined) return d.key;
  if (d.kind === 'admin' || d.kind === 'supervision') return 'seq' in d ? `${d.kind}#${d.seq}` : `${d.kind}/${d.run}/${d.epoch}/${d.tick}`;
  return `${d.kind}/${d.run}/${d.epoch}`;
}

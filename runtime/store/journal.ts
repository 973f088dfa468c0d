/**
 * The journal: the commands that shaped a run, in the order they applied,
 * each with the tick at which it applied. After a restart the runtime
 * resumes from the newest valid checkpoint and re-applies the entries after
 * its tick; replay recomputes epochs from a checkpoint and these entries.
 *
 * To add a command: add an interface, add it to `JournalEntry` and to
 * `JOURNAL_ENTRY_TYPES`, teach codec.ts to encode it (the compiler points at
 * each place, and the round-trip fixtures in test/store-codec.test.ts).
 */
import type { BackendId } from '../../kernels/backend.js';
import type { PhaseParams } from '../../kernels/params.js';
import { isBackendId, paramsProblem, show, u32Problem } from './validate.js';

/** The run was started with these parameters (always the first entry, at tick 0). */
export interface StartEntry {
  readonly type: 'start';
  readonly params: PhaseParams;
  readonly backend: BackendId;
  readonly epochTicks: number;
  readonly tick: 0;
}

export interface PauseEntry {
  readonly type: 'pause';
  readonly tick: number;
}

export interface ResumeEntry {
  readonly type: 'resume';
  readonly tick: number;
}

export interface CancelEntry {
  readonly type: 'cancel';
  readonly tick: number;
}

/** One ring's coupling changed (an adaptation by the governor). */
export interface AdaptEntry {
  readonly type: 'adapt';
  readonly ring: number;
  readonly coupling: number;
  readonly tick: number;
}

export type JournalEntry = StartEntry | PauseEntry | ResumeEntry | CancelEntry | AdaptEntry;
export type JournalEntryType = JournalEntry['type'];
export const JOURNAL_ENTRY_TYPES: readonly JournalEntryType[] = ['start', 'pause', 'resume', 'cancel', 'adapt'];

/** An entry as stored: `seq` counts a run's entries from 1, in append order. */
export interface JournalRecord {
  readonly seq: number;
  readonly entry: JournalEntry;
}

/** What is malformed in a journal entry (naming the field), or null. */
export function journalEntryProblem(e: JournalEntry, field = 'entry'): string | null {
  if (typeof e !== 'object' || e === null) return `${field} must be an object (got ${show(e)})`;
  switch (e.type) {
    case 'start':
      if ((e.tick as number) !== 0) return `${field}.tick of a start entry must be 0 (got ${show((e as { tick: unknown }).tick)})`;
      if (!isBackendId(e.backend)) return `${field}.backend must be a known backend id (got ${show(e.backend)})`;
      return paramsProblem(e.params, `${field}.params`) ?? u32Problem(`${field}.epochTicks`, e.epochTicks, 1);
    case 'pause':
    case 'resume':
    case 'cancel':
      return u32Problem(`${field}.tick`, e.tick);
    case 'adapt':
      if (typeof e.coupling !== 'number' || !Number.isFinite(e.coupling)) return `${field}.coupling must be a finite number (got ${show(e.coupling)})`;
      return u32Problem(`${field}.ring`, e.ring) ?? u32Problem(`${field}.tick`, e.tick);
    default:
      return `${field}.type must be one of ${JOURNAL_ENTRY_TYPES.join(', ')} (got ${show((e as { type: unknown }).type)})`;
  }
}

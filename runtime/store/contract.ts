/**
 * The Store: a host's durable record of its runs (SPEC §4). Implementations:
 * lmdb.ts (production, one LMDB environment per data directory) and
 * memory.ts (tests). test/store-contract.test.ts runs one suite against both.
 *
 * Guarantees every implementation keeps:
 * - a write resolves only once it is durable (LMDB: committed and synced);
 *   a checkpoint and its state are written in one transaction, so neither
 *   exists without the other;
 * - a run's checkpoints form one hash chain: `putCheckpoint` accepts only a
 *   checkpoint that extends the newest stored one (BAD_PARAMETER otherwise);
 * - reads decode and validate: bytes that do not decode to a valid record
 *   fail with CHECKPOINT_CORRUPT (checkpoints, states) or STORE_CORRUPT
 *   (journal, run records), naming run, key and field; nothing else is lost;
 * - calls before `start()` or after `stop()` fail with STORE_CLOSED;
 * - a write that cannot be made durable (a full disk, EIO) rejects with
 *   IO_ERROR naming the cause and stores nothing of itself; the same write
 *   may be retried (LMDB: lmdb-writer.ts).
 */
import type { Checkpoint } from './checkpoint.js';
import type { JournalEntry, JournalRecord } from './journal.js';
import type { RunRecord } from './run.js';
import type { StateSnapshot } from './snapshot.js';

export type { Checkpoint, CausalEdge, CheckpointFields } from './checkpoint.js';
export type { JournalEntry, JournalRecord } from './journal.js';
export type { RunRecord, RunState } from './run.js';
export type { StateSnapshot } from './snapshot.js';

export interface SkippedCheckpoint {
  readonly epoch: number;
  readonly reason: string;
}

export interface RecoveredCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly snapshot: StateSnapshot;
  /** Newer checkpoints that were not usable, newest first, each with why. */
  readonly skipped: readonly SkippedCheckpoint[];
}

/** The subset of a pino logger the store uses. */
export interface StoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface StoreComponents {
  readonly logger?: StoreLogger | undefined;
}

export interface Store {
  start(): Promise<void>;
  /** Waits for writes in flight, then closes. */
  stop(): Promise<void>;

  /** Create or replace a run's metadata record. */
  putRun(record: RunRecord): Promise<void>;
  getRun(run: string): Promise<RunRecord | undefined>;
  /** Ids of the runs that have a metadata record, sorted. */
  runs(): Promise<string[]>;

  /**
   * Store a sealed checkpoint and the state it hashes, atomically and
   * durably. Rejects (BAD_PARAMETER) a checkpoint that does not verify, does
   * not extend the newest stored checkpoint of its run, or whose stateHash is
   * not `stateHash(snapshot)`; rejects with CHECKPOINT_CORRUPT when the newest
   * stored checkpoint cannot be read (see `discardAfter`).
   */
  putCheckpoint(checkpoint: Checkpoint, snapshot: StateSnapshot): Promise<void>;
  /** A run's checkpoints in epoch order (empty if none). */
  listCheckpoints(run: string): Promise<Checkpoint[]>;
  /** The state stored with a checkpoint. CHECKPOINT_NOT_FOUND if there is none. */
  getSnapshot(run: string, epoch: number): Promise<StateSnapshot>;
  /**
   * The newest checkpoint whose chain verifies from the run's first
   * checkpoint and whose stored state hashes to its stateHash, with that
   * state. Newer ones that fail are listed in `skipped` and never returned.
   * CHECKPOINT_NOT_FOUND when the run has no checkpoint; CHECKPOINT_CORRUPT
   * when none is usable.
   */
  latestValidCheckpoint(run: string): Promise<RecoveredCheckpoint>;
  /**
   * Move a run's checkpoints (and states) after `epoch` out of the chain,
   * into quarantine where they are kept for inspection but never read again,
   * so the run can continue from `epoch`. Returns how many were moved.
   */
  discardAfter(run: string, epoch: number): Promise<number>;

  /** Append a command to a run's journal, durably; returns its sequence number (1, 2, ...). */
  appendJournal(run: string, entry: JournalEntry): Promise<number>;
  /** A run's journal in order, from `fromSeq` (inclusive, default 1). */
  journal(run: string, fromSeq?: number): Promise<JournalRecord[]>;
}

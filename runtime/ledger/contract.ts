/**
 * The LedgerStore: a host's durable copy of the governance ledger (every
 * origin's certified chain) and of its own votes. Implementation:
 * lmdb-store.ts (named sub-databases in the host's one LMDB environment).
 *
 * Guarantees:
 * - every write resolves only once it is committed and synced to disk;
 * - `append` accepts a record only if it verifies (record.ts checkRecord
 *   against the stored validator set) and extends its origin's chain
 *   (seq = height + 1, prevHash = hash at height); re-appending an entry
 *   already stored is a no-op ('duplicate'); a different entry for a stored
 *   seq is LEDGER_CONFLICT; a gap or a broken link is LEDGER_BAD_CHAIN;
 * - `recordVote(s)` writes (origin, seq) → entry hash before it resolves
 *   true, and resolves false (writing nothing) if a different hash was voted
 *   for any of those seqs before, across restarts; `recordRound` does the
 *   same for this host's own batch and keeps the batch itself as the
 *   pending round (`pendingRound`), in the same durable write;
 * - the validator set is written once; opening with a different one is
 *   LEDGER_CONFLICT;
 * - reads decode and validate (LEDGER_BAD_ENTRY / STORE_CORRUPT naming the key);
 * - calls before start() or after stop() fail with STORE_CLOSED.
 */
import type { BatchHeader } from './batch.js';
import type { ChainHead } from './chain.js';
import type { LedgerRecord } from './record.js';
import type { ValidatorSet } from './validators.js';

export type AppendResult = 'appended' | 'duplicate';

/** An origin's batch as proposed: header, origin signature, entry bytes. */
export interface PendingRound {
  readonly header: BatchHeader;
  readonly originSignature: Uint8Array;
  readonly entries: readonly Uint8Array[];
}

/** One stored record as raw bytes, under its key: what offline verification reads. */
export interface RawRecord {
  readonly origin: string;
  readonly seq: number;
  readonly bytes: Uint8Array;
}

export interface LedgerStore {
  start(): Promise<void>;
  stop(): Promise<void>;

  /** The stored validator set (undefined until one is stored). */
  validatorSet(): ValidatorSet | undefined;

  /** Verify and append one record. */
  append(record: LedgerRecord): Promise<AppendResult>;
  /**
   * Verify and append records in order, in one durable transaction (all or nothing).
   * `encoded`, when given, holds each record's storage bytes (what it was decoded
   * from, or encodeRecord's), stored as they are instead of encoding again.
   */
  appendMany(records: readonly LedgerRecord[], encoded?: readonly Uint8Array[]): Promise<AppendResult[]>;

  /** Record this host's vote for (origin, seq) → hash; false if it voted a different hash before. */
  recordVote(origin: string, seq: number, hash: string): Promise<boolean>;
  /** The same for a batch, all or nothing. */
  recordVotes(origin: string, votes: readonly { seq: number; hash: string }[]): Promise<boolean>;
  /**
   * This host's own batch in flight: its votes for the batch's seqs and the
   * batch itself (what it proposes again, unchanged, after a crash), in one
   * durable write; false, writing nothing, if it voted differently before.
   */
  recordRound(round: PendingRound, hashes: readonly string[]): Promise<boolean>;
  /**
   * The newest rounds given to recordRound, oldest first (some may be
   * committed already: compare their seqs with the height).
   */
  pendingRounds(): readonly PendingRound[];
  /** What this host voted for (origin, seq), if anything. */
  votedFor(origin: string, seq: number): Promise<string | undefined>;

  /*
   * Reads (height, heads, get, entriesFrom) see every append made before
   * them, including one whose promise has not settled yet: they wait for it.
   */
  /** Highest stored seq of an origin (0 when none). */
  height(origin: string): Promise<number>;
  /** Every origin's head, by origin. */
  heads(): Promise<ChainHead[]>;
  get(origin: string, seq: number): Promise<LedgerRecord | undefined>;
  /** Catch-up: up to `limit` records of `origin` from `seq` on, in order. */
  entriesFrom(origin: string, seq: number, limit: number): Promise<LedgerRecord[]>;
  /** Every stored record, undecoded, by (origin, seq). */
  raw(): Iterable<RawRecord>;

  /**
   * Called with each newly appended record after its transaction is durable,
   * in commit order (for `ledger tail --follow`). Returns the unsubscribe.
   */
  subscribe(listener: (record: LedgerRecord) => void): () => void;
}

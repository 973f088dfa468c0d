/**
 * Per-origin hash chains, checked in the order records arrive: for each
 * origin, seq must be 1, 2, 3, … with no gap, and each entry's prevHash must
 * be the hash of the origin's previous entry. A record that repeats a seq
 * already seen is named: "replayed" when it is the same entry again,
 * "conflicting" when it is a different entry for that seq (which a correct
 * quorum can never certify). All failures are LEDGER_BAD_CHAIN (conflicts:
 * LEDGER_CONFLICT) with details origin, seq, problem.
 *
 * The whole-ledger verifier (verify.ts) runs every record through
 * `checkRecord` (signatures) and then `ChainChecker.accept` (order).
 */
import { QallowError } from '../errors.js';
import { ZERO_HASH } from './entry.js';

export interface ChainHead {
  readonly origin: string;
  /** Highest seq (0 when the origin has no entries). */
  readonly seq: number;
  /** Hash of the entry at `seq` (zeros at 0). */
  readonly hash: string;
}

export type ChainProblem = 'gap' | 'out-of-order' | 'replayed' | 'conflicting' | 'bad-link';

export function chainError(origin: string, seq: number, problem: ChainProblem, message: string): QallowError {
  return new QallowError(problem === 'conflicting' ? 'LEDGER_CONFLICT' : 'LEDGER_BAD_CHAIN', `${origin}#${seq}: ${message}`, { origin, seq, problem });
}

/**
 * What an entry (origin, seq, prevHash, hash) does to a chain whose head is
 * `head` and whose hash at seq ≤ head.seq is `hashAt(seq)`: 'append', or
 * 'duplicate' (the same entry is already there); anything else throws.
 */
export function chainStep(
  head: ChainHead,
  e: { origin: string; seq: number; prevHash: string; hash: string },
  hashAt: (seq: number) => string | undefined,
): 'append' | 'duplicate' {
  if (e.seq <= head.seq) {
    const had = hashAt(e.seq);
    if (had === e.hash) return 'duplicate';
    throw chainError(e.origin, e.seq, 'conflicting', `a different entry for seq ${e.seq} is already in the chain (${(had ?? '?').slice(0, 16)}…, this one ${e.hash.slice(0, 16)}…)`);
  }
  if (e.seq !== head.seq + 1) throw chainError(e.origin, e.seq, 'gap', `expected seq ${head.seq + 1} next (entries ${head.seq + 1}..${e.seq - 1} are missing or out of order)`);
  const want = head.seq === 0 ? ZERO_HASH : head.hash;
  if (e.prevHash !== want) throw chainError(e.origin, e.seq, 'bad-link', `prevHash ${e.prevHash.slice(0, 16)}… is not the hash of seq ${head.seq} (${want.slice(0, 16)}…)`);
  return 'append';
}

/** Tracks every origin's chain over a stream of records (offline verification). */
export class ChainChecker {
  private readonly hashes = new Map<string, string[]>();

  /**
   * Accept the next record of the stream. Unlike a store's append, a repeat
   * of an entry already seen is an error here ("replayed"): a ledger lists
   * each entry once.
   */
  accept(e: { origin: string; seq: number; prevHash: string; hash: string }): void {
    const list = this.hashes.get(e.origin) ?? [];
    const head: ChainHead = { origin: e.origin, seq: list.length, hash: list[list.length - 1] ?? ZERO_HASH };
    const step = chainStep(head, e, (seq) => list[seq - 1]);
    if (step === 'duplicate') throw chainError(e.origin, e.seq, 'replayed', `replays seq ${e.seq}, which appeared earlier (the chain is at seq ${head.seq})`);
    list.push(e.hash);
    this.hashes.set(e.origin, list);
  }

  heads(): ChainHead[] {
    return [...this.hashes]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([origin, list]) => ({ origin, seq: list.length, hash: list[list.length - 1] ?? ZERO_HASH }));
  }

  get count(): number {
    let n = 0;
    for (const l of this.hashes.values()) n += l.length;
    return n;
  }
}

/**
 * Serving `ledger.tail` (the admin query behind `qallow ledger tail`): a
 * host's committed ledger records, read from its LedgerStore, as export lines
 * (runtime/ledger/export.ts), so a reader decodes them with the same strict
 * parser and `--json` output is verifiable like an export.
 *
 * Order: the ledger has no global order, only one chain per origin. Records
 * are merged across origins by the entry's timestamp (the origin's clock at
 * the decision), ties by origin then seq, and every origin's records stay in
 * seq order (a k-way merge, so a clock that steps back reorders nothing
 * within an origin).
 *
 * Why an admin query and not the CLI opening the host's LMDB environment
 * read-only: it works wherever the admin endpoint reaches (`--node` on
 * another machine, a container), it sees exactly what the host has
 * committed, and the CLI never maps a database another process is writing
 * with options it would have to match.
 */
import type { LedgerCursor, LedgerTailCommand } from '../admin/command.js';
import type { LedgerStore } from '../ledger/contract.js';
import { exportLine } from '../ledger/export.js';
import type { LedgerRecord } from '../ledger/record.js';

export interface LedgerTailReply {
  /** Every origin's height when this answer was read: a reader's next cursor (records past it come in a later answer). */
  readonly heads: Record<string, number>;
  /** Export lines (export.ts), merged as above. */
  readonly records: string[];
  /** Some origin had more records past the cursor than `limit`: ask again at once. */
  readonly more: boolean;
  readonly validators: number;
  readonly quorum: number;
}

/** Merge per-origin runs (each in seq order) by (timestamp, origin, seq), keeping each run's order. */
export function mergeByCommitTime(runs: ReadonlyArray<readonly LedgerRecord[]>): LedgerRecord[] {
  const at = runs.map(() => 0);
  const out: LedgerRecord[] = [];
  for (;;) {
    let best = -1;
    for (let i = 0; i < runs.length; i++) {
      const r = runs[i]![at[i]!];
      if (r === undefined) continue;
      const b = best < 0 ? undefined : runs[best]![at[best]!]!;
      if (!b || before(r, b)) best = i;
    }
    if (best < 0) return out;
    out.push(runs[best]![at[best]!]!);
    at[best]!++;
  }
}

function before(a: LedgerRecord, b: LedgerRecord): boolean {
  if (a.entry.timestamp !== b.entry.timestamp) return a.entry.timestamp < b.entry.timestamp;
  if (a.entry.origin !== b.entry.origin) return a.entry.origin < b.entry.origin;
  return a.entry.seq < b.entry.seq;
}

/** What serving a tail reads of the store. */
export type TailSource = Pick<LedgerStore, 'heads' | 'entriesFrom' | 'validatorSet'>;

export async function ledgerTail(store: TailSource, cmd: LedgerTailCommand): Promise<LedgerTailReply> {
  const heads = await store.heads();
  const cursor = new Map<string, number>((cmd.after ?? []).map((c: LedgerCursor) => [c.origin, c.seq]));
  let more = false;
  const runs = await Promise.all(
    heads.map(async (h) => {
      // Read up to the head seen above, never past it, so `heads` is a safe next cursor.
      const from = cmd.after ? (cursor.get(h.origin) ?? 0) + 1 : Math.max(1, h.seq - cmd.limit + 1);
      const count = Math.min(cmd.limit, h.seq - from + 1);
      if (cmd.after && count < h.seq - from + 1) more = true;
      return count > 0 ? store.entriesFrom(h.origin, from, count) : [];
    }),
  );
  let merged = mergeByCommitTime(runs);
  if (!cmd.after) merged = merged.slice(-cmd.limit);
  const set = store.validatorSet();
  // An origin's next cursor is the last record sent (with more to come, that is short of its head).
  const next = (origin: string, seq: number, sent: readonly LedgerRecord[]): number =>
    sent.at(-1)?.entry.seq ?? (cmd.after ? Math.min(seq, cursor.get(origin) ?? 0) : seq);
  return {
    heads: Object.fromEntries(heads.map((h, i) => [h.origin, next(h.origin, h.seq, runs[i]!)])),
    records: merged.map(exportLine),
    more,
    validators: set?.validators.size ?? 0,
    quorum: set?.quorum ?? 0,
  };
}

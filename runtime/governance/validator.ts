/**
 * The ethics validator of one host (SPEC §3, §6): it checks another host's
 * proposed batch of ledger entries and, if everything holds, persists its
 * vote for each (origin, seq) and only then returns its signature.
 *
 * What it checks, in order (the first failure refuses the whole batch, is
 * logged naming the origin and the problem, and is answered with a typed
 * error):
 *   1. the origin is a configured host and signed the batch header
 *      (LEDGER_BAD_SIGNATURE);
 *   2. each entry decodes, belongs to the origin, has the next seq, links to
 *      the one before it, and the entry hashes make the signed Merkle root
 *      (LEDGER_BAD_ENTRY, LEDGER_BAD_CHAIN, LEDGER_BAD_PROOF);
 *   3. the first entry links to the origin's entry seq − 1 as this validator
 *      knows it (its own vote or the committed chain). A validator that does
 *      not know seq − 1 (it was away) refuses (LEDGER_BAD_CHAIN, problem
 *      `behind`) and catches up; the others carry the quorum meanwhile;
 *   4. the decision follows from the figures and this validator's own
 *      configured thresholds: an ethics_check passes ⇔ minTotal ≥ threshold
 *      and maxEntropy ≤ entropyMax (NaN fails) ⇔ every lane passed; the
 *      thresholds in the entry must be the configured ones; a rollback goes
 *      back to an earlier epoch; an adaptation lowers each coupling by the
 *      configured factor (LEDGER_BAD_ENTRY, problem `decision`);
 *   5. it never signs two different entries for one (origin, seq): the vote
 *      is written durably first (LedgerStore.recordVotes); a different entry
 *      for a seq it already voted is LEDGER_CONFLICT — an equivocating origin.
 */
import type { NodeId } from '../actors/address.js';
import { QallowError, isQallowError, type ErrorCode } from '../errors.js';
import type { Ed25519SecretKey } from '../identity/ed25519.js';
import type { Logger } from '../logger.js';
import { verifyBatchSignature, type Batch } from '../ledger/batch.js';
import type { LedgerStore } from '../ledger/contract.js';
import { decodeEntry, sha256, ZERO_HASH, type LedgerEntry } from '../ledger/entry.js';
import { merkleTree } from '../ledger/merkle.js';
import type { ValidatorSet } from '../ledger/validators.js';
import { signVote } from '../ledger/vote.js';
import { ADMIN_COMMAND_TYPES } from '../admin/command.js';
import type { ProposeMsg, VoteReply } from './wire.js';
import { isAdminOutcome } from './events.js';

export interface ValidatorInit {
  readonly node: NodeId;
  readonly secretKey: Ed25519SecretKey;
  readonly validators: ValidatorSet;
  readonly ethics: { readonly threshold: number; readonly entropyMax: number };
  readonly adaptationFactor: number;
}

export interface ValidatorComponents {
  readonly store: LedgerStore;
  readonly logger: Logger;
  /** Called when a proposal shows this host is behind `origin` (it then fetches what it missed). */
  readonly behind?: ((origin: NodeId) => void) | undefined;
}

export interface ValidatorStats {
  readonly votes: number;
  readonly refused: number;
  /** Refusals by origin (who proposed something this validator would not sign). */
  readonly refusedBy: Readonly<Record<string, number>>;
}

function refuse(code: ErrorCode, problem: string, message: string, details: Record<string, string | number> = {}): QallowError {
  return new QallowError(code, message, { problem, ...details });
}

/** Whether the figures pass SPEC §3's rule (NaN fails). */
export function figuresPass(f: { minTotal: number; maxEntropy: number }, rule: { threshold: number; entropyMax: number }): boolean {
  return f.minTotal >= rule.threshold && f.maxEntropy <= rule.entropyMax;
}

/** Why `e`'s decision does not follow from its figures and the rule, or null. */
export function decisionProblem(e: LedgerEntry, rule: { threshold: number; entropyMax: number }, adaptationFactor: number): string | null {
  switch (e.kind) {
    case 'ethics_check': {
      if (e.detail.threshold !== rule.threshold || e.detail.entropyMax !== rule.entropyMax) {
        return `thresholds (${e.detail.threshold}, ${e.detail.entropyMax}) are not the configured (${rule.threshold}, ${rule.entropyMax})`;
      }
      const { passed, lanes } = e.figures;
      if (lanes < 1 || passed > lanes) return `passed ${passed} of ${lanes} lanes is impossible`;
      const pass = figuresPass(e.figures, rule);
      if (pass !== (passed === lanes)) return `figures (minTotal ${e.figures.minTotal}, maxEntropy ${e.figures.maxEntropy}) contradict ${passed} of ${lanes} lanes passing`;
      const expected = pass ? 'pass' : 'fail';
      return e.decision === expected ? null : `decision "${e.decision}" does not follow from the figures (expected "${expected}")`;
    }
    case 'rollback':
      if (e.decision !== 'rollback') return `decision "${e.decision}" of a rollback entry must be "rollback"`;
      return e.detail.toEpoch < e.epoch ? null : `rollback to epoch ${e.detail.toEpoch} does not go back from epoch ${e.epoch}`;
    case 'adaptation': {
      if (e.decision !== 'adaptation') return `decision "${e.decision}" of an adaptation entry must be "adaptation"`;
      const { rings, fromCoupling, toCoupling } = e.detail;
      if (rings.length === 0 || rings.length !== fromCoupling.length || rings.length !== toCoupling.length) return 'adaptation lists must be non-empty and of equal length';
      for (let i = 0; i < rings.length; i++) {
        const want = fromCoupling[i]! * adaptationFactor;
        // The run may round the new coupling to float32: allow that much.
        if (!(Math.abs(toCoupling[i]! - want) <= Math.abs(want) * 1e-6)) return `ring ${rings[i]}: coupling ${fromCoupling[i]} → ${toCoupling[i]} is not × ${adaptationFactor}`;
      }
      return null;
    }
    case 'halt':
      return e.decision === 'halt' ? null : `decision "${e.decision}" of a halt entry must be "halt"`;
    case 'admin':
      if (!(ADMIN_COMMAND_TYPES as readonly string[]).includes(e.detail.command)) return `admin command "${e.detail.command}" is not one qallow has`;
      return isAdminOutcome(e.decision) ? null : `decision "${e.decision}" of an admin entry must be "done" or "refused:CODE" (or "accepted" from earlier versions)`;
    case 'supervision':
      return null;
  }
}

export class EthicsValidator {
  private votes = 0;
  private refused = 0;
  private readonly refusedBy: Record<string, number> = {};

  constructor(
    private readonly init: ValidatorInit,
    private readonly c: ValidatorComponents,
  ) {}

  /** Check a proposal; persist the vote; sign. Throws a typed refusal. */
  async vote(p: ProposeMsg): Promise<VoteReply> {
    try {
      const entries = this.check(p);
      await this.checkLink(p, entries[0]!);
      const ok = await this.c.store.recordVotes(
        p.header.origin,
        entries.map((e, i) => ({ seq: e.seq, hash: sha256(p.entries[i]!) })),
      );
      if (!ok) {
        throw refuse('LEDGER_CONFLICT', 'equivocation', `${p.header.origin} proposed entries for seq ${p.header.firstSeq}..${p.header.firstSeq + p.header.count - 1} that differ from ones this validator already signed`);
      }
      this.votes++;
      return signVote(p.header, this.init.node, this.init.secretKey);
    } catch (e) {
      this.countRefusal(p.header.origin);
      const problem = isQallowError(e) ? String(e.details['problem'] ?? e.code) : 'internal';
      const level = problem === 'behind' ? 'info' : 'warn';
      this.c.logger[level](
        { component: 'validator', origin: p.header.origin, firstSeq: p.header.firstSeq, count: p.header.count, code: isQallowError(e) ? e.code : 'INTERNAL', problem, err: e instanceof Error ? e.message : String(e) },
        problem === 'behind' ? 'proposal deferred: this validator is catching up' : 'proposal refused',
      );
      throw e;
    }
  }

  /**
   * This host's vote on its own batch, taken directly rather than through
   * the validator actor: the origin built the entries, so the signature,
   * seq, link and root checks hold by construction; the decision rule is
   * checked as for anyone's. The vote is written together with the batch
   * (LedgerStore.recordRound): one durable record that is at once this
   * validator's vote and the origin's pending round.
   */
  async voteOwn(batch: Pick<Batch, 'header' | 'originSignature' | 'entries' | 'bytes' | 'hashes'>): Promise<VoteReply> {
    const { header } = batch;
    try {
      for (const e of batch.entries) {
        const problem = decisionProblem(e, this.init.ethics, this.init.adaptationFactor);
        if (problem) throw refuse('LEDGER_BAD_ENTRY', 'decision', `${e.origin}#${e.seq} (${e.kind}, run ${e.run} epoch ${e.epoch}): ${problem}`, { seq: e.seq });
      }
      const ok = await this.c.store.recordRound({ header, originSignature: batch.originSignature, entries: batch.bytes }, batch.hashes);
      if (!ok) throw refuse('LEDGER_CONFLICT', 'equivocation', `this host already voted different entries for its own seq ${header.firstSeq}..${header.firstSeq + header.count - 1}`);
      this.votes++;
      return signVote(header, this.init.node, this.init.secretKey);
    } catch (e) {
      this.countRefusal(header.origin);
      this.c.logger.error(
        { component: 'validator', origin: header.origin, firstSeq: header.firstSeq, count: header.count, code: isQallowError(e) ? e.code : 'INTERNAL', err: e instanceof Error ? e.message : String(e) },
        'this host refused its own batch',
      );
      throw e;
    }
  }

  private countRefusal(origin: string): void {
    this.refused++;
    this.refusedBy[origin] = (this.refusedBy[origin] ?? 0) + 1;
  }

  stats(): ValidatorStats {
    return { votes: this.votes, refused: this.refused, refusedBy: { ...this.refusedBy } };
  }

  private check(p: ProposeMsg): LedgerEntry[] {
    const { header } = p;
    const key = this.init.validators.origins.get(header.origin);
    if (!key) throw refuse('LEDGER_BAD_SIGNATURE', 'unknown-origin', `${header.origin} is not a configured host`, { origin: header.origin });
    if (!verifyBatchSignature(header, p.originSignature, key)) {
      throw refuse('LEDGER_BAD_SIGNATURE', 'origin-signature', `the batch signature is not ${header.origin}'s`, { origin: header.origin });
    }
    const hashes = p.entries.map((b) => sha256(b));
    const entries = p.entries.map((b, i) => {
      const e = decodeEntry(b);
      if (e.origin !== header.origin) throw refuse('LEDGER_BAD_ENTRY', 'origin', `entry ${i} is from ${e.origin}, not ${header.origin}`);
      if (e.seq !== header.firstSeq + i) throw refuse('LEDGER_BAD_CHAIN', 'seq', `entry ${i} has seq ${e.seq}, expected ${header.firstSeq + i}`);
      if (i > 0 && e.prevHash !== hashes[i - 1]) throw refuse('LEDGER_BAD_CHAIN', 'bad-link', `${e.origin}#${e.seq} does not link to #${e.seq - 1}`);
      const problem = decisionProblem(e, this.init.ethics, this.init.adaptationFactor);
      if (problem) throw refuse('LEDGER_BAD_ENTRY', 'decision', `${e.origin}#${e.seq} (${e.kind}, run ${e.run} epoch ${e.epoch}): ${problem}`, { seq: e.seq });
      return e;
    });
    if (merkleTree(hashes).root !== header.root) throw refuse('LEDGER_BAD_PROOF', 'root', `the entries do not make the signed batch root`);
    return entries;
  }

  private async checkLink(p: ProposeMsg, first: LedgerEntry): Promise<void> {
    const { origin, firstSeq } = p.header;
    let prev: string | undefined;
    if (firstSeq === 1) prev = ZERO_HASH;
    else prev = (await this.c.store.votedFor(origin, firstSeq - 1)) ?? (await this.c.store.get(origin, firstSeq - 1))?.hash;
    if (prev === undefined) {
      this.c.behind?.(origin);
      throw refuse('LEDGER_BAD_CHAIN', 'behind', `this validator does not know ${origin}#${firstSeq - 1} yet; it is catching up`);
    }
    if (first.prevHash !== prev) throw refuse('LEDGER_BAD_CHAIN', 'bad-link', `${origin}#${firstSeq} does not link to the #${firstSeq - 1} this validator knows`);
  }
}

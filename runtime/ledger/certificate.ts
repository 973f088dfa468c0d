/**
 * Quorum certificates. A certificate is the list of votes (validator id,
 * signature over the batch header) from DISTINCT validators of the
 * configured set; it certifies the batch when it holds at least
 * quorum(n) = floor(2n/3) + 1 of them (3 of 4, 5 of 7) and every one of them
 * verifies. A certificate with a bad, unknown or repeated vote is refused as
 * a whole, even if the good votes alone would reach the quorum: what is
 * stored and exported must be exactly what was checked.
 *
 * `verifyCertificate` throws, naming the first thing wrong:
 *   LEDGER_BAD_CERTIFICATE  problem "unknown-validator" | "duplicate-validator" (details.validator)
 *   LEDGER_NO_QUORUM        problem "too-few" (details.votes, details.quorum)
 *   LEDGER_BAD_SIGNATURE    problem "bad-signature" (details.validator)
 * `CertificateBuilder` is the collecting side for the protocol: it checks each
 * vote as it arrives and says when the quorum is reached.
 */
import type { NodeId } from '../actors/address.js';
import { QallowError } from '../errors.js';
import type { BatchHeader } from './batch.js';
import type { ValidatorSet } from './validators.js';
import { verifyVoteSignature, type Vote } from './vote.js';

export interface Certificate {
  readonly votes: readonly Vote[];
}

function where(h: BatchHeader): string {
  return h.count === 1 ? `${h.origin}#${h.firstSeq}` : `${h.origin}#${h.firstSeq}..${h.firstSeq + h.count - 1}`;
}

/** Check `cert` for the batch `header` against the configured validators; throws naming the problem. */
export function verifyCertificate(header: BatchHeader, cert: Certificate, validators: ValidatorSet): void {
  const seen = new Set<string>();
  for (const v of cert.votes) {
    if (!validators.validators.has(v.validator)) {
      throw new QallowError('LEDGER_BAD_CERTIFICATE', `certificate for ${where(header)}: ${v.validator} is not a configured validator`, {
        problem: 'unknown-validator',
        validator: String(v.validator),
      });
    }
    if (seen.has(v.validator)) {
      throw new QallowError('LEDGER_BAD_CERTIFICATE', `certificate for ${where(header)}: ${v.validator} votes more than once`, {
        problem: 'duplicate-validator',
        validator: String(v.validator),
      });
    }
    seen.add(v.validator);
  }
  if (cert.votes.length < validators.quorum) {
    throw new QallowError(
      'LEDGER_NO_QUORUM',
      `certificate for ${where(header)}: ${cert.votes.length} of ${validators.size} validators signed, ${validators.quorum} needed`,
      { problem: 'too-few', votes: cert.votes.length, quorum: validators.quorum },
    );
  }
  for (const v of cert.votes) {
    if (!verifyVoteSignature(header, v.signature, validators.validators.get(v.validator)!)) {
      throw new QallowError('LEDGER_BAD_SIGNATURE', `certificate for ${where(header)}: ${v.validator}'s vote signature does not verify`, {
        problem: 'bad-signature',
        validator: String(v.validator),
      });
    }
  }
}

/** Collects votes for one batch until the quorum is reached. */
export class CertificateBuilder {
  private readonly votes = new Map<NodeId, Vote>();

  constructor(
    readonly header: BatchHeader,
    private readonly validators: ValidatorSet,
  ) {}

  /**
   * Add a vote: true when it counted, false when this validator's vote was
   * already in. An unknown validator or a bad signature throws as in
   * verifyCertificate (the vote is not kept).
   */
  add(vote: Vote): boolean {
    const key = this.validators.validators.get(vote.validator);
    if (!key) {
      throw new QallowError('LEDGER_BAD_CERTIFICATE', `vote for ${where(this.header)}: ${vote.validator} is not a configured validator`, {
        problem: 'unknown-validator',
        validator: String(vote.validator),
      });
    }
    if (this.votes.has(vote.validator)) return false;
    if (!verifyVoteSignature(this.header, vote.signature, key)) {
      throw new QallowError('LEDGER_BAD_SIGNATURE', `vote for ${where(this.header)}: ${vote.validator}'s signature does not verify`, {
        problem: 'bad-signature',
        validator: String(vote.validator),
      });
    }
    this.votes.set(vote.validator, vote);
    return true;
  }

  get count(): number {
    return this.votes.size;
  }

  get complete(): boolean {
    return this.votes.size >= this.validators.quorum;
  }

  /** The certificate (votes in validator-id order), or LEDGER_NO_QUORUM while incomplete. */
  certificate(): Certificate {
    if (!this.complete) {
      throw new QallowError('LEDGER_NO_QUORUM', `${where(this.header)}: ${this.votes.size} of ${this.validators.size} validators voted, ${this.validators.quorum} needed`, {
        problem: 'too-few',
        votes: this.votes.size,
        quorum: this.validators.quorum,
      });
    }
    return { votes: [...this.votes.values()].sort((a, b) => (a.validator < b.validator ? -1 : 1)) };
  }
}

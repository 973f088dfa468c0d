/**
 * A validator's vote: its signature of a batch header (batch.ts) under the
 * purpose `qallow/vote/v1`, i.e. of
 *
 *   u32 14 ‖ "qallow/vote/v1" ‖ str origin ‖ u64 firstSeq ‖ u32 count ‖ 32 root
 *
 * For a batch of one this is origin ‖ seq ‖ 1 ‖ leaf(entryHash). Before
 * signing, an honest validator records (origin, seq) → entry hash for every
 * entry of the batch durably (LedgerStore.recordVotes) and refuses if it
 * voted otherwise before, so two conflicting certificates cannot exist.
 */
import type { NodeId } from '../actors/address.js';
import type { Ed25519PublicKey, Ed25519SecretKey } from '../identity/ed25519.js';
import { PURPOSE, sign, verify } from '../identity/signing.js';
import { batchBytes, type BatchHeader } from './batch.js';

export const VOTE_PURPOSE = PURPOSE.vote;

export interface Vote {
  readonly validator: NodeId;
  /** Ed25519, 64 bytes. */
  readonly signature: Uint8Array;
}

export function signVote(header: BatchHeader, validator: NodeId, secret: Ed25519SecretKey): Vote {
  return { validator, signature: sign(VOTE_PURPOSE, batchBytes(header), secret) };
}

/** Whether `signature` is the validator's vote for `header`, by the one Ed25519 rule. */
export function verifyVoteSignature(header: BatchHeader, signature: Uint8Array, validatorKey: Ed25519PublicKey): boolean {
  return verify(VOTE_PURPOSE, batchBytes(header), signature, validatorKey);
}

/**
 * Batches: what the origin and the validators actually sign. A batch is
 * `count` consecutive entries of one origin, seq firstSeq … firstSeq+count−1,
 * summarised by the Merkle root of their hashes (merkle.ts). A lone entry is
 * a batch of one (root = leaf(entryHash)). The header's bytes:
 *
 *   str  origin ‖ u64 firstSeq ‖ u32 count ‖ 32 root
 *
 * The origin signs them under `qallow/ledger-batch/v1`; each validator's
 * vote signs the same bytes under `qallow/vote/v1` (vote.ts), so a vote
 * names origin, seq range and contents at once. Each entry then carries its
 * inclusion proof (record.ts); the index of an entry in its batch is
 * seq − firstSeq, so a proof cannot be moved to another position.
 */
import type { NodeId } from '../actors/address.js';
import { QallowError } from '../errors.js';
import type { Ed25519PublicKey, Ed25519SecretKey } from '../identity/ed25519.js';
import { sign, verify } from '../identity/signing.js';
import { collect } from '../store/bytes.js';
import { encodeEntry, sha256, type LedgerEntry } from './entry.js';
import { BATCH_PURPOSE, merkleTree } from './merkle.js';

export { BATCH_PURPOSE };
export const MAX_BATCH = 65_536;

export interface BatchHeader {
  readonly origin: NodeId;
  readonly firstSeq: number;
  readonly count: number;
  /** Merkle root, hex. */
  readonly root: string;
}

/** The bytes signed for a batch (before the purpose prefix). */
export function batchBytes(h: BatchHeader): Uint8Array {
  return collect((w) => {
    w.str(h.origin);
    w.u64(h.firstSeq);
    w.u32(h.count);
    w.hash32(h.root);
  });
}

/** The origin's signature of a batch header. */
export function signBatch(header: BatchHeader, originSecret: Ed25519SecretKey): Uint8Array {
  return sign(BATCH_PURPOSE, batchBytes(header), originSecret);
}

/** Whether `signature` is the origin's signature of `header`, by the one Ed25519 rule. */
export function verifyBatchSignature(header: BatchHeader, signature: Uint8Array, originKey: Ed25519PublicKey): boolean {
  return verify(BATCH_PURPOSE, batchBytes(header), signature, originKey);
}

/** A proposed batch: header, the origin's signature, and per entry its bytes, hash and proof. */
export interface Batch {
  readonly header: BatchHeader;
  readonly originSignature: Uint8Array;
  readonly entries: readonly LedgerEntry[];
  readonly bytes: readonly Uint8Array[];
  readonly hashes: readonly string[];
  readonly proofs: readonly (readonly string[])[];
}

function bad(message: string, details: Record<string, string | number>): QallowError {
  return new QallowError('BAD_PARAMETER', message, details);
}

/**
 * Seal consecutive, chained entries of one origin into a signed batch. The
 * entries are validated (BAD_PARAMETER naming the field); they must share an
 * origin, have consecutive seqs, and link (entry i+1's prevHash = entry i's hash).
 */
export function buildBatch(entries: readonly LedgerEntry[], originSecret: Ed25519SecretKey): Batch {
  if (entries.length === 0 || entries.length > MAX_BATCH) throw bad(`a batch holds 1 to ${MAX_BATCH} entries (got ${entries.length})`, { count: entries.length });
  const first = entries[0]!;
  const bytes = entries.map(encodeEntry);
  const hashes = bytes.map(sha256);
  entries.forEach((e, i) => {
    if (e.origin !== first.origin) throw bad(`batch entry ${i} has origin ${e.origin}, not ${first.origin}`, { index: i });
    if (e.seq !== first.seq + i) throw bad(`batch entry ${i} has seq ${e.seq}, expected ${first.seq + i}`, { index: i });
    if (i > 0 && e.prevHash !== hashes[i - 1]) throw bad(`batch entry ${i} (seq ${e.seq}) does not link to seq ${e.seq - 1}`, { index: i });
  });
  const tree = merkleTree(hashes);
  const header: BatchHeader = { origin: first.origin, firstSeq: first.seq, count: entries.length, root: tree.root };
  return { header, originSignature: signBatch(header, originSecret), entries, bytes, hashes, proofs: tree.proofs };
}

/**
 * A committed ledger record: an entry with everything needed to check it on
 * its own — its canonical bytes, the header of the batch it was signed in,
 * its inclusion proof, the origin's signature and the quorum certificate.
 * This is what the store keeps per (origin, seq) and what an export line
 * carries.
 *
 * Storage bytes (fixed layout, validated on decode):
 *
 *   u32 22 ‖ "qallow/ledger-record/v1"
 *   u32 n ‖ entry bytes (entry.ts, n bytes)
 *   u64 firstSeq ‖ u32 count ‖ 32 root                  the batch (its origin is the entry's)
 *   u32 k ‖ 32 × k                                       inclusion proof, leaf level first
 *   64                                                   origin's signature of the batch
 *   u32 v ‖ (str validator ‖ 64 signature) × v           certificate
 *
 * `checkRecord` is the whole per-record verification (chain order is
 * chain.ts's business): origin known, entry inside its batch, proof leads to
 * the signed root, origin signature, certificate. Batches repeat across the
 * records of one batch, so a `BatchCache` remembers headers+signatures that
 * already verified (keyed by all of their bytes, so a changed signature or
 * vote is checked afresh).
 */
import { createHash } from 'node:crypto';
import { isNodeId, type NodeId } from '../actors/address.js';
import { QallowError } from '../errors.js';
import { signedBytes } from '../identity/signing.js';
import { collect } from '../store/bytes.js';
import { MAX_BATCH, batchBytes, verifyBatchSignature, type Batch, type BatchHeader } from './batch.js';
import { verifyCertificate, type Certificate } from './certificate.js';
import { decodeEntry, sha256, type LedgerEntry } from './entry.js';
import { rootFromProof } from './merkle.js';
import { ByteReader } from './reader.js';
import type { ValidatorSet } from './validators.js';

export const RECORD_PURPOSE = 'qallow/ledger-record/v1' as const;
const PREFIX = signedBytes(RECORD_PURPOSE, new Uint8Array(0));
const MAX_ENTRY_BYTES = 1 << 20;
const MAX_PROOF = 32;
const MAX_VOTES = 1024;

export interface LedgerRecord {
  readonly entry: LedgerEntry;
  /** Canonical entry bytes (entry.ts). */
  readonly bytes: Uint8Array;
  /** SHA-256 of `bytes`, hex. */
  readonly hash: string;
  readonly batch: BatchHeader;
  readonly proof: readonly string[];
  readonly originSignature: Uint8Array;
  readonly certificate: Certificate;
}

/** The records of a batch once its certificate is in. */
export function batchRecords(batch: Batch, certificate: Certificate): LedgerRecord[] {
  return batch.entries.map((entry, i) => ({
    entry,
    bytes: batch.bytes[i]!,
    hash: batch.hashes[i]!,
    batch: batch.header,
    proof: batch.proofs[i]!,
    originSignature: batch.originSignature,
    certificate,
  }));
}

/** "origin#seq", for messages. */
export function recordName(r: { entry: { origin: string; seq: number } }): string {
  return `${r.entry.origin}#${r.entry.seq}`;
}

// ---------------------------------------------------------------------------
// Storage bytes

export function encodeRecord(r: LedgerRecord): Uint8Array {
  const sigs = [r.originSignature, ...r.certificate.votes.map((v) => v.signature)];
  if (sigs.some((s) => s.byteLength !== 64)) throw new QallowError('BAD_PARAMETER', `${recordName(r)}: signatures must be 64 bytes`, { origin: r.entry.origin, seq: r.entry.seq });
  const parts: Uint8Array[] = [];
  const u32 = (v: number): void => void parts.push(collect((w) => w.u32(v)));
  u32(r.bytes.byteLength);
  parts.push(r.bytes);
  parts.push(collect((w) => {
    w.u64(r.batch.firstSeq);
    w.u32(r.batch.count);
    w.hash32(r.batch.root);
    w.u32(r.proof.length);
    for (const p of r.proof) w.hash32(p);
  }));
  parts.push(r.originSignature);
  u32(r.certificate.votes.length);
  for (const v of r.certificate.votes) {
    parts.push(collect((w) => w.str(v.validator)));
    parts.push(v.signature);
  }
  return signedBytes(RECORD_PURPOSE, Buffer.concat(parts));
}

/**
 * Decode storage bytes (LEDGER_BAD_ENTRY naming the field). Checks shape
 * only (the entry decodes, lengths, the entry lies inside its batch range);
 * signatures are checkRecord's.
 */
export function decodeRecord(bytes: Uint8Array, what = 'ledger record'): LedgerRecord {
  const r = new ByteReader(bytes, what);
  if (Buffer.compare(r.raw('purpose', PREFIX.byteLength), PREFIX) !== 0) throw r.fail('purpose', `must be "${RECORD_PURPOSE}"`);
  const n = r.u32('entry length');
  if (n > MAX_ENTRY_BYTES) throw r.fail('entry', `must be at most ${MAX_ENTRY_BYTES} bytes (got ${n})`);
  const entryBytes = r.raw('entry', n);
  let entry: LedgerEntry;
  try {
    entry = decodeEntry(entryBytes);
  } catch (e) {
    if (e instanceof QallowError) throw new QallowError('LEDGER_BAD_ENTRY', `${what}: ${e.message}`, e.details);
    throw e;
  }
  const batch: BatchHeader = { origin: entry.origin, firstSeq: r.u64('batch.firstSeq'), count: r.u32('batch.count'), root: r.hash32('batch.root') };
  const proof = Array.from({ length: r.count('proof', MAX_PROOF) }, (_, i) => r.hash32(`proof[${i}]`));
  const originSignature = r.raw('originSignature', 64);
  const votes = Array.from({ length: r.count('certificate', MAX_VOTES) }, (_, i) => {
    const validator = r.str(`certificate[${i}].validator`, 63);
    if (!isNodeId(validator)) throw r.fail(`certificate[${i}].validator`, `must be a node id (got ${JSON.stringify(validator)})`);
    return { validator: validator as NodeId, signature: r.raw(`certificate[${i}].signature`, 64) };
  });
  r.end();
  const record: LedgerRecord = { entry, bytes: entryBytes, hash: sha256(entryBytes), batch, proof, originSignature, certificate: { votes } };
  const shape = batchShapeProblem(record);
  if (shape) throw r.fail(shape.field, shape.problem);
  return record;
}

function batchShapeProblem(r: LedgerRecord): { field: string; problem: string } | null {
  if (r.batch.count < 1 || r.batch.count > MAX_BATCH) return { field: 'batch.count', problem: `must be 1 to ${MAX_BATCH} (got ${r.batch.count})` };
  if (r.batch.firstSeq < 1) return { field: 'batch.firstSeq', problem: `must be at least 1 (got ${r.batch.firstSeq})` };
  if (r.entry.seq < r.batch.firstSeq || r.entry.seq >= r.batch.firstSeq + r.batch.count) {
    return { field: 'batch', problem: `seq ${r.entry.seq} is outside the batch (seq ${r.batch.firstSeq} to ${r.batch.firstSeq + r.batch.count - 1})` };
  }
  return null;
}

// ---------------------------------------------------------------------------
// Verification

/** Remembers batch headers whose origin signature and certificate verified. */
export class BatchCache {
  private readonly ok = new Set<string>();
  private readonly limit: number;

  constructor(limit = 4096) {
    this.limit = limit;
  }

  static key(r: LedgerRecord): string {
    const h = createHash('sha256');
    h.update(batchBytes(r.batch));
    h.update(r.originSignature);
    for (const v of r.certificate.votes) {
      h.update(Buffer.from(`${v.validator}\0`));
      h.update(v.signature);
    }
    return h.digest('hex');
  }

  has(key: string): boolean {
    return this.ok.has(key);
  }

  add(key: string): void {
    if (this.ok.size >= this.limit) this.ok.clear();
    this.ok.add(key);
  }
}

function fail(code: 'LEDGER_BAD_PROOF' | 'LEDGER_BAD_SIGNATURE', r: LedgerRecord, problem: string, message: string): QallowError {
  return new QallowError(code, `${recordName(r)}: ${message}`, { origin: r.entry.origin, seq: r.entry.seq, problem });
}

/**
 * Verify one record on its own: the origin is a known host, the entry lies in
 * its batch and its proof leads to the batch root, the origin signed the
 * batch, and the certificate holds a quorum of valid votes from distinct
 * validators. Throws the first problem (LEDGER_BAD_PROOF,
 * LEDGER_BAD_SIGNATURE, LEDGER_BAD_CERTIFICATE, LEDGER_NO_QUORUM), with
 * details.origin and details.seq.
 */
export function checkRecord(r: LedgerRecord, validators: ValidatorSet, cache?: BatchCache): void {
  const originKey = validators.origins.get(r.entry.origin);
  if (!originKey) throw fail('LEDGER_BAD_SIGNATURE', r, 'unknown-origin', `origin ${r.entry.origin} is not in the validator set's hosts`);
  if (r.batch.origin !== r.entry.origin) throw fail('LEDGER_BAD_PROOF', r, 'batch-origin', `batch origin ${r.batch.origin} is not the entry's`);
  const shape = batchShapeProblem(r);
  if (shape) throw fail('LEDGER_BAD_PROOF', r, 'outside-batch', `${shape.field} ${shape.problem}`);
  const root = rootFromProof(r.hash, r.entry.seq - r.batch.firstSeq, r.batch.count, r.proof);
  if (root !== r.batch.root) throw fail('LEDGER_BAD_PROOF', r, 'proof', `inclusion proof does not lead to the batch root ${r.batch.root.slice(0, 16)}…`);
  const key = cache ? BatchCache.key(r) : '';
  if (cache?.has(key)) return;
  if (!verifyBatchSignature(r.batch, r.originSignature, originKey)) throw fail('LEDGER_BAD_SIGNATURE', r, 'origin-signature', `origin ${r.entry.origin}'s batch signature does not verify`);
  try {
    verifyCertificate(r.batch, r.certificate, validators);
  } catch (e) {
    if (e instanceof QallowError) throw new QallowError(e.code, `${recordName(r)}: ${e.message}`, { ...e.details, origin: r.entry.origin, seq: r.entry.seq });
    throw e;
  }
  cache?.add(key);
}

/**
 * The ledger store's whole-batch path (lmdb-store.ts checkRecords): a run of
 * records that is one whole batch is checked with one Merkle tree and one
 * signature check, and must refuse exactly what checking record by record
 * refuses; records may be appended with the storage bytes they came in
 * (`encoded`), which are stored as they are and must be those records'.
 */
import test, { type ExecutionContext } from 'ava';
import { isQallowError } from '../runtime/errors.js';
import type { LmdbLedgerStore } from '../runtime/ledger/lmdb-store.js';
import { decodeRecord, encodeRecord, type LedgerRecord } from '../runtime/ledger/record.js';
import { certify, chainOf, cluster, openLedger, tempDir } from './helpers/ledger.js';

const C = cluster(4);
const A = C.ids[0]!;

/** A host store and its ledger store (no vote log) in a fresh directory, stopped in teardown. */
async function freshLedger(t: ExecutionContext): Promise<LmdbLedgerStore> {
  return (await openLedger(t, await tempDir(t), { validators: C.set, voteLog: false })).ledger;
}

function code(e: unknown): string {
  return isQallowError(e) ? `${e.code}:${String(e.details['problem'] ?? '')}:${String(e.details['seq'] ?? '')}` : String(e);
}

/** What appending `records` does: 'ok', or the refusal's code, problem and seq. */
async function outcome(ledger: LmdbLedgerStore, records: readonly LedgerRecord[], encoded?: readonly Uint8Array[]): Promise<string> {
  try {
    await ledger.appendMany(records, encoded);
    return 'ok';
  } catch (e) {
    return code(e);
  }
}

/** The same records, each a fresh object decoded from its bytes (as a replica receives them). */
function received(records: readonly LedgerRecord[]): { records: LedgerRecord[]; bytes: Uint8Array[] } {
  const bytes = records.map(encodeRecord);
  return { records: bytes.map((b) => decodeRecord(b)), bytes };
}

test('a whole batch appends as one (shared objects or decoded copies), then reads back byte for byte', async (t) => {
  const ledger = await freshLedger(t);
  const first = certify(C, chainOf(A, 16));
  t.deepEqual(await ledger.appendMany(first), Array(16).fill('appended'));
  const next = received(certify(C, chainOf(A, 9, 17, first.at(-1)!.hash)));
  t.deepEqual(await ledger.appendMany(next.records, next.bytes), Array(9).fill('appended'));
  t.is(await ledger.height(A), 25);
  const raw = [...ledger.raw()].filter((r) => r.seq > 16);
  t.deepEqual(raw.map((r) => Buffer.from(r.bytes).toString('hex')), next.bytes.map((b) => Buffer.from(b).toString('hex')));
  // Appending the same batch again is a no-op.
  t.deepEqual(await ledger.appendMany(next.records, next.bytes), Array(9).fill('duplicate'));
});

test('a tampered record inside a whole batch is refused as record-by-record checking refuses it, and nothing is written', async (t) => {
  const ledger = await freshLedger(t);
  const good = certify(C, chainOf(A, 8));
  // A proof that does not lead to the root.
  const badProof = good.map((r, i) => (i === 5 ? { ...r, proof: [...r.proof.slice(0, -1), 'ff'.repeat(32)] } : r));
  t.is(await outcome(ledger, badProof), 'LEDGER_BAD_PROOF:proof:6');
  // Another record's (valid) proof in this position.
  const swapped = good.map((r, i) => (i === 2 ? { ...r, proof: good[3]!.proof } : r));
  t.is(await outcome(ledger, swapped), 'LEDGER_BAD_PROOF:proof:3');
  // A different entry hash at one position (the whole batch's tree no longer has the signed root).
  const otherHash = good.map((r, i) => (i === 7 ? { ...r, hash: 'ab'.repeat(32) } : r));
  t.is(await outcome(ledger, otherHash), 'LEDGER_BAD_PROOF:proof:8');
  // A forged vote: every record carries the same bad certificate, refused on the first record.
  const votes = good[0]!.certificate.votes.map((v, i) => (i === 1 ? { ...v, signature: new Uint8Array(64).fill(7) } : v));
  const forged = good.map((r) => ({ ...r, certificate: { votes } }));
  t.is(await outcome(ledger, forged), 'LEDGER_BAD_SIGNATURE:bad-signature:1');
  // The origin's signature replaced on one record only: that record is no longer in the same batch run.
  const oneSig = good.map((r, i) => (i === 4 ? { ...r, originSignature: new Uint8Array(64).fill(9) } : r));
  t.is(await outcome(ledger, oneSig), 'LEDGER_BAD_SIGNATURE:origin-signature:5');
  t.is(await ledger.height(A), 0);
  t.is(await outcome(ledger, good), 'ok');
  t.is(await ledger.height(A), 8);
});

test('part of a batch (a catch-up page boundary) is checked record by record and appends', async (t) => {
  const ledger = await freshLedger(t);
  const all = certify(C, chainOf(A, 12));
  t.is(await outcome(ledger, all.slice(0, 5)), 'ok');
  t.is(await outcome(ledger, all.slice(5)), 'ok');
  t.is(await ledger.height(A), 12);
});

test('encodings that are not the records\' are refused before anything is written', async (t) => {
  const ledger = await freshLedger(t);
  const one = received(certify(C, chainOf(A, 4)));
  const other = received(certify(C, chainOf(C.ids[1]!, 4)));
  t.is(await outcome(ledger, one.records, one.bytes.slice(1)), 'BAD_PARAMETER::');
  t.is(await outcome(ledger, one.records, other.bytes), 'BAD_PARAMETER::');
  t.is(await ledger.height(A), 0);
  t.is(await outcome(ledger, one.records, one.bytes), 'ok');
});

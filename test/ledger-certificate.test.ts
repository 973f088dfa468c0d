/**
 * Quorum certificates and whole-record checks: quorum sizes, distinct
 * configured validators, bad signatures, too few votes, purpose separation,
 * the collecting builder, and checkRecord's proof/origin checks.
 */
import test from 'ava';
import { nodeId } from '../runtime/actors/address.js';
import { isQallowError, type QallowError } from '../runtime/errors.js';
import { Ed25519SecretKey } from '../runtime/identity/ed25519.js';
import { buildBatch, signBatch } from '../runtime/ledger/batch.js';
import { CertificateBuilder, verifyCertificate, type Certificate } from '../runtime/ledger/certificate.js';
import { checkRecord, decodeRecord, encodeRecord, type LedgerRecord } from '../runtime/ledger/record.js';
import { ValidatorSet, quorum } from '../runtime/ledger/validators.js';
import { signVote } from '../runtime/ledger/vote.js';
import { certify, chainOf, cluster } from './helpers/ledger.js';

const C = cluster(4);
const ORIGIN = C.ids[0]!;

function problem(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isQallowError(e)) return `${e.code}:${String(e.details['problem'])}`;
    throw e;
  }
  return 'accepted';
}

test('quorum(n) = floor(2n/3) + 1: strictly more than two thirds', (t) => {
  const table: [number, number][] = [[1, 1], [2, 2], [3, 3], [4, 3], [5, 4], [6, 5], [7, 5], [10, 7], [100, 67]];
  for (const [n, q] of table) {
    t.is(quorum(n), q, `n=${n}`);
    t.true(3 * q > 2 * n && 3 * (q - 1) <= 2 * n, `n=${n}: q is the least count above 2n/3`);
  }
  t.is(C.set.quorum, 3);
});

function batchOf(seqs = 1): ReturnType<typeof buildBatch> {
  return buildBatch(chainOf(ORIGIN, seqs), C.secrets.get(ORIGIN)!);
}

function votes(batch: ReturnType<typeof buildBatch>, ids = C.ids): Certificate {
  return { votes: ids.map((id) => signVote(batch.header, id, C.secrets.get(id)!)) };
}

test('a certificate with a quorum of distinct validators verifies; with all of them too', (t) => {
  const b = batchOf();
  t.notThrows(() => verifyCertificate(b.header, votes(b, C.ids.slice(0, 3)), C.set));
  t.notThrows(() => verifyCertificate(b.header, votes(b), C.set));
});

test('too few votes: LEDGER_NO_QUORUM', (t) => {
  const b = batchOf();
  t.is(problem(() => verifyCertificate(b.header, votes(b, C.ids.slice(0, 2)), C.set)), 'LEDGER_NO_QUORUM:too-few');
  t.is(problem(() => verifyCertificate(b.header, { votes: [] }, C.set)), 'LEDGER_NO_QUORUM:too-few');
});

test('a duplicated validator never counts twice, even when the count would reach the quorum', (t) => {
  const b = batchOf();
  const c = votes(b, C.ids.slice(0, 2));
  t.is(problem(() => verifyCertificate(b.header, { votes: [...c.votes, c.votes[0]!] }, C.set)), 'LEDGER_BAD_CERTIFICATE:duplicate-validator');
});

test('a vote from a host outside the configured set is refused by name', (t) => {
  const b = batchOf();
  const stranger = nodeId('node-x');
  const c = votes(b, C.ids.slice(0, 3));
  const e = t.throws(() => verifyCertificate(b.header, { votes: [...c.votes, signVote(b.header, stranger, Ed25519SecretKey.generate())] }, C.set)) as QallowError;
  t.is(e.code, 'LEDGER_BAD_CERTIFICATE');
  t.is(e.details['validator'], 'node-x');
  // A configured id signed with someone else's key is a bad signature, not a vote.
  const forged = { votes: [...C.ids.slice(0, 2).map((id) => signVote(b.header, id, C.secrets.get(id)!)), signVote(b.header, C.ids[3]!, Ed25519SecretKey.generate())] };
  t.is(problem(() => verifyCertificate(b.header, forged, C.set)), 'LEDGER_BAD_SIGNATURE:bad-signature');
});

test('a vote for another batch, or a signature for another purpose, does not count', (t) => {
  const b = batchOf(1);
  const other = buildBatch(chainOf(ORIGIN, 2), C.secrets.get(ORIGIN)!);
  const mixed = { votes: [...votes(b, C.ids.slice(0, 2)).votes, signVote(other.header, C.ids[2]!, C.secrets.get(C.ids[2]!)!)] };
  t.is(problem(() => verifyCertificate(b.header, mixed, C.set)), 'LEDGER_BAD_SIGNATURE:bad-signature');
  // The origin's own signature of the batch (purpose qallow/ledger-batch/v1) is not a vote (qallow/vote/v1).
  const asVote = { votes: [...votes(b, C.ids.slice(1, 3)).votes, { validator: ORIGIN, signature: signBatch(b.header, C.secrets.get(ORIGIN)!) }] };
  t.is(problem(() => verifyCertificate(b.header, asVote, C.set)), 'LEDGER_BAD_SIGNATURE:bad-signature');
});

test('the certificate builder checks each vote, ignores repeats, and completes at the quorum', (t) => {
  const b = batchOf();
  const builder = new CertificateBuilder(b.header, C.set);
  const v = votes(b).votes;
  t.true(builder.add(v[0]!));
  t.false(builder.add(v[0]!), 'a repeat does not count');
  t.false(builder.complete);
  t.is(problem(() => builder.certificate()), 'LEDGER_NO_QUORUM:too-few');
  t.is(problem(() => builder.add({ validator: C.ids[1]!, signature: v[2]!.signature })), 'LEDGER_BAD_SIGNATURE:bad-signature');
  t.true(builder.add(v[1]!));
  t.true(builder.add(v[3]!));
  t.true(builder.complete);
  t.deepEqual(builder.certificate().votes.map((x) => x.validator), [C.ids[0], C.ids[1], C.ids[3]]);
});

test('validator sets refuse a repeated id or a key under two ids', (t) => {
  const k = C.secrets.get(C.ids[0]!)!.publicKey;
  t.throws(() => ValidatorSet.of([{ nodeId: nodeId('a'), publicKey: k }, { nodeId: nodeId('b'), publicKey: k }]), { code: 'KEY_INVALID' } as never);
  t.throws(() => ValidatorSet.of([{ nodeId: nodeId('a'), publicKey: k }, { nodeId: nodeId('a'), publicKey: C.secrets.get(C.ids[1]!)!.publicKey }]), { code: 'KEY_INVALID' } as never);
  t.throws(() => ValidatorSet.of([]), { code: 'KEY_INVALID' } as never);
});

test('checkRecord: proof, position, origin signature and certificate, each named', (t) => {
  const records = certify(C, chainOf(ORIGIN, 5));
  for (const r of records) t.notThrows(() => checkRecord(r, C.set));
  const r = records[2]!;
  const with_ = (patch: Partial<LedgerRecord>): LedgerRecord => ({ ...r, ...patch });
  t.is(problem(() => checkRecord(with_({ proof: records[3]!.proof }), C.set)), 'LEDGER_BAD_PROOF:proof');
  t.is(problem(() => checkRecord(with_({ batch: { ...r.batch, firstSeq: 2 } }), C.set)), 'LEDGER_BAD_PROOF:proof');
  t.is(problem(() => checkRecord(with_({ batch: { ...r.batch, count: 2 } }), C.set)), 'LEDGER_BAD_PROOF:outside-batch');
  const sig = new Uint8Array(r.originSignature);
  sig[0]! ^= 1;
  t.is(problem(() => checkRecord(with_({ originSignature: sig }), C.set)), 'LEDGER_BAD_SIGNATURE:origin-signature');
  t.is(problem(() => checkRecord(with_({ certificate: { votes: r.certificate.votes.slice(0, 2) } }), C.set)), 'LEDGER_NO_QUORUM:too-few');
  const rekeyed = cluster(4, 9);
  t.is(problem(() => checkRecord(r, rekeyed.set)), 'LEDGER_BAD_SIGNATURE:origin-signature', 'same ids, other keys');
  const strangers = ValidatorSet.of(rekeyed.ids.map((id, i) => ({ nodeId: nodeId(`other-${i}`), publicKey: rekeyed.secrets.get(id)!.publicKey })));
  t.is(problem(() => checkRecord(r, strangers)), 'LEDGER_BAD_SIGNATURE:unknown-origin');
  const e = t.throws(() => checkRecord(with_({ certificate: { votes: r.certificate.votes.slice(0, 2) } }), C.set)) as QallowError;
  t.is(e.details['origin'], ORIGIN);
  t.is(e.details['seq'], 3);
});

test('record storage bytes round trip and decoding validates', (t) => {
  for (const r of certify(C, chainOf(ORIGIN, 3))) {
    const back = decodeRecord(encodeRecord(r));
    t.deepEqual(back, r);
  }
  const bytes = encodeRecord(certify(C, chainOf(ORIGIN, 1))[0]!);
  t.throws(() => decodeRecord(bytes.subarray(0, bytes.length - 1)), { code: 'LEDGER_BAD_ENTRY' } as never);
  t.throws(() => decodeRecord(new Uint8Array([...bytes, 0])), { code: 'LEDGER_BAD_ENTRY' } as never);
});

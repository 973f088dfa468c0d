/**
 * Ledger signatures go through the one Ed25519 rule (runtime/identity):
 * edge-case vectors built over a real vote message, each checked against the
 * ledger's verifiers and against @noble/ed25519, with the outcome the
 * identity README documents for each (ours strict, noble's default ZIP-215).
 * Honest signatures agree both ways: node:crypto-signed votes verify in noble
 * and noble-signed votes make a valid certificate.
 */
import { createHash } from 'node:crypto';
import test from 'ava';
import * as ed from '@noble/ed25519';
import { nodeId } from '../runtime/actors/address.js';
import { Ed25519PublicKey, Ed25519SecretKey } from '../runtime/identity/ed25519.js';
import { PURPOSE, signedBytes } from '../runtime/identity/signing.js';
import { batchBytes, buildBatch, verifyBatchSignature, BATCH_PURPOSE } from '../runtime/ledger/batch.js';
import { verifyCertificate } from '../runtime/ledger/certificate.js';
import { ValidatorSet } from '../runtime/ledger/validators.js';
import { signVote, verifyVoteSignature } from '../runtime/ledger/vote.js';
import { chainOf, cluster } from './helpers/ledger.js';

ed.hashes.sha512 = (m) => new Uint8Array(createHash('sha512').update(m).digest());

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;
const { Point, etc } = ed;

function le32(n: bigint): Uint8Array {
  const b = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    b[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return b;
}
function fromLE(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}
function challenge(R: Uint8Array, A: Uint8Array, M: Uint8Array): bigint {
  return fromLE(new Uint8Array(createHash('sha512').update(etc.concatBytes(R, A, M)).digest())) % L;
}
function noble(sig: Uint8Array, msg: Uint8Array, key: Uint8Array, zip215 = true): boolean {
  try {
    return ed.verify(sig, msg, key, { zip215 });
  } catch {
    return false;
  }
}

const C = cluster(4, 3);
const V = C.ids[1]!;
const SEED = new Uint8Array(32).fill(3 * 31 + 2); // node-1's seed in cluster(4, 3)
const EXT = ed.utils.getExtendedPublicKey(SEED);
const a = EXT.scalar;
const A = EXT.pointBytes;
const batch = buildBatch(chainOf(C.ids[0]!, 3), C.secrets.get(C.ids[0]!)!);
const M = signedBytes(PURPOSE.vote, batchBytes(batch.header));
const T8 = Point.fromBytes(new Uint8Array(Buffer.from('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 'hex')));
const IDENTITY = le32(1n);

test('fixture: node-1 is the key the vectors are built on', (t) => {
  t.deepEqual(C.secrets.get(V)!.publicKey.bytes, A);
});

interface Vector {
  readonly name: string;
  readonly signature: Uint8Array;
  readonly ours: boolean;
  readonly zip215: boolean;
  readonly nobleStrict: boolean;
}

function vectors(): Vector[] {
  const good = signVote(batch.header, V, C.secrets.get(V)!).signature;
  const S = fromLE(good.subarray(32));
  const R0 = good.subarray(0, 32);
  const out: Vector[] = [
    { name: 'honest vote (node:crypto)', signature: good, ours: true, zip215: true, nobleStrict: true },
    { name: 'honest vote (noble)', signature: ed.sign(M, SEED), ours: true, zip215: true, nobleStrict: true },
    { name: 'non-canonical S (S + L)', signature: etc.concatBytes(R0, le32(S + L)), ours: false, zip215: false, nobleStrict: false },
    { name: 'non-canonical S (S + 8L)', signature: etc.concatBytes(R0, le32(S + 8n * L)), ours: false, zip215: false, nobleStrict: false },
  ];
  {
    const R = IDENTITY; // small-order R (nonce 0), equation holds
    out.push({ name: 'small-order R (identity), equation holds', signature: etc.concatBytes(R, le32((challenge(R, A, M) * a) % L)), ours: false, zip215: true, nobleStrict: true });
  }
  {
    const R = le32(P + 1n); // the identity written non-canonically
    out.push({ name: 'non-canonical R (identity as y = p + 1)', signature: etc.concatBytes(R, le32((challenge(R, A, M) * a) % L)), ours: false, zip215: true, nobleStrict: false });
  }
  {
    const r = 987654321n; // R = rB + T8: holds only with the cofactor
    const R = Point.BASE.multiply(r).add(T8).toBytes();
    out.push({ name: 'R with a torsion component (cofactored only)', signature: etc.concatBytes(R, le32((r + challenge(R, A, M) * a) % L)), ours: false, zip215: true, nobleStrict: true });
  }
  return out;
}

for (const v of vectors()) {
  test(`vote vector: ${v.name} → ours ${v.ours ? 'accepts' : 'rejects'}, noble ZIP-215 ${v.zip215 ? 'accepts' : 'rejects'}, noble strict ${v.nobleStrict ? 'accepts' : 'rejects'}`, (t) => {
    const key = C.secrets.get(V)!.publicKey;
    t.is(verifyVoteSignature(batch.header, v.signature, key), v.ours, 'ledger vote check');
    const others = C.ids.filter((id) => id !== V).slice(0, 2).map((id) => signVote(batch.header, id, C.secrets.get(id)!));
    const cert = { votes: [...others, { validator: V, signature: v.signature }] };
    if (v.ours) t.notThrows(() => verifyCertificate(batch.header, cert, C.set));
    else t.throws(() => verifyCertificate(batch.header, cert, C.set), { code: 'LEDGER_BAD_SIGNATURE' } as never);
    t.is(noble(v.signature, M, A, true), v.zip215, 'noble default (ZIP-215)');
    t.is(noble(v.signature, M, A, false), v.nobleStrict, 'noble { zip215: false }');
  });
}

test('small-order and non-canonical validator keys never enter a validator set', (t) => {
  for (const bad of [IDENTITY, T8.toBytes(), le32(P + 1n), le32(P + 3n)]) {
    t.throws(() => ValidatorSet.of([{ nodeId: nodeId('v'), publicKey: Ed25519PublicKey.fromBytes(bad) }]), { code: 'KEY_INVALID' } as never);
  }
});

test('the identity-key forgery does not sign batches: S = 0, R = A = identity', (t) => {
  // Ed25519PublicKey refuses the key, so the forgery cannot even be expressed against a set;
  // and a real key with R = identity, S = 0 fails the equation.
  const sig = etc.concatBytes(IDENTITY, le32(0n));
  t.false(verifyBatchSignature(batch.header, sig, C.secrets.get(C.ids[0]!)!.publicKey));
  t.true(noble(sig, signedBytes(BATCH_PURPOSE, batchBytes(batch.header)), IDENTITY, true), 'noble ZIP-215 accepts it under the identity key');
});

test('node:crypto and noble produce identical batch and vote signatures', (t) => {
  const secret = Ed25519SecretKey.fromBytes(SEED);
  const msg = signedBytes(BATCH_PURPOSE, batchBytes(batch.header));
  t.deepEqual(ed.sign(msg, SEED), secret.sign(msg));
  t.deepEqual(ed.sign(M, SEED), signVote(batch.header, V, secret).signature);
});

/**
 * The one Ed25519 verification rule (runtime/identity/ed25519.ts), vector by
 * vector: RFC 8032 §7.1 TESTs 1-3, then edge cases built with @noble/ed25519's
 * point arithmetic. Each edge vector records what our rule does and what
 * noble's default (ZIP-215) verifier does, and asserts both, so the table
 * in README.md is checked rather than claimed. Then the purpose prefix.
 */
import { createHash, createPublicKey, verify as opensslVerify } from 'node:crypto';
import test from 'ava';
import * as ed from '@noble/ed25519';
import {
  Ed25519PublicKey,
  Ed25519SecretKey,
  ed25519Verify,
  isCanonicalScalar,
  isCanonicalY,
  isSmallOrderEncoding,
} from '../runtime/identity/ed25519.js';
import { PURPOSE, sign, signedBytes, verify, type SigningPurpose } from '../runtime/identity/signing.js';
import { isQallowError } from '../runtime/errors.js';

// noble's synchronous API needs a SHA-512; node:crypto's will do.
ed.hashes.sha512 = (m) => new Uint8Array(createHash('sha512').update(m).digest());

const { Point, etc } = ed;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
function bytes(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h, 'hex'));
}
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
/** k = SHA-512(R ‖ A ‖ M) mod L */
function challenge(R: Uint8Array, A: Uint8Array, M: Uint8Array): bigint {
  return fromLE(new Uint8Array(createHash('sha512').update(etc.concatBytes(R, A, M)).digest())) % L;
}
function sig(R: Uint8Array, S: bigint): Uint8Array {
  return etc.concatBytes(R, le32(S));
}
function zip215(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return ed.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}
/** OpenSSL alone (node:crypto without our checks): logged, to show why the checks exist. */
function opensslOnly(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
    return opensslVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// RFC 8032 §7.1, TEST 1-3 (Ed25519): SECRET KEY, PUBLIC KEY, MESSAGE, SIGNATURE.

const RFC8032 = [
  {
    name: 'TEST 1',
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    public: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
] as const;

for (const v of RFC8032) {
  test(`RFC 8032 ${v.name}: public key, deterministic signature, and it verifies`, (t) => {
    const secret = Ed25519SecretKey.fromHex(v.secret);
    t.is(secret.publicKey.hex, v.public);
    const message = bytes(v.message);
    t.is(hex(secret.sign(message)), v.signature, 'node:crypto reproduces the RFC signature');
    t.is(hex(ed.sign(message, bytes(v.secret))), v.signature, '@noble/ed25519 reproduces it too');
    t.true(ed25519Verify(Ed25519PublicKey.fromHex(v.public), message, bytes(v.signature)));
    t.true(ed25519Verify(bytes(v.public), message, bytes(v.signature)), 'raw public key bytes take the same rule');
    // One flipped bit anywhere breaks it.
    const broken = bytes(v.signature);
    broken[10]! ^= 1;
    t.false(ed25519Verify(bytes(v.public), message, broken));
  });
}

test('node:crypto and noble sign identically and each verifies the other', (t) => {
  for (let i = 0; i < 16; i++) {
    const secret = Ed25519SecretKey.generate();
    const seed = bytes(secret.toHex());
    const message = new Uint8Array(createHash('sha256').update(String(i)).digest()).subarray(0, i * 2);
    const ours = secret.sign(message);
    t.is(hex(ours), hex(ed.sign(message, seed)));
    t.is(hex(ed.getPublicKey(seed)), secret.publicKey.hex);
    t.true(ed.verify(ours, message, secret.publicKey.bytes));
    t.true(secret.publicKey.verify(message, ed.sign(message, seed)));
  }
});

// ---------------------------------------------------------------------------
// Edge cases. A fixed real key (a, A) and message M.

const SEED = bytes('0707070707070707070707070707070707070707070707070707070707070707');
const EXT = ed.utils.getExtendedPublicKey(SEED);
const a = EXT.scalar;
const A = EXT.pointBytes;
const M = new TextEncoder().encode('qallow edge case');
/** An order-8 point. */
const T8 = Point.fromBytes(bytes('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'));
const IDENTITY = bytes('0100000000000000000000000000000000000000000000000000000000000000');
/** The identity encoded with y = p + 1: non-canonical. */
const IDENTITY_NONCANONICAL = le32(P + 1n);

interface EdgeVector {
  readonly name: string;
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  /** Our rule. */
  readonly ours: boolean;
  /** @noble/ed25519 `verify` with its default options (ZIP-215). */
  readonly zip215: boolean;
}

function edgeVectors(): EdgeVector[] {
  const good = ed.sign(M, SEED);
  const S = fromLE(good.subarray(32));
  const vectors: EdgeVector[] = [
    { name: 'valid signature', publicKey: A, message: M, signature: good, ours: true, zip215: true },
    // S ≥ L: the same point equation holds for S + L, but S is not reduced. Both refuse.
    { name: 'non-canonical S (S + L)', publicKey: A, message: M, signature: sig(good.subarray(0, 32), S + L), ours: false, zip215: false },
    { name: 'S with the top bits set (S + 8L)', publicKey: A, message: M, signature: sig(good.subarray(0, 32), S + 8n * L), ours: false, zip215: false },
    // Identity public key, R = identity, S = 0: "signs" every message. OpenSSL alone accepts this.
    { name: 'small-order public key (identity), S = 0', publicKey: IDENTITY, message: M, signature: sig(IDENTITY, 0n), ours: false, zip215: true },
    // Order-8 public key and R: ZIP-215's cofactored equation holds for any message.
    { name: 'small-order public key (order 8), small-order R, S = 0', publicKey: T8.toBytes(), message: M, signature: sig(T8.toBytes(), 0n), ours: false, zip215: true },
    // The identity public key written with y = p + 1.
    { name: 'non-canonical A encoding (identity as y = p + 1)', publicKey: IDENTITY_NONCANONICAL, message: M, signature: sig(IDENTITY, 0n), ours: false, zip215: true },
    // Identity with the x sign bit set (x = 0 cannot be negative).
    { name: 'non-canonical A encoding (identity, x = 0 with sign bit)', publicKey: bytes('0100000000000000000000000000000000000000000000000000000000000080'), message: M, signature: sig(IDENTITY, 0n), ours: false, zip215: true },
  ];
  {
    // R = the identity written non-canonically, S = k·a, so [S]B − [k]A is the identity:
    // ZIP-215 decodes R and accepts; a byte comparison of R does not.
    const R = IDENTITY_NONCANONICAL;
    vectors.push({ name: 'non-canonical R encoding (identity as y = p + 1)', publicKey: A, message: M, signature: sig(R, (challenge(R, A, M) * a) % L), ours: false, zip215: true });
  }
  {
    // Canonical small-order R (nonce r = 0): the equation holds; the small-order-R rule refuses it.
    const R = IDENTITY;
    vectors.push({ name: 'small-order R (identity), equation holds', publicKey: A, message: M, signature: sig(R, (challenge(R, A, M) * a) % L), ours: false, zip215: true });
  }
  {
    // R = rB + T8: holds only up to the cofactor. Cofactorless (ours) refuses, ZIP-215 accepts.
    const r = 123456789n;
    const R = Point.BASE.multiply(r).add(T8).toBytes();
    vectors.push({ name: 'R with a torsion component (cofactored-only signature)', publicKey: A, message: M, signature: sig(R, (r + challenge(R, A, M) * a) % L), ours: false, zip215: true });
  }
  {
    // Mixed-order public key A' = A + T8, signature satisfying the cofactorless equation:
    // R = rB − j·T8 with j ≡ k (mod 8). Canonical, not small order: accepted by both.
    const Am = Point.fromBytes(A).add(T8);
    const AmBytes = Am.toBytes();
    let found: EdgeVector | undefined;
    for (let r = 1n; found === undefined; r++) {
      for (let j = 0n; j < 8n && found === undefined; j++) {
        const Rpt = Point.BASE.multiply(r).add(T8.multiply(8n - j === 8n ? 8n : 8n - j, false));
        const R = Rpt.toBytes();
        const k = challenge(R, AmBytes, M);
        if (k % 8n === j) {
          found = { name: 'mixed-order public key (A + T8), cofactorless equation holds', publicKey: AmBytes, message: M, signature: sig(R, (r + k * a) % L), ours: true, zip215: true };
        }
      }
    }
    vectors.push(found);
  }
  return vectors;
}

for (const v of edgeVectors()) {
  test(`edge vector: ${v.name} → ours ${v.ours ? 'accepts' : 'rejects'}, noble ZIP-215 ${v.zip215 ? 'accepts' : 'rejects'}`, (t) => {
    t.log(`OpenSSL alone (no pre-checks): ${opensslOnly(v.publicKey, v.message, v.signature) ? 'accepts' : 'rejects'}`);
    t.is(ed25519Verify(v.publicKey, v.message, v.signature), v.ours, 'our rule');
    t.is(zip215(v.publicKey, v.message, v.signature), v.zip215, 'noble default (ZIP-215)');
  });
}

test('the identity-key forgery is exactly what the pre-checks are for', (t) => {
  // Documented in ed25519.ts: OpenSSL 3 on its own accepts S = 0, R = A = identity for any message.
  const any = new TextEncoder().encode('transfer everything');
  t.log(`OpenSSL alone accepts the forgery: ${opensslOnly(IDENTITY, any, sig(IDENTITY, 0n))}`);
  t.false(ed25519Verify(IDENTITY, any, sig(IDENTITY, 0n)));
  const e = t.throws(() => Ed25519PublicKey.fromBytes(IDENTITY, { field: 'adminKeys[0]' }));
  t.true(isQallowError(e, 'KEY_INVALID') && e.details['field'] === 'adminKeys[0]');
});

test('public key decoding: non-canonical, small-order, off-curve and wrong-length keys are KEY_INVALID', (t) => {
  const cases: [string, Uint8Array][] = [
    // y = 3 + p: a large-order point written non-canonically. No one can sign for it, but
    // ZIP-215 decoding takes the encoding, our decoding does not.
    ['non-canonical y (3 + p)', le32(P + 3n)],
    ['non-canonical identity', IDENTITY_NONCANONICAL],
    ['identity', IDENTITY],
    ['order-8 point', T8.toBytes()],
    ['y = 2 is not on the curve', le32(2n)],
    ['31 bytes', new Uint8Array(31)],
  ];
  t.notThrows(() => Point.fromBytes(le32(P + 3n), true), 'ZIP-215 decoding accepts the non-canonical encoding');
  for (const [name, key] of cases) {
    const e = t.throws(() => Ed25519PublicKey.fromBytes(key), undefined, name);
    t.true(isQallowError(e, 'KEY_INVALID'), name);
  }
  t.notThrows(() => Ed25519PublicKey.fromBytes(A));
});

test('the small-order list covers all eight torsion points, both signs, and the non-canonical forms', (t) => {
  for (let i = 0n; i < 8n; i++) {
    const p = i === 0n ? Point.ZERO : T8.multiply(i, false);
    t.true(p.isSmallOrder());
    const b = p.toBytes();
    t.true(isSmallOrderEncoding(b), `${i}·T8`);
    const flipped = new Uint8Array(b);
    flipped[31]! ^= 0x80;
    t.true(isSmallOrderEncoding(flipped), `${i}·T8 with the sign bit flipped`);
  }
  t.true(isSmallOrderEncoding(le32(P)), 'p (= 0)');
  t.true(isSmallOrderEncoding(le32(P + 1n)), 'p + 1 (= 1)');
  t.false(isSmallOrderEncoding(A));
});

test('canonical checks: y < p and S < L at the exact boundaries', (t) => {
  t.true(isCanonicalY(le32(P - 1n)));
  t.false(isCanonicalY(le32(P)));
  t.false(isCanonicalY(le32(2n ** 255n - 1n)));
  const signBit = le32(P - 1n);
  signBit[31]! |= 0x80;
  t.true(isCanonicalY(signBit), 'the sign bit is not part of y');
  t.true(isCanonicalScalar(le32(L - 1n)));
  t.false(isCanonicalScalar(le32(L)));
  t.false(isCanonicalScalar(le32(2n ** 256n - 1n)));
});

test('wrong-length signatures are rejected, not thrown', (t) => {
  const secret = Ed25519SecretKey.fromBytes(SEED);
  const s = secret.sign(M);
  t.false(secret.publicKey.verify(M, s.subarray(0, 63)));
  t.false(secret.publicKey.verify(M, etc.concatBytes(s, new Uint8Array(1))));
});

test('secret keys never print', (t) => {
  const secret = Ed25519SecretKey.fromBytes(SEED);
  const seedHex = hex(SEED);
  t.false(JSON.stringify({ secret }).includes(seedHex));
  t.false(String(secret).includes(seedHex));
  t.is(secret.toHex(), seedHex);
});

// ---------------------------------------------------------------------------
// Purpose prefix

test('a signature for one purpose never verifies for another, over the same bytes', (t) => {
  const secret = Ed25519SecretKey.generate();
  const message = new TextEncoder().encode('epoch 7 passes');
  const s = sign(PURPOSE.vote, message, secret);
  t.true(verify(PURPOSE.vote, message, s, secret.publicKey));
  t.false(verify(PURPOSE.admin, message, s, secret.publicKey));
  t.false(verify(PURPOSE.ledgerEntry, message, s, secret.publicKey));
  t.false(secret.publicKey.verify(message, s), 'nor as a bare signature of the message');
});

test('the purpose is length-prefixed: shifting bytes between purpose and message changes what is signed', (t) => {
  // Without the prefix, ("qallow/x/v1", "0abc") and ("qallow/x/v10", "abc") would sign the same bytes.
  const secret = Ed25519SecretKey.generate();
  const enc = new TextEncoder();
  const s = sign('qallow/x/v1', enc.encode('0abc'), secret);
  t.false(verify('qallow/x/v10', enc.encode('abc'), s, secret.publicKey));
  t.notDeepEqual(signedBytes('qallow/x/v1', enc.encode('0abc')), signedBytes('qallow/x/v10', enc.encode('abc')));
  const b = signedBytes(PURPOSE.admin, Uint8Array.of(9));
  t.deepEqual([...b.subarray(0, 4)], [15, 0, 0, 0], 'u32 LE length of "qallow/admin/v1"');
  t.is(Buffer.from(b.subarray(4, 19)).toString('utf8'), 'qallow/admin/v1');
  t.deepEqual([...b.subarray(19)], [9]);
});

test('a malformed purpose is BAD_PARAMETER', (t) => {
  const secret = Ed25519SecretKey.generate();
  for (const p of ['admin', 'qallow/admin', 'qallow//v1', 'qallow/Admin/v1', 'qallow/admin/v0']) {
    const e = t.throws(() => sign(p as SigningPurpose, new Uint8Array(0), secret));
    t.true(isQallowError(e, 'BAD_PARAMETER'), p);
  }
});

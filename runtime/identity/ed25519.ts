/**
 * Ed25519 keys and THE verification rule. Every signature in qallow (ledger
 * entries, votes, admin commands) is checked by `ed25519Verify` here, and
 * nothing else; see README.md in this folder for the rule and why.
 *
 * The rule (the one libsodium's `crypto_sign_verify_detached` applies):
 *
 *   1. S is canonical: S < L (L = 2^252 + 27742317777372353535851937790883648493).
 *   2. R is not the encoding of a small-order point (any of the eight torsion
 *      points, in any encoding, sign bit ignored).
 *   3. A, the public key, is a canonical encoding (y < p, and not x = 0 with
 *      the sign bit set) of a point on the curve that is not of small order.
 *      Checked once, when the key is decoded (`Ed25519PublicKey.fromBytes`).
 *   4. The cofactorless equation, with R compared byte for byte:
 *      encode([S]B − [k]A) == R, k = SHA-512(R ‖ A ‖ M) mod L. So a
 *      non-canonical encoding of R never verifies.
 *
 * Step 4 is node:crypto (OpenSSL's native Ed25519, about 10× faster than
 * @noble/ed25519). OpenSSL does step 1 itself, but not 2 or 3: on its own it
 * accepts the all-zero "signature" of any message under the identity public
 * key. Steps 1–3 are done here, in a few byte comparisons, so the rule does not
 * depend on which OpenSSL Node was built with.
 *
 * Signing is deterministic (RFC 8032): node:crypto and @noble/ed25519 give
 * the same bytes for the same key and message.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { Point } from '@noble/ed25519';
import { hexKey, keyInvalid, type KeySource } from './key-error.js';

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SECRET_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

// DER wrappers that turn 32 raw bytes into a KeyObject (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** L, the order of the base point, little-endian. */
const L_LE = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');

/**
 * Encodings of the small-order points (libsodium's list): 0 (order 4),
 * 1 (order 1), the two order-8 y values, p−1 (order 2), and the non-canonical
 * p (= 0) and p+1 (= 1). Compared with the sign bit cleared, so both x signs
 * are covered.
 */
const SMALL_ORDER: readonly Buffer[] = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].map((h) => Buffer.from(h, 'hex'));

/** Whether 32 bytes encode a small-order point (in any encoding, either sign). */
export function isSmallOrderEncoding(p: Uint8Array): boolean {
  if (p.byteLength !== 32) return false;
  outer: for (const s of SMALL_ORDER) {
    for (let i = 0; i < 31; i++) if (p[i] !== s[i]) continue outer;
    if ((p[31]! & 0x7f) === s[31]) return true;
  }
  return false;
}

/** Whether the y coordinate of a point encoding is reduced (y < p = 2^255 − 19). */
export function isCanonicalY(p: Uint8Array): boolean {
  if (p.byteLength !== 32) return false;
  if ((p[31]! & 0x7f) !== 0x7f) return true;
  for (let i = 30; i > 0; i--) if (p[i] !== 0xff) return true;
  return p[0]! < 0xed;
}

/** Whether 32 little-endian bytes are a scalar below L. */
export function isCanonicalScalar(s: Uint8Array): boolean {
  if (s.byteLength !== 32) return false;
  for (let i = 31; i >= 0; i--) {
    if (s[i]! < L_LE[i]!) return true;
    if (s[i]! > L_LE[i]!) return false;
  }
  return false; // equal to L
}

function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** An Ed25519 public key that passed rule 3; only `fromBytes`/`fromHex` make one. */
export class Ed25519PublicKey {
  readonly #bytes: Uint8Array;
  readonly #key: KeyObject;
  /** Lowercase hex of the 32 bytes. */
  readonly hex: string;

  private constructor(bytes: Uint8Array, key: KeyObject) {
    this.#bytes = bytes;
    this.#key = key;
    this.hex = toHex(bytes);
  }

  /** Decode and validate (rule 3), or throw KEY_INVALID naming `source`. */
  static fromBytes(bytes: Uint8Array, source: KeySource = { field: 'publicKey' }): Ed25519PublicKey {
    if (bytes.byteLength !== ED25519_PUBLIC_KEY_BYTES) {
      throw keyInvalid(source, `must be ${ED25519_PUBLIC_KEY_BYTES} bytes (got ${bytes.byteLength})`);
    }
    const copy = new Uint8Array(bytes);
    if (!isCanonicalY(copy)) throw keyInvalid(source, 'is not a canonical point encoding (y ≥ 2^255 − 19)');
    if (isSmallOrderEncoding(copy)) throw keyInvalid(source, 'is a small-order point, which signs nothing; generate a real key');
    try {
      // Strict decoding: on the curve, and not x = 0 with the sign bit set.
      Point.fromBytes(copy, false);
    } catch {
      throw keyInvalid(source, 'is not a point on the Ed25519 curve');
    }
    const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, copy]), format: 'der', type: 'spki' });
    return new Ed25519PublicKey(copy, key);
  }

  static fromHex(hex: unknown, source: KeySource = { field: 'publicKey' }): Ed25519PublicKey {
    return Ed25519PublicKey.fromBytes(hexKey(hex, ED25519_PUBLIC_KEY_BYTES, source), source);
  }

  /** A copy of the 32 bytes. */
  get bytes(): Uint8Array {
    return new Uint8Array(this.#bytes);
  }

  equals(other: Ed25519PublicKey): boolean {
    return this.hex === other.hex;
  }

  /** Rules 1, 2 and 4 for this key (rule 3 held when it was made). */
  verify(message: Uint8Array, signature: Uint8Array): boolean {
    if (signature.byteLength !== ED25519_SIGNATURE_BYTES) return false;
    if (!isCanonicalScalar(signature.subarray(32))) return false;
    if (isSmallOrderEncoding(signature.subarray(0, 32))) return false;
    return nodeVerify(null, message, this.#key, signature);
  }

  toString(): string {
    return this.hex;
  }

  toJSON(): string {
    return this.hex;
  }
}

/**
 * An Ed25519 secret key: the 32-byte RFC 8032 seed. It never prints: its
 * `toString`, `toJSON` and inspect output say `[secret]`; `toHex()` is the one
 * deliberate way out (for the secret key file).
 */
export class Ed25519SecretKey {
  readonly #seed: Uint8Array;
  readonly #key: KeyObject;
  readonly publicKey: Ed25519PublicKey;

  private constructor(seed: Uint8Array, key: KeyObject, publicKey: Ed25519PublicKey) {
    this.#seed = seed;
    this.#key = key;
    this.publicKey = publicKey;
  }

  static fromBytes(seed: Uint8Array, source: KeySource = { field: 'secretKey' }): Ed25519SecretKey {
    if (seed.byteLength !== ED25519_SECRET_KEY_BYTES) {
      throw keyInvalid(source, `must be ${ED25519_SECRET_KEY_BYTES} bytes (got ${seed.byteLength})`);
    }
    const copy = new Uint8Array(seed);
    const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, copy]), format: 'der', type: 'pkcs8' });
    const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
    // A seed always yields a large-order public key; fromBytes checks it anyway.
    const publicKey = Ed25519PublicKey.fromBytes(new Uint8Array(spki.subarray(SPKI_PREFIX.length)), source);
    return new Ed25519SecretKey(copy, key, publicKey);
  }

  static fromHex(hex: unknown, source: KeySource = { field: 'secretKey' }): Ed25519SecretKey {
    return Ed25519SecretKey.fromBytes(hexKey(hex, ED25519_SECRET_KEY_BYTES, source), source);
  }

  static generate(): Ed25519SecretKey {
    const { privateKey } = generateKeyPairSync('ed25519');
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    return Ed25519SecretKey.fromBytes(new Uint8Array(der.subarray(PKCS8_PREFIX.length)));
  }

  /** The RFC 8032 signature of `message` (64 bytes, deterministic). */
  sign(message: Uint8Array): Uint8Array {
    return new Uint8Array(nodeSign(null, message, this.#key));
  }

  /** The seed in hex: for writing the secret key file, nothing else. */
  toHex(): string {
    return toHex(this.#seed);
  }

  toString(): string {
    return '[secret]';
  }

  toJSON(): string {
    return '[secret]';
  }

  [inspect.custom](): string {
    return `Ed25519SecretKey { publicKey: ${this.publicKey.hex}, [secret] }`;
  }
}

/**
 * THE verification rule over raw bytes: false for anything that is not a
 * valid signature of `message` by `publicKey`, including a public key that
 * fails rule 3. Prefer a decoded `Ed25519PublicKey` on hot paths: decoding
 * validates the point, which costs more than the check itself.
 */
export function ed25519Verify(publicKey: Ed25519PublicKey | Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  let key: Ed25519PublicKey;
  if (publicKey instanceof Ed25519PublicKey) {
    key = publicKey;
  } else {
    try {
      key = Ed25519PublicKey.fromBytes(publicKey);
    } catch {
      return false;
    }
  }
  return key.verify(message, signature);
}

/**
 * Node identity, key files and purpose-bound Ed25519 signatures. The
 * verification rule is documented in ed25519.ts and README.md.
 *
 * Note: this index pulls in zeromq (for new CURVE pairs); code that only
 * signs or verifies can import `./signing.js` and `./ed25519.js` directly.
 */
export { Ed25519PublicKey, Ed25519SecretKey, ed25519Verify, isCanonicalScalar, isCanonicalY, isSmallOrderEncoding, ED25519_PUBLIC_KEY_BYTES, ED25519_SECRET_KEY_BYTES, ED25519_SIGNATURE_BYTES } from './ed25519.js';
export { PURPOSE, isSigningPurpose, sign, signedBytes, verify, type SigningPurpose } from './signing.js';
export { curveKeyBytes, curvePair, curvePublicFromSecret, curvePublicKey, generateCurveKeyPair, CURVE_KEY_TEXT_LENGTH, type CurveKeyPair } from './curve.js';
export { generateAdminKey, generateIdentity, publicIdentity, type AdminKeyPair, type Ed25519KeyPair, type NodeIdentity, type NodePublicIdentity } from './identity.js';
export * from './files.js';
export { keyInvalid, type KeySource } from './key-error.js';
export { z85Decode, z85Encode } from './z85.js';

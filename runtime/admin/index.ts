/** Signed admin commands: the union, its canonical bytes, signing, the host-side verifier, the wire form, the typed replies. */
export * from './command.js';
export * from './replies.js';
export { adminCommandBytes, NONCE_BYTES } from './layout.js';
export { ADMIN_PURPOSE, signCommand, signedCommandBytes, type SignCommandOptions, type SignedCommand } from './signed.js';
export { NonceCache } from './nonce-cache.js';
export { AdminVerifier, DEFAULT_MAX_NONCES, DEFAULT_MAX_SKEW_MS, systemWallClock, type AdminVerifierComponents, type AdminVerifierInit, type VerifiedCommand, type WallClock } from './verifier.js';
export { decodeSignedCommand, encodeSignedCommand, MAX_SIGNED_COMMAND_BYTES, SIGNED_COMMAND_WIRE_VERSION } from './wire.js';
export { NonceLog, type NonceRecord } from './nonce-log.js';
export { AdminEndpoint, MAX_ADMIN_FRAME_BYTES } from './endpoint.js';

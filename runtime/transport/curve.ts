/**
 * CURVE keys as text: Z85 (ZeroMQ RFC 32), 40 characters for 32 bytes.
 * Keys are checked here before they reach a socket: zeromq.js 6 leaves a
 * socket that was constructed with an invalid key option in a state that
 * crashes the process when it is collected.
 */
import { QallowError } from '../errors.js';
import type { KeyPair } from './contract.js';
import { z85Decode, z85Encode } from '../identity/z85.js';

// One Z85 implementation for the whole code base (ZeroMQ RFC 32).
export { z85Decode, z85Encode };

export function isCurveKey(text: unknown): text is string {
  return typeof text === 'string' && text.length === 40 && z85Decode(text) !== undefined;
}

/** Throws KEY_INVALID naming `field` unless `text` is a 40-character Z85 CURVE key. */
export function curveKey(text: unknown, field: string): string {
  if (!isCurveKey(text)) {
    throw new QallowError('KEY_INVALID', `${field} must be a CURVE key: 40 characters of Z85 (make one with \`qallow keys gen\`)`, { field });
  }
  return text;
}

export function checkKeyPair(keys: KeyPair, field = 'keys'): KeyPair {
  return { publicKey: curveKey(keys.publicKey, `${field}.publicKey`), secretKey: curveKey(keys.secretKey, `${field}.secretKey`) };
}

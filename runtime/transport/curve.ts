/**
 * CURVE keys as text: Z85 (ZeroMQ RFC 32), 40 characters for 32 bytes.
 * Keys are checked here before they reach a socket: zeromq.js 6 leaves a
 * socket that was constructed with an invalid key option in a state that
 * crashes the process when it is collected.
 */
import { QallowError } from '../errors.js';
import type { KeyPair } from './contract.js';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Z85 text of bytes whose length is a multiple of 4. */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new QallowError('BAD_PARAMETER', `z85: length must be a multiple of 4 (got ${bytes.length})`, { field: 'bytes' });
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let v = ((bytes[i]! << 24) >>> 0) + ((bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!);
    let chunk = '';
    for (let j = 0; j < 5; j++) {
      chunk = ALPHABET[v % 85]! + chunk;
      v = Math.floor(v / 85);
    }
    out += chunk;
  }
  return out;
}

/** Bytes of Z85 text, or undefined when it is not valid Z85. */
export function z85Decode(text: string): Uint8Array | undefined {
  if (text.length % 5 !== 0) return undefined;
  const out = new Uint8Array((text.length / 5) * 4);
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let v = 0;
    for (let j = 0; j < 5; j++) {
      const c = text.charCodeAt(i + j);
      const d = c < 128 ? DECODE[c]! : -1;
      if (d < 0) return undefined;
      v = v * 85 + d;
    }
    if (v > 0xffff_ffff) return undefined;
    out[o] = v >>> 24;
    out[o + 1] = (v >>> 16) & 0xff;
    out[o + 2] = (v >>> 8) & 0xff;
    out[o + 3] = v & 0xff;
  }
  return out;
}

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

/**
 * Where a key came from, so a KEY_INVALID error can name the file and the
 * field (`/etc/qallow/node.secret.json: ed25519.secretKey must be ...`).
 */
import { QallowError } from '../errors.js';

export interface KeySource {
  /** The field, dotted (`ed25519.publicKey`, `adminKeys[1]`); '' for the file as a whole. */
  readonly field: string;
  /** The file it was read from, when there is one. */
  readonly file?: string | undefined;
}

export function keyInvalid(source: KeySource, message: string, extra: Record<string, string | number> = {}): QallowError {
  const parts = [source.file === undefined ? '' : `${source.file}:`, source.field, message].filter((p) => p !== '');
  const details: Record<string, string | number> = { field: source.field, ...extra };
  if (source.file !== undefined) details['file'] = source.file;
  return new QallowError('KEY_INVALID', parts.join(' '), details);
}

const HEX = /^[0-9a-fA-F]*$/;

/** Exactly `length` bytes written as 2·length hex digits (either case), or KEY_INVALID. */
export function hexKey(value: unknown, length: number, source: KeySource): Uint8Array {
  if (typeof value !== 'string') {
    throw keyInvalid(source, `must be a string of ${2 * length} hex digits (got ${value === undefined ? 'nothing' : typeof value})`);
  }
  if (value.length !== 2 * length || !HEX.test(value)) {
    throw keyInvalid(source, `must be ${2 * length} hex digits (${length} bytes) (got ${value.length} characters${HEX.test(value) ? '' : ', not all hex'})`);
  }
  return new Uint8Array(Buffer.from(value, 'hex'));
}

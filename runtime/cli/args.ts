/**
 * Parsers for command-line values. Each names the flag it parses and throws
 * a BAD_USAGE error (exit 2) saying what was expected.
 */
import { isBackendRequest, type BackendRequest } from '../../kernels/backend.js';
import { QallowError } from '../errors.js';

function usage(flag: string, expected: string, got: string): QallowError {
  return new QallowError('BAD_USAGE', `${flag} must be ${expected} (got "${got}")`, { flag, value: got });
}

function toNumber(text: string): number {
  const t = text.trim();
  // Number('') is 0 and Number('0x10') is 16: accept plain decimal notation only.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) && !/^[+-]?(inf|infinity|nan)$/i.test(t)) return NaN;
  if (/^[+-]?inf(inity)?$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(t)) return NaN;
  return Number(t);
}

export function parseInteger(flag: string): (text: string) => number {
  return (text) => {
    const v = toNumber(text);
    if (!Number.isSafeInteger(v)) throw usage(flag, 'an integer', text);
    return v;
  };
}

/** A whole number from 1 to `max` (default 2^31 − 1, the longest a Node timer waits): timeouts, intervals, counts. */
export function parsePositiveInteger(flag: string, max = 0x7fff_ffff): (text: string) => number {
  return (text) => {
    const v = toNumber(text);
    if (!Number.isSafeInteger(v) || v < 1 || v > max) throw usage(flag, `a whole number from 1 to ${max}`, text);
    return v;
  };
}

/**
 * A comma-separated list of numbers. Non-finite values parse (so the
 * parameter rules can reject them by name) but malformed text does not.
 */
export function parseNumberList(flag: string): (text: string) => number[] {
  return (text) => {
    const parts = text.split(',');
    return parts.map((p) => {
      const v = toNumber(p);
      if (Number.isNaN(v) && !/^[+-]?nan$/i.test(p.trim())) throw usage(flag, 'a number or a comma-separated list of numbers', text);
      return v;
    });
  };
}

export function parseBackend(text: string): BackendRequest {
  if (!isBackendRequest(text)) throw usage('--backend', 'one of auto, wasm, webasm, cpu, js, gpu', text);
  return text;
}

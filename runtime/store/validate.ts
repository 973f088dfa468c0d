/**
 * Field rules shared by everything the store writes and reads. Each returns
 * a sentence naming what is wrong (or null), so the caller picks the error
 * code: BAD_PARAMETER for a value handed in, BAD_ENCODING or *_CORRUPT for
 * bytes read back.
 */
import { BACKENDS, type BackendId } from '../../kernels/backend.js';
import type { PhaseParams } from '../../kernels/params.js';

export const MAX_U32 = 0xffff_ffff;
/** Tick counters live in an Int32 header (kernels/state.ts). */
export const MAX_TICK = 0x7fff_ffff;
/** LMDB keys are at most 511 bytes by default; leave room for the epoch or sequence number. */
export const MAX_RUN_ID_BYTES = 256;

export function isU32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_U32;
}

export function isBackendId(v: unknown): v is BackendId {
  return typeof v === 'string' && (BACKENDS as readonly string[]).includes(v);
}

export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
  if (typeof v === 'number' && Object.is(v, -0)) return '-0';
  if (v instanceof Uint8Array) return `${v.byteLength} bytes`;
  if (Array.isArray(v)) return `array of ${v.length}`;
  return v === null ? 'null' : typeof v === 'object' ? 'object' : String(v);
}

export function runIdProblem(run: unknown, field = 'run'): string | null {
  if (typeof run !== 'string' || run.length === 0) return `${field} must be a non-empty string (got ${show(run)})`;
  if (Buffer.byteLength(run, 'utf8') > MAX_RUN_ID_BYTES) return `${field} must be at most ${MAX_RUN_ID_BYTES} bytes of UTF-8 (got ${Buffer.byteLength(run, 'utf8')})`;
  return null;
}

export function u32Problem(field: string, v: unknown, min = 0): string | null {
  return isU32(v) && v >= min ? null : `${field} must be an integer from ${min} to ${MAX_U32} (got ${show(v)})`;
}

function finiteListProblem(field: string, v: unknown, length: number | null): string | null {
  if (!Array.isArray(v)) return `${field} must be an array of numbers (got ${show(v)})`;
  if (length !== null && v.length !== length) return `${field} must have ${length} values (got ${v.length})`;
  if (v.length === 0) return `${field} needs at least one value`;
  const i = v.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
  return i < 0 ? null : `${field}[${i}] must be a finite number (got ${show(v[i])})`;
}

/** Shape of stored run parameters (the accept/reject rules themselves are kernels/params.ts). */
export function paramsProblem(p: PhaseParams, field = 'params'): string | null {
  if (typeof p !== 'object' || p === null) return `${field} must be an object (got ${show(p)})`;
  if (p.phase === 'phase12') {
    return u32Problem(`${field}.ticks`, p.ticks, 1) ?? finiteListProblem(`${field}.eps`, p.eps, null);
  }
  if (p.phase === 'phase13') {
    return (
      u32Problem(`${field}.ticks`, p.ticks, 1) ??
      u32Problem(`${field}.pockets`, p.pockets, 2) ??
      u32Problem(`${field}.rings`, p.rings, 1) ??
      (isU32(p.pockets * p.rings) ? null : `${field}.pockets × ${field}.rings must fit in 32 bits`) ??
      finiteListProblem(`${field}.couplings`, p.couplings, p.rings) ??
      (typeof p.reference === 'boolean' ? null : `${field}.reference must be a boolean (got ${show(p.reference)})`)
    );
  }
  return `${field}.phase must be "phase12" or "phase13" (got ${show((p as { phase: unknown }).phase)})`;
}

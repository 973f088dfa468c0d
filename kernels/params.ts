/**
 * Run parameters for the two phases, and the rules that accept or reject
 * them (SPEC §1 "Input handling"). Validation happens once, here, at the
 * boundary; kernels trust what they are given.
 */
import { QallowError } from '../runtime/errors.js';
import { DEFAULT_MAX_POCKETS, MAX_TICKS, REFERENCE_POCKET_CAP } from './constants.js';

export interface Phase12Params {
  readonly phase: 'phase12';
  readonly ticks: number;
  /** One float32 stretch request per strand (the clamp to [0, 0.01] happens in the recurrence). */
  readonly eps: readonly number[];
}

export interface Phase13Params {
  readonly phase: 'phase13';
  readonly ticks: number;
  /** Pockets per ring, after the reference guards when `reference` is set. */
  readonly pockets: number;
  readonly rings: number;
  /** One float32 coupling per ring. */
  readonly couplings: readonly number[];
  readonly reference: boolean;
}

export type PhaseParams = Phase12Params | Phase13Params;

export interface Phase12Request {
  ticks: number;
  eps: readonly number[];
}

export interface Phase13Request {
  ticks: number;
  pockets: number;
  couplings: readonly number[];
  rings?: number | undefined;
  reference?: boolean | undefined;
  maxPockets?: number | undefined;
}

function bad(param: string, message: string, value: unknown): QallowError {
  return new QallowError('BAD_PARAMETER', `${param} ${message} (got ${String(value)})`, { param, value: String(value) });
}

function requireInteger(param: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw bad(param, `must be an integer ≥ ${min}`, value);
}

function requireTicks(value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > MAX_TICKS) throw bad('ticks', `must be an integer from 1 to ${MAX_TICKS}`, value);
}

/** The value as a finite float32 (what the kernels compute with), or a BAD_PARAMETER naming it. */
function finiteFloat32(param: string, value: number): number {
  if (!Number.isFinite(value)) throw bad(param, 'must be a finite number', value);
  const f = Math.fround(value);
  if (!Number.isFinite(f)) throw bad(param, 'must be a finite float32 (magnitude below about 3.4e38)', value);
  return f;
}

export function phase12Params(req: Phase12Request): Phase12Params {
  requireTicks(req.ticks);
  if (req.eps.length === 0) throw bad('eps', 'needs at least one value', '');
  const eps = req.eps.map((e, i) => finiteFloat32(req.eps.length > 1 ? `eps[${i}]` : 'eps', e));
  return { phase: 'phase12', ticks: req.ticks, eps };
}

export function phase13Params(req: Phase13Request): Phase13Params {
  const reference = req.reference === true;
  const maxPockets = req.maxPockets ?? DEFAULT_MAX_POCKETS;
  requireInteger('maxPockets', maxPockets, 2);
  requireTicks(req.ticks);
  if (!Number.isInteger(req.pockets)) throw bad('pockets', 'must be an integer', req.pockets);
  let pockets = req.pockets;
  if (reference) {
    // The original function's own guards: promote to 2, cap at 32.
    pockets = Math.min(Math.max(pockets, 2), REFERENCE_POCKET_CAP);
  } else if (pockets < 2) {
    throw bad('pockets', 'must be at least 2', pockets);
  }
  if (req.couplings.length === 0) throw bad('coupling', 'needs at least one value', '');
  const rings = req.rings ?? req.couplings.length;
  requireInteger('rings', rings, 1);
  if (req.couplings.length !== 1 && req.couplings.length !== rings) {
    throw bad('coupling', `takes one value for every ring or one per ring (${rings} rings)`, `${req.couplings.length} values`);
  }
  if (pockets * rings > maxPockets) {
    throw bad('pockets', `× rings must not exceed the limit of ${maxPockets} pockets in a run`, `${pockets} × ${rings}`);
  }
  const couplings = Array.from({ length: rings }, (_, r) => {
    const k = req.couplings.length === 1 ? req.couplings[0]! : req.couplings[r]!;
    const name = req.couplings.length > 1 ? `coupling[${r}]` : 'coupling';
    const f = finiteFloat32(name, k);
    if (!reference && k < 0) throw bad(name, 'must be ≥ 0', k);
    return f;
  });
  return { phase: 'phase13', ticks: req.ticks, pockets, rings, couplings, reference };
}

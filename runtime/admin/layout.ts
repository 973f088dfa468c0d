/**
 * The canonical bytes of an admin command: what the admin key signs, under
 * the purpose `qallow/admin/v1` (runtime/identity/signing.ts adds the
 * purpose prefix). Fixed layout, little-endian, field by field, never JSON:
 *
 *   str    target node id (the host the command is for)
 *   str    command type ("run", "actor.restart", ...)
 *   u64    timestamp, ms since the Unix epoch
 *   u8×16  nonce
 *   then the command's own fields, in this order:
 *     status, runs, shutdown                 nothing
 *     pause, resume, cancel, checkpoint.take str run
 *     actor.restart, actor.stop              str actor ("qallow://NODE/ACTOR")
 *     run                                    opt(str id) opt(u64 epochTicks) opt(str backend) str phase, then
 *       phase12                              u64 ticks, f64s eps
 *       phase13                              u64 ticks, f64 pockets, f64s couplings, opt(u64 rings), opt(u8 reference: 0 false, 1 true)
 *       then                                   opt(u8 paced: 1) (absent unless the run is paced)
 *     ledger.tail                            u32 limit, opt(u32 n ‖ (str origin ‖ u64 seq) × n)
 *
 *   str(s)   = u32 byte length ‖ UTF-8
 *   f64s(a)  = u32 count ‖ f64 × count (IEEE 754 binary64; -0 written as 0)
 *   opt(x)   = u8 0 when absent, u8 1 ‖ x when present
 *
 * Every variable-length part carries its length and the type fixes what
 * follows, so two different commands never share bytes. The admin public key
 * is not in the layout: Ed25519 hashes it into every signature already.
 * `pockets` is an f64 because reference mode accepts any integer (values
 * below 2 are promoted); the others are non-negative.
 */
import type { NodeId } from '../actors/address.js';
import { collect, type LayoutWriter } from '../store/bytes.js';
import type { AdminCommand, RunRequest } from './command.js';

export const NONCE_BYTES = 16;

function f64(w: LayoutWriter, v: number): void {
  w.f64(v === 0 ? 0 : v);
}

function f64s(w: LayoutWriter, values: readonly number[]): void {
  w.u32(values.length);
  for (const v of values) f64(w, v);
}

function opt<T>(w: LayoutWriter, v: T | undefined, write: (v: T) => void): void {
  if (v === undefined) {
    w.u8(0);
  } else {
    w.u8(1);
    write(v);
  }
}

function runRequest(w: LayoutWriter, p: RunRequest): void {
  w.str(p.phase);
  if (p.phase === 'phase12') {
    w.u64(p.ticks);
    f64s(w, p.eps);
  } else {
    w.u64(p.ticks);
    f64(w, p.pockets);
    f64s(w, p.couplings);
    opt(w, p.rings, (r) => w.u64(r));
    opt(w, p.reference, (r) => w.u8(r ? 1 : 0));
  }
}

function fields(w: LayoutWriter, c: AdminCommand): void {
  switch (c.type) {
    case 'status':
    case 'runs':
    case 'shutdown':
      return;
    case 'pause':
    case 'resume':
    case 'cancel':
    case 'checkpoint.take':
      w.str(c.run);
      return;
    case 'actor.restart':
    case 'actor.stop':
      w.str(c.actor);
      return;
    case 'run':
      opt(w, c.id, (id) => w.str(id));
      opt(w, c.epochTicks, (e) => w.u64(e));
      opt(w, c.backend, (b) => w.str(b));
      runRequest(w, c.params);
      // Appended so unpaced commands keep the bytes they had before pacing existed.
      if (c.paced) w.u8(1);
      return;
    case 'ledger.tail':
      w.u32(c.limit);
      opt(w, c.after, (after) => {
        w.u32(after.length);
        for (const a of after) {
          w.str(a.origin);
          w.u64(a.seq);
        }
      });
      return;
  }
}

/** The bytes signed for `command` (before the purpose prefix). */
export function adminCommandBytes(target: NodeId, command: AdminCommand, timestamp: number, nonce: Uint8Array): Uint8Array {
  if (nonce.byteLength !== NONCE_BYTES) throw new RangeError(`nonce must be ${NONCE_BYTES} bytes (got ${nonce.byteLength})`);
  return collect((w) => {
    w.str(target);
    w.str(command.type);
    w.u64(timestamp);
    for (const b of nonce) w.u8(b);
    fields(w, command);
  });
}

/**
 * The phase actor: one per run, a child of the `runs` supervisor. It owns a
 * RunEngine and advances it one epoch per `advance` message, telling itself
 * the next `advance` so admin messages interleave between epochs. A crash
 * restarts it (the supervisor's strategy, never nact's stop) into a fresh
 * engine recovered from the run's newest valid checkpoint.
 *
 * Governance (actors/governance-hook.ts): when the validator quorum cannot
 * record an epoch's events the engine pauses the run at that boundary
 * (`pauseReason: 'quorum'`); the host tells the actor `{ type: 'quorum',
 * available: true }` when the quorum is back, the actor has the engine record
 * what waits, and the run continues where it stopped. A halted run (the
 * governor gave up on it) computes no more and takes only `cancel`.
 *
 * Storage: a write the run depends on that fails (IO_ERROR from the store, or
 * ENOSPC/EIO from its CSV or governance record: a full disk) does not crash
 * the actor — a crash loop would escalate and stop the host. The actor logs
 * it at error level, reopens the engine from what is stored (the newest
 * valid checkpoint, as a restart would, so nothing half-written is kept in
 * memory) and marks it paused for `storage` (status shows `pauseReason:
 * 'storage'` and `storageFault`: the message, since when, attempts, next
 * retry). It retries by itself with exponential backoff (STORAGE_RETRY:
 * 250 ms doubling to 10 s), recomputing the lost epoch, so the run finishes
 * with the same states as an undisturbed one; an operator `resume` retries
 * at once. A request whose write failed is answered with the IO_ERROR.
 */
import type { ActorContext, ActorRef, ReplyTo } from '../runtime/actors/index.js';
import { spawn } from '../runtime/actors/index.js';
import { QallowError } from '../runtime/errors.js';
import { storageFault } from '../runtime/store/lmdb-writer.js';
import type { Supervisor } from '../supervisors/index.js';
import type { GovernorAction } from './governor.js';
import { RunEngine, epochLength, type Decision, type PauseReason, type Recovery, type RunEngineComponents, type RunSpec, type StorageFault } from './run-engine.js';
import type { Pacer } from '../runtime/cluster/pacer.js';

export interface RunStatus {
  readonly run: string;
  readonly phase: 'phase12' | 'phase13';
  readonly state: string;
  readonly tick: number;
  readonly ticks: number;
  /** Started with cluster pacing. */
  readonly paced: boolean;
  readonly epoch: number;
  /** stateHash of the run's newest checkpoint. */
  readonly stateHash: string;
  readonly backend: string;
  readonly executor: string;
  readonly lastDecision: Decision | null;
  /** The governor's action at the newest epoch. */
  readonly lastAction: GovernorAction | null;
  /** Why a paused run is paused: an operator, the validator quorum, or a failed write. */
  readonly pauseReason: PauseReason | null;
  /** The failed write a `storage` pause waits out, with its retry schedule. */
  readonly storageFault: StorageFault | null;
  /** Adaptations the governor has made so far. */
  readonly adaptations: number;
  /** Live coupling per ring (phase 13). */
  readonly couplings: readonly number[];
  readonly recovered: Recovery | null;
  readonly incarnation: number;
}

export type AdminCommand = 'pause' | 'resume' | 'cancel';

export type PhaseMsg =
  | { readonly type: 'advance' }
  | { readonly type: 'command'; readonly command: AdminCommand; readonly replyTo: ReplyTo<RunStatus> }
  | { readonly type: 'checkpoint'; readonly replyTo: ReplyTo<{ epoch: number; tick: number; stateHash: string }> }
  | { readonly type: 'status'; readonly replyTo: ReplyTo<RunStatus> }
  | { readonly type: 'drain'; readonly replyTo: ReplyTo<RunStatus> }
  /** From the host: whether the validator quorum can be reached. */
  | { readonly type: 'quorum'; readonly available: boolean }
  | { readonly type: 'fault' };

interface PhaseState {
  readonly engine: RunEngine | null;
  readonly draining: boolean;
  /** A failed write while no engine could be opened at all (a new run on a full disk). */
  readonly fault: StorageFault | null;
}

/** Retries after a failed write: 250 ms, doubling, at most 10 s apart. */
export const STORAGE_RETRY = { baseMs: 250, maxMs: 10_000 } as const;

export interface PhaseActorInit {
  readonly spec: RunSpec;
  readonly mailboxCapacity?: number;
  /** Called after every epoch and every admin command (telemetry, waiters). */
  readonly onStatus?: ((status: RunStatus) => void) | undefined;
  /** Cluster pacing for a paced run (runtime/cluster/pacer.ts): an epoch starts only when it keeps the run within the lead bound. */
  readonly pacer?: Pacer | undefined;
}

function status(engine: RunEngine, incarnation: number): RunStatus {
  return {
    run: engine.spec.run,
    phase: engine.spec.params.phase,
    state: engine.state,
    tick: engine.tick,
    ticks: engine.spec.params.ticks,
    paced: engine.spec.paced === true,
    epoch: engine.epoch,
    stateHash: engine.checkpoint.stateHash,
    backend: engine.spec.backend,
    executor: engine.executor,
    lastDecision: engine.lastDecision,
    lastAction: engine.lastAction,
    pauseReason: engine.pauseReason,
    storageFault: engine.storageFault,
    adaptations: engine.governor.adaptations,
    couplings: engine.couplings,
    recovered: engine.recovered,
    incarnation,
  };
}

export function spawnPhaseActor(runs: Supervisor, init: PhaseActorInit, components: RunEngineComponents): ActorRef<PhaseMsg> {
  const initial: PhaseState = { engine: null, draining: false, fault: null };
  // eslint-disable-next-line prefer-const -- assigned once spawn returns; used by the restart hook
  let ref: ActorRef<PhaseMsg>;
  const run = init.spec.run;
  const open = (): Promise<RunEngine> => RunEngine.open(init.spec, components);
  /** Failed writes in a row (kept across reopened engines), and the one pending retry. */
  let streak: { since: number; attempts: number } | null = null;
  let retryTimer: NodeJS.Timeout | undefined;

  /** A write failed: reopen from the store, pause for `storage`, retry with backoff. */
  const storagePaused = async (state: PhaseState, fault: QallowError, ctx: ActorContext<PhaseMsg>): Promise<PhaseState> => {
    const now = Date.now();
    streak = { since: streak?.since ?? now, attempts: (streak?.attempts ?? 0) + 1 };
    const delay = Math.min(STORAGE_RETRY.maxMs, STORAGE_RETRY.baseMs * 2 ** Math.min(streak.attempts - 1, 16));
    const f: StorageFault = { message: fault.message, since: streak.since, attempts: streak.attempts, retryAt: now + delay };
    ctx.log.error({ run, code: fault.code, err: fault.message, attempts: f.attempts, retryInMs: delay }, 'a write failed: the run is paused until storage takes writes again');
    let engine: RunEngine | null = null;
    try {
      engine = await open();
      engine.setStorageFault(f);
    } catch (e) {
      if (!storageFault(e, `run ${run}`)) throw e;
    }
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      ref.tryTell({ type: 'advance' });
    }, delay);
    retryTimer.unref();
    if (engine) init.onStatus?.(status(engine, ctx.incarnation));
    return { engine, draining: state.draining, fault: engine ? null : f };
  };

  type Handler = (state: PhaseState, msg: PhaseMsg, ctx: ActorContext<PhaseMsg>) => Promise<PhaseState>;
  /** A handler that turns a failed write into a `storage` pause rather than a crash. */
  const pausingOnStorageFaults =
    (inner: Handler): Handler =>
    async (state, msg, ctx) => {
      try {
        return await inner(state, msg, ctx);
      } catch (e) {
        const fault = storageFault(e, `run ${run}`);
        if (!fault) throw e;
        if ('replyTo' in msg) msg.replyTo.fail(fault);
        return storagePaused(state, fault, ctx);
      }
    };

  ref = spawn<PhaseMsg, PhaseState>(runs, {
    name: init.spec.run,
    initialState: initial,
    mailbox: { capacity: init.mailboxCapacity ?? 64 },
    handle: pausingOnStorageFaults(async (state, msg, ctx) => {
      if (!state.engine && state.fault) {
        // No engine since a failed write: only the retry (an advance once it is due) tries to open one.
        if (msg.type !== 'advance') {
          // An operator resume asks for the retry now; whether it opens, the run's status will say.
          const now = msg.type === 'command' && msg.command === 'resume';
          const when = now ? 'now' : `at ${new Date(state.fault.retryAt).toISOString()}`;
          if ('replyTo' in msg) msg.replyTo.fail(new QallowError('IO_ERROR', `run ${run} is paused: ${state.fault.message}; retry ${state.fault.attempts + 1} ${when}`, { run }));
          if (now) ctx.self.tryTell({ type: 'advance' });
          return msg.type === 'drain' ? { ...state, draining: true } : now ? { ...state, fault: { ...state.fault, retryAt: 0 } } : state;
        }
        if (state.draining || Date.now() < state.fault.retryAt) return state;
      }
      const engine = state.engine ?? (await open());
      switch (msg.type) {
        case 'advance': {
          const fault = engine.storageFault;
          if (fault) {
            // Only the retry that is due runs the run again; other advances (quorum, pacer) wait for it.
            if (state.draining || Date.now() < fault.retryAt) return { ...state, engine };
            engine.setStorageFault(null);
          }
          if (state.draining || engine.state !== 'running' || engine.finished) return { ...state, engine, fault: null };
          const pacer = engine.spec.paced ? init.pacer : undefined;
          if (pacer) {
            // Wait (without blocking the mailbox) until this epoch keeps the run within the lead bound.
            const need = epochLength(engine.spec, engine.tick);
            if (pacer.allowance(engine.spec.run, engine.tick) < need) {
              void pacer.whenAllowed(engine.spec.run, engine.tick, need).then(() => ctx.self.tryTell({ type: 'advance' }));
              return { ...state, engine };
            }
          }
          await engine.step();
          if (streak) {
            ctx.log.info({ run, attempts: streak.attempts, pausedMs: Date.now() - streak.since, tick: engine.tick }, 'storage takes writes again: the run resumes');
            streak = null;
          }
          init.onStatus?.(status(engine, ctx.incarnation));
          if (!engine.finished && engine.state === 'running') ctx.self.tryTell({ type: 'advance' });
          return { ...state, engine };
        }
        case 'command': {
          if (engine.finished || engine.state === 'cancelled' || (engine.state === 'halted' && msg.command !== 'cancel')) {
            msg.replyTo.fail(new QallowError('BAD_USAGE', `run ${engine.spec.run} is ${engine.state}; it takes no more commands`, { run: engine.spec.run }));
            return { ...state, engine };
          }
          if (msg.command === 'resume' && engine.pauseReason === 'storage') {
            // The operator asks for the retry now (the run was never paused by a command).
            engine.setStorageFault(null);
            ctx.self.tryTell({ type: 'advance' });
            msg.replyTo.reply(status(engine, ctx.incarnation));
            return { ...state, engine };
          }
          const wasRunning = engine.isRunning();
          await engine.command(msg.command);
          ctx.log.info({ run: engine.spec.run, command: msg.command, tick: engine.tick }, 'admin command');
          if (!wasRunning && engine.isRunning()) ctx.self.tryTell({ type: 'advance' });
          msg.replyTo.reply(status(engine, ctx.incarnation));
          init.onStatus?.(status(engine, ctx.incarnation));
          return { ...state, engine };
        }
        case 'checkpoint': {
          const c = await engine.checkpointNow();
          msg.replyTo.reply({ epoch: c.epoch, tick: c.tick, stateHash: c.stateHash });
          return { ...state, engine };
        }
        case 'status':
          msg.replyTo.reply(status(engine, ctx.incarnation));
          return { ...state, engine };
        case 'drain':
          // Handled after any epoch in progress: the last one is already checkpointed.
          msg.replyTo.reply(status(engine, ctx.incarnation));
          return { ...state, engine, draining: true };
        case 'quorum': {
          const wasRunning = engine.isRunning();
          await engine.quorum(msg.available);
          if (!wasRunning && engine.isRunning() && !state.draining && !engine.finished) ctx.self.tryTell({ type: 'advance' });
          init.onStatus?.(status(engine, ctx.incarnation));
          return { ...state, engine };
        }
        case 'fault':
          throw new QallowError('INTERNAL', `injected fault in run ${engine.spec.run}`, { run: engine.spec.run });
      }
    }),
    supervision: {
      onRestart: () => {
        // The new incarnation reopens the run from its newest valid checkpoint
        // on its first message; this one gets it going again.
        queueMicrotask(() => void ref.tryTell({ type: 'advance' }));
        return initial;
      },
    },
  });
  ref.tell({ type: 'advance' });
  return ref;
}

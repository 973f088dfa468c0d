/**
 * The phase actor: one per run, a child of the `runs` supervisor. It owns a
 * RunEngine and advances it one slice (bounded pool work, see
 * RunEngine.advance) per `advance` message. `advance` is the actor's own
 * loop (ActorSpec.loop): it comes through a reserved slot outside the
 * bounded mailbox, so outside traffic can never crowd the run out of its
 * own progress, and admin messages interleave between slices, never more
 * than one slice away. A crash restarts it (the supervisor's strategy,
 * never nact's stop) into a fresh engine recovered from the run's newest
 * valid checkpoint; the part of an epoch computed before the crash is
 * computed again (the kernels are deterministic).
 *
 * Epoch boundaries never depend on outside traffic: a `checkpoint` asked
 * mid-epoch is answered with the checkpoint that ends the epoch, or, if the
 * run stops computing first (pause, cancel, drain), with its newest one.
 * A `drain` (host stop) stops the run at the next slice boundary; the
 * part-computed epoch is recomputed at the next start.
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
 * the actor — a crash loop would stop the run for good. The actor logs
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
  /** Why the run failed (state `failed`: it could not start or kept crashing); null otherwise. */
  readonly failure?: string | null;
}

export type AdminCommand = 'pause' | 'resume' | 'cancel';

export interface CheckpointAnswer {
  readonly epoch: number;
  readonly tick: number;
  readonly stateHash: string;
}

export type PhaseMsg =
  /** The actor's own loop: compute the next slice. Only the runtime's reserved slot carries it. */
  | { readonly type: 'advance' }
  | { readonly type: 'command'; readonly command: AdminCommand; readonly replyTo: ReplyTo<RunStatus> }
  | { readonly type: 'checkpoint'; readonly replyTo: ReplyTo<CheckpointAnswer> }
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
  /** Called once the run is open, after every slice and every admin command (telemetry, the host's latest status, waiters). */
  readonly onStatus?: ((status: RunStatus) => void) | undefined;
  /** Cluster pacing for a paced run (runtime/cluster/pacer.ts): an epoch starts only when it keeps the run within the lead bound. */
  readonly pacer?: Pacer | undefined;
  /**
   * Open the run held (`qallow start --hold-runs`): a run that would compute
   * is paused first (journaled, like an operator's pause), so the operator
   * can cancel or resume it. Applies to the first opening only, not to a
   * reopening after a crash.
   */
  readonly hold?: boolean | undefined;
}

export function runStatus(engine: RunEngine, incarnation: number): RunStatus {
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
    failure: null,
  };
}

/** The status of a run without an engine: one that failed (it could not start, or kept crashing). */
export function failedStatus(spec: RunSpec, failure: string, last?: RunStatus): RunStatus {
  return engineLessStatus(spec, { state: 'failed', failure, pauseReason: null, storageFault: null }, last);
}

/** The status of a run that could not open because a write failed (a new run on a full disk): paused for `storage`. */
export function storageWaitStatus(spec: RunSpec, fault: StorageFault, incarnation: number): RunStatus {
  return { ...engineLessStatus(spec, { state: 'paused', failure: null, pauseReason: 'storage', storageFault: fault }), incarnation };
}

function engineLessStatus(
  spec: RunSpec,
  why: { readonly state: 'failed' | 'paused'; readonly failure: string | null; readonly pauseReason: PauseReason | null; readonly storageFault: StorageFault | null },
  last?: RunStatus,
): RunStatus {
  return {
    run: spec.run,
    phase: spec.params.phase,
    state: why.state,
    tick: last?.tick ?? 0,
    ticks: spec.params.ticks,
    paced: spec.paced === true,
    epoch: last?.epoch ?? 0,
    stateHash: last?.stateHash ?? '',
    backend: spec.backend,
    executor: last?.executor ?? 'none',
    lastDecision: last?.lastDecision ?? null,
    lastAction: last?.lastAction ?? null,
    pauseReason: why.pauseReason,
    storageFault: why.storageFault,
    adaptations: last?.adaptations ?? 0,
    couplings: last?.couplings ?? (spec.params.phase === 'phase13' ? spec.params.couplings : []),
    recovered: last?.recovered ?? null,
    incarnation: last?.incarnation ?? 0,
    failure: why.failure,
  };
}

export function spawnPhaseActor(runs: Supervisor, init: PhaseActorInit, components: RunEngineComponents): ActorRef<PhaseMsg> {
  const initial: PhaseState = { engine: null, draining: false, fault: null };
  const capacity = init.mailboxCapacity ?? 64;
  const run = init.spec.run;
  /** Checkpoint requests that came mid-epoch (at most `capacity`; see the header). */
  let waiting: Array<ReplyTo<CheckpointAnswer>> = [];
  let held = init.hold !== true;
  const answerWaiting = (engine: RunEngine): void => {
    const { epoch, tick, stateHash } = engine.checkpoint;
    for (const w of waiting) w.reply({ epoch, tick, stateHash });
    waiting = [];
  };
  const failWaiting = (e: QallowError): void => {
    for (const w of waiting) w.fail(e);
    waiting = [];
  };
  const publish = (engine: RunEngine, incarnation: number): void => init.onStatus?.(runStatus(engine, incarnation));
  const open = async (incarnation: number): Promise<RunEngine> => {
    const engine = await RunEngine.open(init.spec, components);
    if (!held) {
      held = true;
      if (!engine.finished && (engine.isRunning() || engine.pauseReason === 'quorum')) {
        await engine.command('pause');
        components.logger.warn({ run, tick: engine.tick }, 'run held paused at start (--hold-runs): resume or cancel it');
      }
    }
    publish(engine, incarnation);
    return engine;
  };
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
    failWaiting(fault);
    let engine: RunEngine | null = null;
    try {
      engine = await RunEngine.open(init.spec, components);
      engine.setStorageFault(f);
    } catch (e) {
      if (!storageFault(e, `run ${run}`)) throw e;
    }
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      ctx.continueLoop();
    }, delay);
    retryTimer.unref();
    if (engine) publish(engine, ctx.incarnation);
    else init.onStatus?.(storageWaitStatus(init.spec, f, ctx.incarnation));
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

  return spawn<PhaseMsg, PhaseState>(runs, {
    name: run,
    initialState: initial,
    mailbox: { capacity },
    loop: { message: { type: 'advance' } },
    handle: pausingOnStorageFaults(async (state, msg, ctx) => {
      if (!state.engine && state.fault) {
        // No engine since a failed write: only the retry (an advance once it is due) tries to open one.
        if (msg.type !== 'advance') {
          // An operator resume asks for the retry now; whether it opens, the run's status will say.
          const now = msg.type === 'command' && msg.command === 'resume';
          const when = now ? 'now' : `at ${new Date(state.fault.retryAt).toISOString()}`;
          if ('replyTo' in msg) msg.replyTo.fail(new QallowError('IO_ERROR', `run ${run} is paused: ${state.fault.message}; retry ${state.fault.attempts + 1} ${when}`, { run }));
          if (now) ctx.continueLoop();
          return msg.type === 'drain' ? { ...state, draining: true } : now ? { ...state, fault: { ...state.fault, retryAt: 0 } } : state;
        }
        if (state.draining || Date.now() < state.fault.retryAt) return state;
      }
      const engine = state.engine ?? (await open(ctx.incarnation));
      switch (msg.type) {
        case 'advance': {
          const fault = engine.storageFault;
          if (fault) {
            // Only the retry that is due runs the run again; other advances (quorum, pacer) wait for it.
            if (state.draining || Date.now() < fault.retryAt) return { ...state, engine };
            engine.setStorageFault(null);
          }
          if (state.draining || !engine.isRunning() || engine.finished) return { ...state, engine, fault: null };
          const pacer = engine.spec.paced ? init.pacer : undefined;
          if (pacer && !engine.midEpoch) {
            // Wait (without blocking the mailbox) until this epoch keeps the run within the lead bound.
            const need = epochLength(engine.spec, engine.tick);
            if (pacer.allowance(run, engine.tick) < need) {
              void pacer.whenAllowed(run, engine.tick, need).then(() => ctx.continueLoop());
              return { ...state, engine };
            }
          }
          const decision = await engine.advance();
          if (streak && decision) {
            ctx.log.info({ run, attempts: streak.attempts, pausedMs: Date.now() - streak.since, tick: engine.tick }, 'storage takes writes again: the run resumes');
            streak = null;
          }
          if (decision || !engine.isRunning()) answerWaiting(engine);
          publish(engine, ctx.incarnation);
          if (!engine.finished && engine.isRunning()) ctx.continueLoop();
          return { ...state, engine };
        }
        case 'command': {
          if (engine.finished || engine.state === 'cancelled' || (engine.state === 'halted' && msg.command !== 'cancel')) {
            msg.replyTo.fail(new QallowError('BAD_USAGE', `run ${run} is ${engine.state}; it takes no more commands`, { run }));
            return { ...state, engine };
          }
          if (msg.command === 'resume' && engine.pauseReason === 'storage') {
            // The operator asks for the retry now (the run was never paused by a command).
            engine.setStorageFault(null);
            if (!state.draining) ctx.continueLoop();
            msg.replyTo.reply(runStatus(engine, ctx.incarnation));
            return { ...state, engine };
          }
          const wasRunning = engine.isRunning();
          await engine.command(msg.command);
          ctx.log.info({ run, command: msg.command, tick: engine.tick }, 'admin command');
          if (!engine.isRunning()) answerWaiting(engine);
          else if (!wasRunning && !state.draining) ctx.continueLoop();
          msg.replyTo.reply(runStatus(engine, ctx.incarnation));
          publish(engine, ctx.incarnation);
          return { ...state, engine };
        }
        case 'checkpoint': {
          if (engine.midEpoch && engine.isRunning() && !state.draining) {
            waiting = waiting.filter((w) => !w.settled);
            if (waiting.length >= capacity) {
              msg.replyTo.fail(new QallowError('MAILBOX_FULL', `run ${run} already has ${capacity} checkpoint requests waiting for its epoch to end; retry later`, { actor: ctx.self.id, capacity, messageType: 'checkpoint' }));
            } else {
              waiting.push(msg.replyTo);
            }
            return { ...state, engine };
          }
          if (engine.midEpoch) {
            // Not computing (paused or draining): its newest checkpoint is the state that stands.
            const { epoch, tick, stateHash } = engine.checkpoint;
            msg.replyTo.reply({ epoch, tick, stateHash });
            return { ...state, engine };
          }
          const c = await engine.checkpointNow();
          msg.replyTo.reply({ epoch: c.epoch, tick: c.tick, stateHash: c.stateHash });
          return { ...state, engine };
        }
        case 'status':
          msg.replyTo.reply(runStatus(engine, ctx.incarnation));
          return { ...state, engine };
        case 'drain':
          // Handled between slices: the run stops here; a part-computed epoch is recomputed at the next start.
          answerWaiting(engine);
          msg.replyTo.reply(runStatus(engine, ctx.incarnation));
          return { ...state, engine, draining: true };
        case 'quorum': {
          const wasRunning = engine.isRunning();
          await engine.quorum(msg.available);
          if (!wasRunning && engine.isRunning() && !state.draining && !engine.finished) ctx.continueLoop();
          publish(engine, ctx.incarnation);
          return { ...state, engine };
        }
        case 'fault':
          throw new QallowError('INTERNAL', `injected fault in run ${run}`, { run });
      }
    }),
    supervision: {
      onRestart: () => {
        // The new incarnation reopens the run from its newest valid checkpoint on its first message
        // (the runtime tells it its loop message once it has restarted).
        failWaiting(new QallowError('ACTOR_CRASHED', `run ${run} crashed before its epoch ended; ask for the checkpoint again`, { run }));
        return initial;
      },
    },
    onStop: () => {
      if (retryTimer) clearTimeout(retryTimer);
      failWaiting(new QallowError('ACTOR_STOPPED', `run ${run} stopped before its epoch ended`, { run }));
    },
  });
}

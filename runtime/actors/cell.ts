/**
 * One actor at run time: its typed ref, its state across incarnations, its
 * bounded mailbox count and metrics, on top of one nact actor that queues
 * and schedules its messages.
 *
 * Suspension is a gate: while it is closed, the nact actor is kept busy
 * waiting on it, so everything told meanwhile queues in nact's mailbox, in
 * order, and is handled by the next incarnation. A crash closes the gate
 * before the supervisor hears of it; `restart` (new state, incarnation + 1)
 * or `stop` opens it.
 */
import type { Logger } from 'pino';
import { QallowError, errorMessage, isQallowError } from '../errors.js';
import { formatAddress, type ActorAddress, type ActorName } from './address.js';
import type { ActorContext, ActorRef, ActorSpec, Message, ReplyTo, TellResult } from './contract.js';
import { Envelope, PendingReply, type Settleable } from './envelope.js';
import { LatencyWindow, type ActorMetrics, type ActorRunState } from './metrics.js';
import type { NactParent, NactWorker } from './nact.js';
import type { ActorRuntime, RoutableActor } from './runtime.js';
import type { ActorStatus, SupervisedChild, SupervisorParent } from '../../supervisors/contract.js';

interface Gate {
  readonly promise: Promise<void>;
  readonly open: () => void;
}

function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

type Refusal = Extract<TellResult, { ok: false }>['error'];

function refusal(code: 'MAILBOX_FULL' | 'ACTOR_STOPPED', message: string, details: Record<string, string | number>): Refusal {
  return new QallowError(code, message, details) as Refusal;
}

const OK: TellResult = { ok: true };

export class ActorCell<Msg extends Message, State> implements SupervisedChild, RoutableActor {
  readonly kind = 'actor';
  readonly name: ActorName;
  readonly address: ActorAddress;
  readonly id: string;
  readonly ref: ActorRef<Msg>;

  readonly #rt: ActorRuntime;
  readonly #parent: SupervisorParent;
  readonly #spec: ActorSpec<Msg, State>;
  readonly #capacity: number;
  readonly #worker: NactWorker;
  readonly #log: Logger;
  readonly #ctx: ActorContext<Msg>;

  #state: State;
  #incarnation = 0;
  #status: ActorRunState = 'running';
  #gate: Gate | undefined;
  #depth = 0;
  /** Loop messages accepted and not finished (the pending one and the one being handled): outside the capacity. */
  #loopDepth = 0;
  #loopPending: Envelope<Msg> | undefined;
  #processed = 0;
  #restarts = 0;
  #crashes = 0;
  #deadLetters = 0;
  #mailboxFull = 0;
  #lastError: string | null = null;
  readonly #latency = new LatencyWindow();
  readonly #replies = new Set<Settleable>();
  /** Accepted and not yet started, in order: what becomes dead letters if the actor stops. */
  readonly #inbox = new Set<Envelope<Msg>>();
  #writable: Array<{ resolve: () => void; reject: (e: QallowError) => void }> = [];
  #stopped: Promise<void> | undefined;
  #stoppedResolve: (() => void) | undefined;

  constructor(rt: ActorRuntime, parent: SupervisorParent, nactParent: NactParent, address: ActorAddress, name: ActorName, spec: ActorSpec<Msg, State>) {
    this.#rt = rt;
    this.#parent = parent;
    this.#spec = spec;
    this.#capacity = spec.mailbox.capacity;
    this.name = name;
    this.address = address;
    this.id = formatAddress(address);
    this.#log = rt.actorLog.child({ actor: this.id });
    this.#state = spec.initialState;
    this.ref = this.#makeRef();
    const cell = this;
    this.#ctx = {
      self: this.ref,
      address,
      get incarnation() {
        return cell.#incarnation;
      },
      log: this.#log,
      now: () => rt.clock.now(),
      continueLoop: () => this.#continueLoop(),
    };
    this.#worker = nactParent.spawnWorker(name, {
      process: (env) => this.#process(env as Envelope<Msg>),
      onCrash: (env, error) => this.#onCrash(env, error),
      afterStop: () => void this.#afterStop(),
    });
    rt.events.emit({ type: 'actor-started', actor: this.id, incarnation: 0 });
    if (spec.loop) this.#continueLoop();
  }

  get incarnation(): number {
    return this.#incarnation;
  }

  get stopped(): boolean {
    return this.#status === 'stopped';
  }

  // ---- sending ------------------------------------------------------------

  #makeRef(): ActorRef<Msg> {
    return {
      address: this.address,
      id: this.id,
      tell: (msg) => {
        const r = this.#enqueue(msg, undefined);
        if (!r.ok) throw r.error;
      },
      tryTell: (msg) => this.#enqueue(msg, undefined),
      ask: <Res>(build: (replyTo: ReplyTo<Res>) => Msg, timeoutMs: number) => this.#ask(build, timeoutMs),
      whenWritable: () => this.#whenWritable(),
    };
  }

  #enqueue(msg: Msg, reply: Settleable | undefined): TellResult {
    if (this.#status === 'stopped') {
      this.#deadLetter(new Envelope(msg, reply), false);
      return { ok: false, error: this.#stoppedError(msg.type) };
    }
    if (this.#depth - this.#loopDepth >= this.#capacity) {
      this.#mailboxFull++;
      return {
        ok: false,
        error: refusal(
          'MAILBOX_FULL',
          `mailbox of ${this.id} is full (capacity ${this.#capacity}); message "${msg.type}" was not enqueued: retry after whenWritable() or send less`,
          { actor: this.id, capacity: this.#capacity, messageType: msg.type },
        ),
      };
    }
    this.#depth++;
    const env = new Envelope(msg, reply);
    this.#inbox.add(env);
    // A request still queued when its asker gives up leaves the mailbox: it must not hold a place for nobody.
    if (reply instanceof PendingReply) reply.onTimeout(() => this.#withdraw(env));
    this.#worker.dispatch(env);
    return OK;
  }

  #withdraw(env: Envelope<Msg>): void {
    if (!this.#inbox.delete(env)) return; // being handled, handled, or a dead letter already
    env.withdrawn = true;
    this.#finished(env);
  }

  #continueLoop(): void {
    const loop = this.#spec.loop;
    if (!loop) throw new QallowError('BAD_USAGE', `${this.id} has no loop message; give its spec a loop to use continueLoop()`, { actor: this.id });
    if (this.#status === 'stopped' || this.#loopPending) return;
    const env = new Envelope(loop.message, undefined, true);
    this.#depth++;
    this.#loopDepth++;
    this.#loopPending = env;
    this.#inbox.add(env);
    this.#worker.dispatch(env);
  }

  /** `refused()`: an error raised while building the request; the ask fails with it instead of enqueueing. */
  #ask<Res>(build: (replyTo: ReplyTo<Res>) => Msg, timeoutMs: number, refused?: () => unknown): Promise<Res> {
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      return Promise.reject(
        new QallowError('BAD_PARAMETER', `ask timeoutMs must be a positive number of milliseconds (got ${String(timeoutMs)})`, {
          field: 'timeoutMs',
          value: String(timeoutMs),
        }),
      );
    }
    let type = 'unknown';
    const reply = new PendingReply<Res>(
      this.#rt.clock,
      timeoutMs,
      () => new QallowError('TIMEOUT', `${this.id} did not answer "${type}" within ${timeoutMs} ms`, { actor: this.id, messageType: type, timeoutMs }),
      (r) => void this.#replies.delete(r),
    );
    this.#replies.add(reply);
    const msg = build(reply);
    type = msg.type;
    const refusal = refused?.();
    if (refusal !== undefined) {
      reply.fail(
        isQallowError(refusal)
          ? refusal
          : new QallowError('BAD_PARAMETER', `${this.id} could not decode the request: ${errorMessage(refusal)}`, { actor: this.id }, { cause: refusal }),
      );
      return reply.promise;
    }
    const r = this.#enqueue(msg, reply);
    if (!r.ok) reply.fail(r.error);
    return reply.promise;
  }

  #whenWritable(): Promise<void> {
    if (this.#status === 'stopped') return Promise.reject(this.#stoppedError('whenWritable'));
    if (this.#depth - this.#loopDepth < this.#capacity) return Promise.resolve();
    return new Promise((resolve, reject) => this.#writable.push({ resolve, reject }));
  }

  deliver(raw: unknown): void {
    this.ref.tell(this.#decoder()(raw));
  }

  whenWritable(): Promise<void> {
    return this.#whenWritable();
  }

  deliverAsk(raw: unknown, timeoutMs: number): Promise<unknown> {
    let decode: NonNullable<ActorSpec<Msg, State>['decode']>;
    try {
      decode = this.#decoder();
    } catch (e) {
      return Promise.reject(e);
    }
    let failure: unknown;
    const answer = this.#ask<unknown>((replyTo) => {
      try {
        return decode(raw, replyTo);
      } catch (e) {
        // Not enqueued: the pending reply fails with the decoder's error below.
        failure = e;
        return { type: 'undecodable' } as unknown as Msg;
      }
    }, timeoutMs, () => failure);
    return answer;
  }

  #decoder(): NonNullable<ActorSpec<Msg, State>['decode']> {
    const decode = this.#spec.decode;
    if (!decode) {
      throw new QallowError('BAD_PARAMETER', `${this.id} takes only typed messages; give its spec a decode() to accept messages by address`, {
        actor: this.id,
      });
    }
    return decode;
  }

  #stoppedError(type: string): Refusal {
    return refusal('ACTOR_STOPPED', `${this.id} is stopped; "${type}" was not delivered (counted as a dead letter)`, {
      actor: this.id,
      messageType: type,
    });
  }

  // ---- handling -----------------------------------------------------------

  /** One message; called by nact one at a time. Rejects only for a crash that needs a supervision decision. */
  async #process(env: Envelope<Msg>): Promise<void> {
    if (env.withdrawn) return;
    this.#inbox.delete(env);
    // From here the handler may schedule the next loop message.
    if (this.#loopPending === env) this.#loopPending = undefined;
    while (this.#gate) await this.#gate.promise;
    if (this.#status === 'stopped') {
      this.#deadLetter(env, true);
      return;
    }
    const incarnation = this.#incarnation;
    const started = this.#rt.clock.now();
    env.reply?.hold();
    let next: State;
    try {
      next = await this.#spec.handle(this.#state, env.msg, this.#ctx);
    } catch (error) {
      this.#crashed(env, error, incarnation);
      return;
    }
    this.#processed++;
    this.#latency.record(this.#rt.clock.now() - started);
    // A sibling's restart may have replaced this incarnation while the handler ran: its result is dropped.
    if (incarnation === this.#incarnation) this.#state = next;
    this.#finished(env);
    env.reply?.release();
  }

  #crashed(env: Envelope<Msg>, error: unknown, incarnation: number): void {
    this.#finished(env);
    this.#crashes++;
    this.#lastError = errorMessage(error);
    if (env.reply && !env.reply.settled) {
      env.reply.fail(
        isQallowError(error)
          ? error
          : new QallowError('INTERNAL', `${this.id} crashed handling "${env.msg.type}": ${errorMessage(error)}`, { actor: this.id, messageType: env.msg.type }, { cause: error }),
      );
    }
    env.reply?.release();
    // Stale: this incarnation is already being replaced (or the actor stopped); no new decision.
    const stale = incarnation !== this.#incarnation || this.#gate !== undefined || this.#status === 'stopped';
    this.#log.error({ err: error, incarnation, messageType: env.msg.type, stale }, `actor crashed handling "${env.msg.type}"`);
    this.#rt.events.emit({ type: 'actor-crashed', actor: this.id, incarnation, messageType: env.msg.type, error: errorMessage(error), stale });
    if (stale) return;
    // Close the gate first: from here on messages queue for the next incarnation.
    this.suspend();
    throw error;
  }

  async #onCrash(_env: Envelope | undefined, error: unknown): Promise<void> {
    try {
      if (this.#status === 'stopped') return;
      this.suspend();
      this.#parent.childFailed(this, error, this.#incarnation);
      while (this.#gate) await this.#gate.promise;
    } catch (e) {
      this.#log.error({ err: e }, 'crash handling failed');
    }
  }

  #finished(env: Envelope<Msg>): void {
    this.#depth--;
    if (env.loop) this.#loopDepth--;
    if (this.#writable.length > 0 && this.#depth - this.#loopDepth < this.#capacity) {
      const waiting = this.#writable;
      this.#writable = [];
      for (const w of waiting) w.resolve();
    }
  }

  #deadLetter(env: Envelope<Msg>, wasQueued: boolean): void {
    if (wasQueued) this.#finished(env);
    if (this.#loopPending === env) this.#loopPending = undefined;
    this.#deadLetters++;
    env.reply?.fail(this.#stoppedError(env.msg.type));
    this.#rt.events.emit({ type: 'dead-letter', actor: this.id, messageType: env.msg.type, reason: 'stopped' });
  }

  // ---- supervision --------------------------------------------------------

  suspend(): void {
    if (this.#status === 'stopped' || this.#gate) return;
    this.#gate = gate();
    this.#status = 'restarting';
  }

  async restart(reason: unknown): Promise<void> {
    if (this.#status === 'stopped') return;
    this.suspend();
    const incarnation = this.#incarnation + 1;
    const onRestart = this.#spec.supervision?.onRestart;
    const next = onRestart
      ? await onRestart({ initialState: this.#spec.initialState, lastState: this.#state, incarnation, reason })
      : this.#spec.initialState;
    if (this.stopped) return; // stopped while onRestart ran
    this.#state = next;
    this.#incarnation = incarnation;
    this.#restarts++;
    this.#status = 'running';
    const g = this.#gate;
    this.#gate = undefined;
    g?.open();
    this.#log.info({ incarnation, restarts: this.#restarts }, 'actor restarted');
    this.#rt.events.emit({ type: 'actor-restarted', actor: this.id, incarnation });
    // A self-driven actor gets going again (coalesced with a loop message still queued).
    if (this.#spec.loop) this.#continueLoop();
  }

  stop(): Promise<void> {
    if (this.#stopped) return this.#stopped;
    this.#stopped = new Promise((resolve) => {
      this.#stoppedResolve = resolve;
    });
    this.#status = 'stopped';
    const g = this.#gate;
    this.#gate = undefined;
    g?.open();
    for (const r of [...this.#replies]) r.fail(this.#stoppedError('ask'));
    const waiting = this.#writable;
    this.#writable = [];
    for (const w of waiting) w.reject(this.#stoppedError('whenWritable'));
    // nact calls afterStop (below) on a later turn; what was still queued then becomes dead letters.
    this.#worker.stop();
    return this.#stopped;
  }

  async #afterStop(): Promise<void> {
    const queued = [...this.#inbox];
    this.#inbox.clear();
    for (const env of queued) this.#deadLetter(env, true);
    try {
      await this.#spec.onStop?.(this.#state, this.#ctx);
    } catch (e) {
      this.#log.error({ err: e }, 'onStop failed');
    }
    this.#log.info({ incarnation: this.#incarnation }, 'actor stopped');
    this.#rt.events.emit({ type: 'actor-stopped', actor: this.id });
    this.#stoppedResolve?.();
  }

  // ---- observation --------------------------------------------------------

  status(): ActorStatus {
    return {
      kind: 'actor',
      name: this.name,
      id: this.id,
      state: this.#status,
      incarnation: this.#incarnation,
      restarts: this.#restarts,
      mailboxDepth: this.#depth,
      lastError: this.#lastError,
    };
  }

  metrics(): ActorMetrics {
    const [p50, p99] = this.#latency.percentiles([0.5, 0.99]);
    return {
      actor: this.id,
      state: this.#status,
      incarnation: this.#incarnation,
      processed: this.#processed,
      mailboxDepth: this.#depth,
      mailboxCapacity: this.#capacity,
      processingP50Ms: p50 ?? 0,
      processingP99Ms: p99 ?? 0,
      processingSamples: this.#latency.count,
      restarts: this.#restarts,
      crashes: this.#crashes,
      deadLetters: this.#deadLetters,
      mailboxFull: this.#mailboxFull,
    };
  }
}

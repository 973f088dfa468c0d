/**
 * What travels through nact's mailbox: the typed message plus, for an `ask`,
 * the pending reply so the runtime can fail it when the message is dropped.
 */
import { QallowError } from '../errors.js';
import type { Clock, TimerHandle } from './clock.js';
import type { Message, ReplyTo } from './contract.js';

/** The part of a pending reply the runtime needs, whatever its answer type. */
export interface Settleable {
  readonly settled: boolean;
  fail(error: QallowError): void;
  /** While its request is being handled, an answer is kept back... */
  hold(): void;
  /** ...and delivered once the handler has returned (state and metrics updated). */
  release(): void;
}

export class Envelope<Msg extends Message = Message> {
  /** Taken back before it was handled (its ask timed out): nact still hands it over, and it is skipped. */
  withdrawn = false;
  constructor(
    readonly msg: Msg,
    readonly reply: Settleable | undefined,
    /** Told through the actor's reserved loop slot (ActorSpec.loop), outside the mailbox capacity. */
    readonly loop = false,
  ) {}
}

type Outcome<Res> = { readonly ok: true; readonly value: Res } | { readonly ok: false; readonly error: QallowError };

/**
 * The reply channel of one `ask`, with its timeout on the system clock. An
 * answer given while the request's own handler runs reaches the asker only
 * after that handler returns, so an asker that resumes sees the actor's
 * state and metrics with its request done. A timeout is delivered at once.
 */
export class PendingReply<Res> implements ReplyTo<Res>, Settleable {
  readonly promise: Promise<Res>;
  #settled = false;
  #held = false;
  #outcome: Outcome<Res> | undefined;
  #resolve!: (value: Res) => void;
  #reject!: (error: QallowError) => void;
  #timer: TimerHandle | undefined;
  readonly #onDelivered: (self: PendingReply<Res>) => void;
  #onTimeout: (() => void) | undefined;

  constructor(clock: Clock, timeoutMs: number, timeoutError: () => QallowError, onDelivered: (self: PendingReply<Res>) => void) {
    this.#onDelivered = onDelivered;
    this.promise = new Promise<Res>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#timer = clock.setTimer(timeoutMs, () => {
      if (this.#settled) return;
      this.#settled = true;
      this.#timer = undefined;
      this.#deliver({ ok: false, error: timeoutError() });
      this.#onTimeout?.();
    });
  }

  /** Called once if the ask times out (the runtime takes a request still queued back out of the mailbox). */
  onTimeout(f: () => void): void {
    this.#onTimeout = f;
  }

  get settled(): boolean {
    return this.#settled;
  }

  reply(value: Res): void {
    this.#answer({ ok: true, value });
  }

  fail(error: QallowError): void {
    this.#answer({ ok: false, error });
  }

  hold(): void {
    this.#held = true;
  }

  release(): void {
    this.#held = false;
    const o = this.#outcome;
    this.#outcome = undefined;
    if (o) this.#deliver(o);
  }

  #answer(o: Outcome<Res>): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    if (this.#held) this.#outcome = o;
    else this.#deliver(o);
  }

  #deliver(o: Outcome<Res>): void {
    this.#onDelivered(this);
    if (o.ok) this.#resolve(o.value);
    else this.#reject(o.error);
  }
}

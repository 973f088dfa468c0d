/**
 * What actor code sees: typed references, the spec of an actor and the
 * context its handler gets. nact stays behind these types (runtime/actors/nact.ts).
 *
 * Delivery contract (see runtime/actors/README.md for the whole story):
 * - Per sender and receiver, messages are handled in the order they were told.
 * - Mailboxes are bounded. `tell` THROWS `MAILBOX_FULL` (and `ACTOR_STOPPED`)
 *   so a full mailbox can never be ignored by accident; `tryTell` returns the
 *   same outcome as a value for senders that apply backpressure themselves,
 *   and `whenWritable()` resolves once there is room again.
 * - An `ask` that times out while still queued is taken back out of the
 *   mailbox (its place is freed; it is never handled).
 * - A self-driven actor's own loop (`ActorSpec.loop`) has a reserved slot.
 * - A crash drops the message that crashed (it is not redelivered: a poison
 *   message would crash every incarnation); messages queued behind it, and
 *   those told while the actor restarts, go to the new incarnation in order,
 *   none lost, none duplicated.
 */
import type { Logger } from 'pino';
import type { QallowError } from '../errors.js';
import type { ActorAddress } from './address.js';

/** Every message family is a discriminated union on `type`. */
export interface Message {
  readonly type: string;
}

declare const replyBrand: unique symbol;

/**
 * Where a handler sends the answer to an `ask`. Put it in the request message
 * (`{ type: 'get'; replyTo: ReplyTo<number> }`). The first `reply`/`fail`
 * wins; later ones, and those after the asker timed out, are ignored.
 */
export interface ReplyTo<Res> {
  reply(value: Res): void;
  fail(error: QallowError): void;
  /** True once answered, failed, timed out or the actor stopped. */
  readonly settled: boolean;
  /** Keeps `ReplyTo<A>` and `ReplyTo<B>` apart so a mismatched ask does not compile. */
  readonly [replyBrand]?: (value: Res) => Res;
}

export type TellResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: QallowError & { readonly code: 'MAILBOX_FULL' | 'ACTOR_STOPPED' } };

export interface ActorRef<Msg extends Message> {
  readonly address: ActorAddress;
  /** `qallow://node/path`, for logs and maps. */
  readonly id: string;
  /** Enqueue `msg`; throws `MAILBOX_FULL` when the mailbox is at capacity, `ACTOR_STOPPED` when stopped. */
  tell(msg: Msg): void;
  /** As `tell`, but the refusal is returned instead of thrown. */
  tryTell(msg: Msg): TellResult;
  /**
   * Request/response: `build` receives the reply channel and returns the
   * request. Rejects with `TIMEOUT` after `timeoutMs`, `ACTOR_STOPPED` if the
   * actor stops first, `MAILBOX_FULL` if it cannot be enqueued, or the error
   * the handler threw if handling this request crashed the actor.
   * Name the answer type: `ref.ask<number>((replyTo) => ({ type: 'get', replyTo }), 1000)`.
   */
  ask<Res>(build: (replyTo: ReplyTo<Res>) => Msg, timeoutMs: number): Promise<Res>;
  /** Resolves when the mailbox has room (at once if it has); rejects `ACTOR_STOPPED`. */
  whenWritable(): Promise<void>;
}

export interface ActorContext<Msg extends Message> {
  readonly self: ActorRef<Msg>;
  readonly address: ActorAddress;
  /** 0 for the first start, +1 per restart. */
  readonly incarnation: number;
  /** pino child with `{ component: 'actors', actor: id }`. */
  readonly log: Logger;
  /** The system clock's `now()`. */
  now(): number;
  /**
   * Tell this actor its `loop` message (ActorSpec.loop) through the reserved
   * slot: never refused for a full mailbox, at most one pending (a call while
   * one is pending is a no-op). Throws BAD_USAGE if the spec has no `loop`.
   */
  continueLoop(): void;
}

export interface RestartInfo<State> {
  readonly initialState: State;
  /** State after the last message the previous incarnation finished. */
  readonly lastState: State;
  /** The incarnation about to start (>= 1). */
  readonly incarnation: number;
  /** Why: the handler's error, or the escalation that restarted a whole subtree. */
  readonly reason: unknown;
}

export interface ActorSpec<Msg extends Message, State> {
  readonly name: string;
  /**
   * State of the first incarnation and, unless `supervision.onRestart` says
   * otherwise, of every restarted one. Handlers return a new state; one that
   * mutated this value in place would restart into the mutated value.
   */
  readonly initialState: State;
  handle(state: State, msg: Msg, ctx: ActorContext<Msg>): State | Promise<State>;
  readonly mailbox: { readonly capacity: number };
  /**
   * An actor that drives its own work (a run computing its next slice):
   * `message` is told to it through a reserved slot when each incarnation
   * starts and whenever its handler calls `ctx.continueLoop()`. The slot is
   * outside the mailbox capacity and holds at most one such message, so
   * outside traffic can never crowd the actor's own loop out of its mailbox,
   * and the loop takes at most one place ahead of outside traffic. Its
   * handler must re-read the state it acts on (the message carries no data).
   */
  readonly loop?: { readonly message: Msg };
  readonly supervision?: {
    /**
     * State of a restarted incarnation (e.g. a phase actor reloads its last
     * checkpoint). If it throws, the restart counts as failed: the supervisor
     * decides again, with the intensity and backoff that apply.
     */
    readonly onRestart?: (info: RestartInfo<State>) => State | Promise<State>;
  };
  /** Runs once when the actor stops for good (not on restart), with its last state. */
  readonly onStop?: (state: State, ctx: ActorContext<Msg>) => void | Promise<void>;
  /**
   * Decode-means-validate for messages arriving by address (`system.send`,
   * `system.ask`), e.g. from another host: return the typed message or throw
   * a typed error. For an ask, `replyTo` is the asker's reply channel: put it
   * in the message the raw request maps to (its answer must be plain data if
   * the asker is on another host). Without `decode` the actor accepts only
   * typed `tell`s and `ask`s.
   */
  readonly decode?: (raw: unknown, replyTo?: ReplyTo<unknown>) => Msg;
}

/**
 * Supervision contracts: the public `Supervisor`, its spec and status tree,
 * and the internal contract between a supervisor and what it supervises
 * (actor cells and child supervisors alike).
 */
import type { ActorAddress, ActorName } from '../runtime/actors/address.js';
import type { ActorRef, ActorSpec, Message } from '../runtime/actors/contract.js';
import type { ActorRunState } from '../runtime/actors/metrics.js';

/**
 * Which children restart when one fails (Erlang/OTP):
 * - `one-for-one`: only the failed child;
 * - `one-for-all`: every child;
 * - `rest-for-one`: the failed child and those started after it.
 */
export type Strategy = 'one-for-one' | 'one-for-all' | 'rest-for-one';
export const STRATEGIES: readonly Strategy[] = ['one-for-one', 'one-for-all', 'rest-for-one'];

/** At most `maxRestarts` restarts within any `periodMs`; one more escalates to the parent. */
export interface IntensitySpec {
  readonly maxRestarts: number;
  readonly periodMs: number;
}

/**
 * Delay before restart n (n = restarts in the current intensity window,
 * this one included): `min(maxMs, baseMs * 2^(n-1))`, times a factor drawn
 * uniformly from `[1 - jitter, 1 + jitter]`, capped at `maxMs`.
 */
export interface BackoffSpec {
  readonly baseMs: number;
  readonly maxMs: number;
  /** In [0, 1]. */
  readonly jitter: number;
}

/**
 * What a supervisor does when a child fails once more than its intensity allows:
 * - `escalate` (OTP's rule, the default): the supervisor gives up and fails to
 *   its parent; the intensity counts the restarts of all its children;
 * - `stop-child`: the intensity counts each child's restarts on its own; a
 *   child over it is stopped for good (a `child-given-up` event, the decision
 *   `stop` in status) and the supervisor and the other children carry on. For
 *   a group of independent children whose failures must stay theirs (the
 *   runs supervisor: a run that cannot start must not take its host down).
 *   It is OTP's `temporary` child after its restarts ran out; only
 *   `one-for-one` takes it (with siblings restarted together a child's own
 *   count would mean nothing).
 */
export type OnExhausted = 'escalate' | 'stop-child';
export const ON_EXHAUSTED: readonly OnExhausted[] = ['escalate', 'stop-child'];

export interface SupervisorOptions {
  readonly strategy?: Strategy;
  readonly intensity?: Partial<IntensitySpec>;
  readonly backoff?: Partial<BackoffSpec>;
  readonly onExhausted?: OnExhausted;
}

export interface SupervisorSpec extends SupervisorOptions {
  readonly name: string;
}

/**
 * - `running`: supervising;
 * - `suspended`: it escalated, or its parent is restarting it; children hold their messages;
 * - `stopped`: stopped by its parent or the system;
 * - `failed`: the root after an escalation reached it; every child is stopped.
 */
export type SupervisorState = 'running' | 'suspended' | 'stopped' | 'failed';

/** One restart decision, as logged and as shown in `status()`. */
export interface RestartDecision {
  /** `stop`: the child's restarts ran out under `onExhausted: 'stop-child'`; it is stopped for good. */
  readonly action: 'restart' | 'escalate' | 'stop';
  /** Clock time of the decision, ms. */
  readonly at: number;
  /** Name of the child that failed. */
  readonly child: string;
  readonly strategy: Strategy;
  /** Names restarted, in start order (empty when escalating). */
  readonly restarting: readonly string[];
  /** Restarts in the intensity window, this one included (escalation: the one refused). */
  readonly attempt: number;
  readonly maxRestarts: number;
  readonly periodMs: number;
  readonly delayMs: number;
  readonly reason: string;
}

export interface ActorStatus {
  readonly kind: 'actor';
  readonly name: string;
  readonly id: string;
  readonly state: ActorRunState;
  readonly incarnation: number;
  readonly restarts: number;
  readonly mailboxDepth: number;
  readonly lastError: string | null;
}

export interface SupervisorStatus {
  readonly kind: 'supervisor';
  readonly name: string;
  readonly id: string;
  readonly strategy: Strategy;
  readonly onExhausted: OnExhausted;
  readonly state: SupervisorState;
  readonly incarnation: number;
  /** Times this supervisor itself was restarted by its parent. */
  readonly restarts: number;
  readonly restartsInWindow: number;
  readonly intensity: IntensitySpec;
  readonly backoff: BackoffSpec;
  readonly lastDecision: RestartDecision | null;
  /** In start order. */
  readonly children: readonly ChildStatus[];
}

export type ChildStatus = ActorStatus | SupervisorStatus;

export interface Supervisor {
  readonly name: ActorName;
  /** `qallow://node/path`; the root's is `qallow://node`. */
  readonly id: string;
  /** Undefined for the root. */
  readonly address: ActorAddress | undefined;
  /** Start an actor as the last child. Throws `BAD_PARAMETER` for a bad spec, `ACTOR_STOPPED` if not running. */
  spawn<Msg extends Message, State>(spec: ActorSpec<Msg, State>): ActorRef<Msg>;
  /** Start a child supervisor as the last child. */
  supervisor(spec: SupervisorSpec): Supervisor;
  /** Stop a child for good (it is not restarted; its ref counts dead letters). Throws `ACTOR_NOT_FOUND`. */
  stopChild(name: string): Promise<void>;
  status(): SupervisorStatus;
}

/** What a supervisor needs of each child. */
export interface SupervisedChild {
  readonly kind: 'actor' | 'supervisor';
  readonly name: ActorName;
  readonly id: string;
  /** Changes on every restart; failure reports carry it so stale ones are recognised. */
  readonly incarnation: number;
  readonly stopped: boolean;
  /** Stop taking messages (they queue) until `restart` or `stop`. Idempotent. */
  suspend(): void;
  /** Fresh incarnation; rejects if it cannot start (the child stays suspended). */
  restart(reason: unknown): Promise<void>;
  /** Stop for good; resolves once stopped. Idempotent. */
  stop(): Promise<void>;
  status(): ChildStatus;
}

/** What a child needs of its supervisor. */
export interface SupervisorParent {
  /** `child` failed while at `incarnation`; the supervisor decides (asynchronously, in order). */
  childFailed(child: SupervisedChild, error: unknown, incarnation: number): void;
}

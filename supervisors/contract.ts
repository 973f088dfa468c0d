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

export interface SupervisorOptions {
  readonly strategy?: Strategy;
  readonly intensity?: Partial<IntensitySpec>;
  readonly backoff?: Partial<BackoffSpec>;
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
  readonly action: 'restart' | 'escalate';
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

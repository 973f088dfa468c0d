/**
 * What one actor system shares with its cells and supervisors: the
 * components it was built with and its address registry. Internal to the
 * runtime; actor code never sees it.
 */
import type { Logger } from 'pino';
import type { NodeId } from './address.js';
import type { Clock } from './clock.js';
import type { ActorEvent, EventHub } from './events.js';
import type { ActorMetrics } from './metrics.js';

/** An actor as the registry knows it: reachable by address with an untyped message. */
export interface RoutableActor {
  readonly id: string;
  /** Decode `raw` with the actor's own decoder and tell it; throws what `tell` or the decoder throws. */
  deliver(raw: unknown): void;
  /** Decode `raw` with a reply channel and ask it; rejects as `ActorRef.ask` does, or with the decoder's error. */
  deliverAsk(raw: unknown, timeoutMs: number): Promise<unknown>;
  /** Resolves when the mailbox has room; rejects ACTOR_STOPPED. */
  whenWritable(): Promise<void>;
  metrics(): ActorMetrics;
}

export interface ActorRuntime {
  readonly node: NodeId;
  readonly clock: Clock;
  /** Uniform in [0, 1); restart jitter. */
  readonly random: () => number;
  /** `logger.child({ component: 'actors' })` */
  readonly actorLog: Logger;
  /** `logger.child({ component: 'supervisor' })` */
  readonly supervisorLog: Logger;
  readonly events: EventHub<ActorEvent>;
  /** Every actor spawned on this system, by id (`qallow://node/path`); stopped ones stay until replaced. */
  readonly registry: Map<string, RoutableActor>;
}

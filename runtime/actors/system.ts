/**
 * The actor system of one host: a nact system underneath, the root
 * supervisor on top, one lifecycle (`start`/`stop`). Built by
 * `createActorSystem(init, components)`; nothing starts until `start()`.
 */
import type { Logger } from 'pino';
import { QallowError } from '../errors.js';
import { actorName, formatAddress, nodeId, parseAddress, type ActorAddress, type NodeId } from './address.js';
import { systemClock, type Clock } from './clock.js';
import { EventHub, type ActorEvent, type EventSource } from './events.js';
import type { SystemMetrics } from './metrics.js';
import { startNact, type NactSystem } from './nact.js';
import type { ActorRuntime, RoutableActor } from './runtime.js';
import type { Supervisor, SupervisorOptions, SupervisorStatus } from '../../supervisors/contract.js';
import { resolveSupervisorOptions, type ResolvedSupervisorOptions } from '../../supervisors/options.js';
import { SupervisorImpl } from '../../supervisors/supervisor.js';

export interface ActorSystemInit {
  /** This host's node id (validated: `nodeId()` rules). */
  readonly nodeId: string;
  /** Strategy, intensity and backoff of the root supervisor (defaults: supervisors/options.ts). */
  readonly root?: SupervisorOptions;
}

export interface ActorSystemComponents {
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Uniform in [0, 1); restart jitter. Default `Math.random`. */
  readonly random?: () => number;
  /**
   * An escalation reached the root: the tree has been stopped. The host logs
   * and exits non-zero. Without it the failure is only logged (fatal).
   */
  readonly onRootEscalation?: (error: QallowError) => void;
}

export interface ActorSystem {
  readonly nodeId: NodeId;
  readonly events: EventSource<ActorEvent>;
  readonly running: boolean;
  /** The root supervisor; throws `ACTOR_STOPPED` unless started. */
  readonly root: Supervisor;
  start(): Promise<void>;
  /** Stops every actor (reverse start order, their `onStop` awaited), then nact. Idempotent. */
  stop(): Promise<void>;
  /** A snapshot, one entry per actor ever spawned and not replaced. */
  metrics(): SystemMetrics;
  status(): SupervisorStatus;
  /**
   * Deliver an untyped message by address (e.g. one decoded from the
   * network) through the actor's `decode`. Throws `ACTOR_NOT_FOUND` (counted
   * as unroutable) for an address this node does not have.
   */
  send(address: ActorAddress | string, raw: unknown): void;
}

class NactActorSystem implements ActorSystem {
  readonly nodeId: NodeId;
  readonly #events = new EventHub<ActorEvent>();
  readonly #components: ActorSystemComponents;
  readonly #rootOptions: ResolvedSupervisorOptions;
  readonly #registry = new Map<string, RoutableActor>();
  #nact: NactSystem | undefined;
  #root: SupervisorImpl | undefined;
  #unroutable = 0;
  #stopping: Promise<void> | undefined;

  constructor(init: ActorSystemInit, components: ActorSystemComponents) {
    this.nodeId = nodeId(init.nodeId, 'nodeId');
    this.#rootOptions = resolveSupervisorOptions('root supervisor', init.root ?? {});
    this.#components = components;
  }

  get events(): EventSource<ActorEvent> {
    return this.#events;
  }

  get running(): boolean {
    return this.#root !== undefined && this.#stopping === undefined;
  }

  get root(): Supervisor {
    if (!this.#root || this.#stopping) {
      throw new QallowError('ACTOR_STOPPED', `actor system ${this.nodeId} is not running; start() it first`, { node: this.nodeId });
    }
    return this.#root;
  }

  async start(): Promise<void> {
    if (this.#root) return;
    const logger = this.#components.logger;
    const runtime: ActorRuntime = {
      node: this.nodeId,
      clock: this.#components.clock ?? systemClock,
      random: this.#components.random ?? Math.random,
      actorLog: logger.child({ component: 'actors' }),
      supervisorLog: logger.child({ component: 'supervisor' }),
      events: this.#events,
      registry: this.#registry,
    };
    this.#nact = startNact(this.nodeId, runtime.actorLog);
    const onRootEscalation = this.#components.onRootEscalation;
    this.#root = new SupervisorImpl(actorName('root'), undefined, this.#rootOptions, {
      runtime,
      nact: this.#nact,
      ...(onRootEscalation ? { onRootEscalation } : {}),
    });
    runtime.actorLog.info({ node: this.nodeId, root: this.#rootOptions }, 'actor system started');
  }

  stop(): Promise<void> {
    if (!this.#stopping) this.#stopping = this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    await this.#root?.stop();
    this.#nact?.stop();
  }

  metrics(): SystemMetrics {
    return {
      node: this.nodeId,
      actors: [...this.#registry.values()].map((a) => a.metrics()),
      unroutable: this.#unroutable,
    };
  }

  status(): SupervisorStatus {
    if (!this.#root) return this.root.status();
    return this.#root.status();
  }

  send(address: ActorAddress | string, raw: unknown): void {
    const parsed = typeof address === 'string' ? parseAddress(address) : address;
    const id = formatAddress(parsed);
    const actor = parsed.node === this.nodeId ? this.#registry.get(id) : undefined;
    if (!actor) {
      this.#unroutable++;
      const type = typeof raw === 'object' && raw !== null && typeof (raw as { type?: unknown }).type === 'string' ? (raw as { type: string }).type : 'unknown';
      this.#events.emit({ type: 'dead-letter', actor: id, messageType: type, reason: 'unknown' });
      throw new QallowError('ACTOR_NOT_FOUND', `no actor ${id} on node ${this.nodeId}; the message was dropped (counted as unroutable)`, {
        actor: id,
        node: this.nodeId,
      });
    }
    actor.deliver(raw);
  }
}

export function createActorSystem(init: ActorSystemInit, components: ActorSystemComponents): ActorSystem {
  return new NactActorSystem(init, components);
}

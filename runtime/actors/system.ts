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
  /**
   * Request/response by address: the actor's `decode` gets the raw request
   * and a reply channel. Rejects `ACTOR_NOT_FOUND`, `TIMEOUT`,
   * `MAILBOX_FULL`, `ACTOR_STOPPED`, or the decoder's / handler's error.
   */
  ask(address: ActorAddress | string, raw: unknown, timeoutMs: number): Promise<unknown>;
  /**
   * Route addresses on other nodes through `remote` (the cluster router):
   * from then on `send` and `ask` take any `qallow://NODE/ACTOR`, local or
   * not, with the same call (location transparency, SPEC §6).
   */
  setRemote(remote: RemoteDelivery | undefined): void;
  /** Resolves when the local actor at `address` has mailbox room; rejects ACTOR_NOT_FOUND, ACTOR_STOPPED. */
  whenWritable(address: ActorAddress | string): Promise<void>;
}

/** How messages for actors on other nodes leave this one (runtime/cluster/router.ts). */
export interface RemoteDelivery {
  /** One-way; throws PEER_DOWN, PEER_UNKNOWN, BACKPRESSURE, BAD_PARAMETER at once. */
  tell(address: ActorAddress, raw: unknown): void;
  /** Rejects PEER_DOWN, PEER_UNKNOWN, TIMEOUT, ACTOR_NOT_FOUND (remote), or the remote actor's error. */
  ask(address: ActorAddress, raw: unknown, timeoutMs: number): Promise<unknown>;
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
  #remote: RemoteDelivery | undefined;

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

  setRemote(remote: RemoteDelivery | undefined): void {
    this.#remote = remote;
  }

  send(address: ActorAddress | string, raw: unknown): void {
    const parsed = typeof address === 'string' ? parseAddress(address) : address;
    if (parsed.node !== this.nodeId && this.#remote) {
      this.#remote.tell(parsed, raw);
      return;
    }
    this.#local(parsed, raw).deliver(raw);
  }

  ask(address: ActorAddress | string, raw: unknown, timeoutMs: number): Promise<unknown> {
    let parsed: ActorAddress;
    let actor: RoutableActor;
    try {
      parsed = typeof address === 'string' ? parseAddress(address) : address;
      if (parsed.node !== this.nodeId && this.#remote) return this.#remote.ask(parsed, raw, timeoutMs);
      actor = this.#local(parsed, raw);
    } catch (e) {
      return Promise.reject(e);
    }
    return actor.deliverAsk(raw, timeoutMs);
  }

  whenWritable(address: ActorAddress | string): Promise<void> {
    try {
      const parsed = typeof address === 'string' ? parseAddress(address) : address;
      return this.#local(parsed, { type: 'whenWritable' }).whenWritable();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #local(parsed: ActorAddress, raw: unknown): RoutableActor {
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
    return actor;
  }
}

export function createActorSystem(init: ActorSystemInit, components: ActorSystemComponents): ActorSystem {
  return new NactActorSystem(init, components);
}

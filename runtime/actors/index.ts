/** The actor runtime's public surface (actor code imports from here). */
export * from './address.js';
export type { ActorContext, ActorRef, ActorSpec, Message, ReplyTo, RestartInfo, TellResult } from './contract.js';
export { ManualClock, sleep, systemClock, type Clock, type TimerHandle } from './clock.js';
export { isEvent, type ActorEvent, type ActorEventOf, type ActorEventType, type EventSource } from './events.js';
export { LATENCY_WINDOW, type ActorMetrics, type ActorRunState, type SystemMetrics } from './metrics.js';
export { MAX_MAILBOX_CAPACITY } from './spec.js';
export { spawn, spawnSupervisor } from './spawn.js';
export { createActorSystem, type ActorSystem, type ActorSystemComponents, type ActorSystemInit, type RemoteDelivery } from './system.js';

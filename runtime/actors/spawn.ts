/**
 * Free-function spelling of the supervisor methods, so a phase actor reads
 * `spawn(runs, { ... })` as in nact.
 */
import type { ActorRef, ActorSpec, Message } from './contract.js';
import type { Supervisor, SupervisorSpec } from '../../supervisors/contract.js';

/** Start an actor as the last child of `parent`; its supervision follows `parent`'s strategy. */
export function spawn<Msg extends Message, State>(parent: Supervisor, spec: ActorSpec<Msg, State>): ActorRef<Msg> {
  return parent.spawn(spec);
}

/** Start a supervisor as the last child of `parent`. */
export function spawnSupervisor(parent: Supervisor, spec: SupervisorSpec): Supervisor {
  return parent.supervisor(spec);
}

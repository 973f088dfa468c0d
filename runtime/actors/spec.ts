/**
 * Validation of an actor spec where it enters the runtime (spawn): a bad
 * spec fails at once with the field named, not on the first message.
 */
import { QallowError } from '../errors.js';
import { actorName, type ActorName } from './address.js';
import type { ActorSpec, Message } from './contract.js';

/** Above this a mailbox is not bounded in any useful sense. */
export const MAX_MAILBOX_CAPACITY = 1_000_000;

export function validateActorSpec<Msg extends Message, State>(parentId: string, spec: ActorSpec<Msg, State>): ActorName {
  const name = actorName(String(spec.name), `actor name under ${parentId}`);
  const capacity = spec.mailbox?.capacity;
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_MAILBOX_CAPACITY) {
    throw new QallowError(
      'BAD_PARAMETER',
      `actor "${name}": mailbox.capacity must be an integer from 1 to ${MAX_MAILBOX_CAPACITY} (got ${String(capacity)})`,
      { field: 'mailbox.capacity', value: String(capacity), actor: name },
    );
  }
  if (typeof spec.handle !== 'function') {
    throw new QallowError('BAD_PARAMETER', `actor "${name}": handle must be a function`, { field: 'handle', actor: name });
  }
  return name;
}

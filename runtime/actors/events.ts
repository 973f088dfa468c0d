/**
 * What the actor system and its supervisors report as it happens: a
 * discriminated union, delivered synchronously to subscribers. Tests (and the
 * telemetry actor) await these instead of sleeping: subscribe with `waitFor`
 * first, then cause the event.
 */
import { QallowError } from '../errors.js';

/** Names are formatted addresses (`qallow://node/a/b`); supervisors use their path or `root`. */
export type ActorEvent =
  | { readonly type: 'actor-started'; readonly actor: string; readonly incarnation: number }
  | {
      readonly type: 'actor-crashed';
      readonly actor: string;
      readonly incarnation: number;
      readonly messageType: string | null;
      readonly error: string;
      /** A crash of an incarnation that a restart had already replaced; no new decision follows. */
      readonly stale: boolean;
    }
  | { readonly type: 'actor-restarted'; readonly actor: string; readonly incarnation: number }
  | { readonly type: 'actor-stopped'; readonly actor: string }
  | { readonly type: 'dead-letter'; readonly actor: string; readonly messageType: string; readonly reason: 'stopped' | 'unknown' }
  | {
      readonly type: 'restart-scheduled';
      readonly supervisor: string;
      readonly child: string;
      readonly restarting: readonly string[];
      readonly attempt: number;
      readonly delayMs: number;
    }
  | { readonly type: 'supervisor-restarted'; readonly supervisor: string; readonly incarnation: number }
  | { readonly type: 'escalated'; readonly supervisor: string; readonly child: string; readonly error: string }
  /** Under `onExhausted: 'stop-child'`: the child failed beyond its restart intensity and is stopped for good. */
  | { readonly type: 'child-given-up'; readonly supervisor: string; readonly child: string; readonly error: string }
  | { readonly type: 'root-escalation'; readonly error: QallowError };

export type ActorEventType = ActorEvent['type'];
export type ActorEventOf<T extends ActorEventType> = Extract<ActorEvent, { type: T }>;

export type Listener<E> = (event: E) => void;

export interface EventSource<E> {
  /** Subscribe; returns the unsubscribe function. */
  on(listener: Listener<E>): () => void;
  /**
   * The first event from now on that satisfies `match`. Rejects with
   * `TIMEOUT` after `timeoutMs` of real time: a guard so a broken test fails
   * instead of hanging, not a way to wait for time to pass.
   */
  waitFor<T extends E>(match: (event: E) => event is T, timeoutMs?: number): Promise<T>;
  waitFor(match: (event: E) => boolean, timeoutMs?: number): Promise<E>;
}

export class EventHub<E> implements EventSource<E> {
  readonly #listeners = new Set<Listener<E>>();

  get listening(): boolean {
    return this.#listeners.size > 0;
  }

  on(listener: Listener<E>): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  emit(event: E): void {
    for (const l of [...this.#listeners]) {
      try {
        l(event);
      } catch {
        // A listener's failure is its own; it must not break the runtime that reports.
      }
    }
  }

  waitFor<T extends E>(match: (event: E) => event is T, timeoutMs?: number): Promise<T>;
  waitFor(match: (event: E) => boolean, timeoutMs?: number): Promise<E>;
  waitFor(match: (event: E) => boolean, timeoutMs = 10_000): Promise<E> {
    return new Promise<E>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new QallowError('TIMEOUT', `no matching actor event within ${timeoutMs} ms`, { timeoutMs }));
      }, timeoutMs);
      const off = this.on((e) => {
        if (!match(e)) return;
        clearTimeout(timer);
        off();
        resolve(e);
      });
    });
  }
}

/** Type guard for `waitFor`: `isEvent('actor-restarted', e => e.actor === a)`. */
export function isEvent<T extends ActorEventType>(
  type: T,
  where: (event: ActorEventOf<T>) => boolean = () => true,
): (event: ActorEvent) => event is ActorEventOf<T> {
  return (event: ActorEvent): event is ActorEventOf<T> => event.type === type && where(event as ActorEventOf<T>);
}

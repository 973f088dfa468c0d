/**
 * The supervision tests' actor: records what it was told; `crash` throws;
 * `wait` holds the handler until a gate opens. Shared by the supervision suites.
 */
import { spawn, type ActorRef, type ReplyTo, type RestartInfo } from '../../runtime/actors/index.js';
import type { Supervisor } from '../../supervisors/index.js';

export interface State {
  readonly seen: readonly number[];
}

export type Msg =
  | { readonly type: 'add'; readonly n: number }
  | { readonly type: 'get'; readonly replyTo: ReplyTo<State> }
  | { readonly type: 'crash' }
  | { readonly type: 'wait'; readonly until: Promise<void>; readonly started: () => void; readonly then: number };

export interface Probe {
  readonly ref: ActorRef<Msg>;
  /** How many times a `crash` message reached a handler (a redelivery would show here). */
  crashes: number;
}

export function actor(parent: Supervisor, name: string, extra: { onRestart?: (info: RestartInfo<State>) => State | Promise<State> } = {}): Probe {
  const probe = { crashes: 0 } as { ref: ActorRef<Msg>; crashes: number };
  probe.ref = spawn<Msg, State>(parent, {
    name,
    initialState: { seen: [] },
    mailbox: { capacity: 1000 },
    ...(extra.onRestart ? { supervision: { onRestart: extra.onRestart } } : {}),
    handle: async (s, m) => {
      switch (m.type) {
        case 'add':
          return { seen: [...s.seen, m.n] };
        case 'get':
          m.replyTo.reply(s);
          return s;
        case 'crash':
          probe.crashes++;
          throw new Error(`${name} crashed on purpose`);
        case 'wait':
          m.started();
          await m.until;
          return { seen: [...s.seen, m.then] };
      }
    },
  });
  return probe;
}

export const get = (ref: ActorRef<Msg>): Promise<State> => ref.ask<State>((replyTo) => ({ type: 'get', replyTo }), 60_000);

export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

export const NO_BACKOFF = { baseMs: 0, maxMs: 0, jitter: 0 };

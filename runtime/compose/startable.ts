/**
 * The one lifecycle contract (js-libp2p `interface/src/startable.ts`): every
 * long-lived part of a host (store, pool, actor system, cluster, governance,
 * admin endpoint, metrics server) is started and stopped through it, by one
 * ordered list (lifecycle.ts). A part that listens somewhere reports where
 * through a getter of its own, never through `start()`'s result.
 */
export interface Startable {
  start(): Promise<void>;
  /** Releases what `start()` took; called once, and only after `start()` resolved. */
  stop(): Promise<void>;
}

/** A part in a host's ordered list: its name says what a stop is waiting for. */
export interface Part extends Startable {
  readonly name: string;
}

/** A part from two functions (either may be left out: a part that only starts, or only stops). */
export function part(name: string, start?: () => unknown, stop?: () => unknown): Part {
  return {
    name,
    start: async () => {
      await start?.();
    },
    stop: async () => {
      await stop?.();
    },
  };
}

/**
 * One ordered list of parts: started in order, stopped in reverse. A start
 * that fails stops, in reverse, what it had started, then rethrows the
 * failure, so nothing is left open by a host that could not start. A stop
 * stops every part even if one fails, and rethrows the first failure after.
 */
import type { Part } from './startable.js';

export interface LifecycleComponents {
  /** Told before each part's stop (a host's "what is the stop waiting for"). */
  readonly onStopping?: ((part: string) => void) | undefined;
  /** Told of a part whose stop failed (the others are stopped anyway). */
  readonly onStopError?: ((part: string, err: unknown) => void) | undefined;
}

export class Lifecycle {
  /** Started parts, in start order. */
  readonly #started: Part[] = [];
  #stopping: Promise<void> | undefined;

  constructor(
    private readonly parts: readonly Part[],
    private readonly c: LifecycleComponents = {},
  ) {}

  /** Names of the parts started now, in start order. */
  get started(): string[] {
    return this.#started.map((p) => p.name);
  }

  async start(): Promise<void> {
    for (const p of this.parts) {
      try {
        await p.start();
      } catch (e) {
        // Unwind: what was started is stopped in reverse; the start failure is what the caller sees.
        await this.stop().catch(() => undefined);
        throw e;
      }
      this.#started.push(p);
    }
  }

  /** Stops the started parts in reverse; a second call waits for the first. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopAll().finally(() => (this.#stopping = undefined));
    return this.#stopping;
  }

  async #stopAll(): Promise<void> {
    let first: { err: unknown } | undefined;
    for (let p = this.#started.pop(); p; p = this.#started.pop()) {
      this.c.onStopping?.(p.name);
      try {
        await p.stop();
      } catch (e) {
        first ??= { err: e };
        this.c.onStopError?.(p.name, e);
      }
    }
    if (first) throw first.err;
  }
}

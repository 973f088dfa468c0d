/**
 * Time as a dependency. The actor system reads the time and sets timers only
 * through a `Clock` (restart backoff, ask timeouts, processing times), so a
 * test hands in a `ManualClock` and moves time itself instead of waiting.
 */
import { performance } from 'node:perf_hooks';

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on a monotonic scale; only differences mean anything. */
  now(): number;
  /** Run `fn` once, `delayMs` from now. */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(delayMs, fn) {
    const t = setTimeout(fn, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(t) };
  },
};

/** Resolves after `delayMs` on `clock`; at once (no timer) when `delayMs <= 0`. */
export function sleep(clock: Clock, delayMs: number): Promise<void> {
  if (delayMs <= 0) return Promise.resolve();
  return new Promise((resolve) => clock.setTimer(delayMs, resolve));
}

interface ManualTimer {
  readonly due: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told to. `advance(ms)` fires every timer due
 * by then, earliest first (ties in the order they were set), with `now()`
 * reading each timer's due time while it runs.
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timer: ManualTimer = { due: this.#now + Math.max(0, delayMs), seq: this.#seq++, fn, cancelled: false };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Timers set and neither fired nor cancelled. */
  pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Delays from now of the pending timers, soonest first. */
  pendingDelays(): number[] {
    return this.#timers
      .filter((t) => !t.cancelled)
      .map((t) => t.due - this.#now)
      .sort((a, b) => a - b);
  }

  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      const live = this.#timers.filter((t) => !t.cancelled && t.due <= target);
      if (live.length === 0) break;
      live.sort((a, b) => a.due - b.due || a.seq - b.seq);
      const next = live[0]!;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = next.due;
      next.fn();
    }
    this.#timers = this.#timers.filter((t) => !t.cancelled);
    this.#now = target;
  }
}

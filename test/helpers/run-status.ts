/**
 * Statuses as a phase actor (or a host's run) reports them, and a way to
 * await one: the timeout lives here, as a guard, never as a wait.
 */
import type { RunStatus } from '../../actors/phase.js';

export interface StatusLog {
  readonly seen: RunStatus[];
  onStatus(s: RunStatus): void;
  waitFor(pred: (s: RunStatus) => boolean, what: string, timeoutMs?: number): Promise<RunStatus>;
}

export function statusLog(): StatusLog {
  const seen: RunStatus[] = [];
  const waiters = new Set<() => void>();
  return {
    seen,
    onStatus(s) {
      seen.push(s);
      for (const w of [...waiters]) w();
    },
    waitFor(pred, what, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = seen.find(pred);
          if (!hit) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(hit);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what}; last status ${JSON.stringify(seen.at(-1))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

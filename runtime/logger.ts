/**
 * One pino logger per host; every component logs through
 * `logger.child({ component })`. Field names are stable: `component`, `run`,
 * `epoch`, `tick`, `actor`, `code` (a QallowError code), `err`.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

export interface LoggerInit {
  readonly nodeId: string;
  readonly level?: string | undefined;
  /** Where lines go; defaults to stdout. Tests pass an in-memory sink. */
  readonly destination?: DestinationStream | undefined;
}

export function createLogger(init: LoggerInit): Logger {
  return pino(
    {
      level: init.level ?? 'info',
      base: { node: init.nodeId },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    init.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

export type LogRecord = Record<string, unknown>;

/** An in-memory sink for tests: every line, parsed, and a way to await one. */
export function memorySink(): { stream: DestinationStream; lines: LogRecord[]; waitFor(pred: (l: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord> } {
  const lines: LogRecord[] = [];
  const waiters = new Set<() => void>();
  return {
    lines,
    stream: {
      write(s: string): void {
        for (const l of s.split('\n')) if (l) lines.push(JSON.parse(l) as LogRecord);
        for (const w of [...waiters]) w();
      },
    },
    waitFor(pred, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = lines.find(pred);
          if (!hit) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching log line within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

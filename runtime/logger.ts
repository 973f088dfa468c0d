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

/** An in-memory sink for tests: every line, parsed. */
export function memorySink(): { stream: DestinationStream; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return {
    lines,
    stream: {
      write(s: string): void {
        for (const l of s.split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      },
    },
  };
}

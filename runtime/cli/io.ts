import type { ComputePool } from '../../kernels/pool.js';

/**
 * What a command needs from the outside world, handed in so tests can run
 * commands in-process and read what they printed.
 */
export interface CliIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** A running compute pool to use instead of starting one per command (tests, embedding). */
  readonly pool?: ComputePool | undefined;
}

export const processIO: CliIO = { stdout: process.stdout, stderr: process.stderr };

export function writeLine(stream: NodeJS.WritableStream, line: string): void {
  stream.write(line.endsWith('\n') ? line : line + '\n');
}

/** Exit codes of every command (SPEC §2). */
export const EXIT = { ok: 0, failed: 1, usage: 2, /** 128 + SIGINT: stopped by Ctrl-C */ interrupted: 130 } as const;

/**
 * A host as a real child process (`qallow start --config`), with its pino
 * lines parsed as they arrive so a test can await the line it needs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { childEnv, track } from './children.js';

const CLI = fileURLToPath(new URL('../../bin/qallow.js', import.meta.url));

export type LogLine = Record<string, unknown> & { msg?: string };

export interface HostProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  /** Resolves with the first line (already seen or future) matching; rejects on exit or timeout. */
  waitFor(pred: (l: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function writeConfig(dir: string, config: Record<string, unknown>): Promise<string> {
  const path = join(dir, 'config.json');
  await writeFile(path, JSON.stringify(config, null, 2));
  return path;
}

/** `wrap` is an argv prefix the host runs under (e.g. `ip netns exec NS`). */
export function startHost(configPath: string, extra: string[] = [], wrap: readonly string[] = []): HostProcess {
  const argv = [...wrap, process.execPath, CLI, 'start', '--config', configPath, ...extra];
  const child = track(spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() }));
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      lines.push(JSON.parse(l) as LogLine);
    } catch {
      lines.push({ msg: l });
    }
    for (const w of [...waiters]) w();
  });
  let done = false;
  const exited = once(child, 'exit').then(([code, signal]) => {
    // Set before the waiters run, so they see the exit (and reject) now rather than at their timeout.
    done = true;
    for (const w of [...waiters]) w();
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  return {
    child,
    lines,
    exited,
    waitFor(pred, what, timeoutMs = 60_000) {
      return new Promise<LogLine>((resolve, reject) => {
        const check = (): void => {
          const hit = lines.find(pred);
          if (hit) {
            cleanup();
            resolve(hit);
          } else if (done) {
            cleanup();
            reject(new Error(`host exited before ${what}; stderr: ${stderr.slice(-2000)}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last lines: ${JSON.stringify(lines.slice(-3))}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

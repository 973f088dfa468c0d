/**
 * Helpers for tests that drive the real `qallow` executable: spawn the
 * compiled CLI in its own process and await its exit (events, never sleeps),
 * and per-test temp dirs that are removed in teardown.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { childEnv, track } from './children.js';

/** This file compiles to dist/test/helpers/cli.js; the CLI is dist/bin/qallow.js. */
export const CLI_PATH: string = fileURLToPath(new URL('../../bin/qallow.js', import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunCliOptions {
  readonly cwd?: string | undefined;
}

/**
 * Run `qallow ...args` in a child process with no stdin. Resolves once the
 * process has exited and its output streams have closed. A process killed by
 * a signal reports code -1 so a test comparing codes fails rather than passes.
 */
export async function runCli(args: string[], opts: RunCliOptions = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv({ NO_COLOR: '1' }),
  });
  track(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  // 'close' fires after exit and after stdout/stderr have ended; once() rejects on 'error' (spawn failure).
  const [code] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return {
    code: code ?? -1,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
  };
}

/** A fresh directory under the OS temp dir, removed when the test ends. */
export async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qallow-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

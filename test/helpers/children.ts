/**
 * Child processes a test started are SIGKILLed when the test process exits,
 * however it exits: a test that times out is torn down by ava killing its
 * worker, without running the test's own teardown, and its hosts and CLI
 * processes would otherwise live on (seen: a host and a `run --follow`
 * left running for minutes after a timed-out test).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<ChildProcess>();
let hooked = false;

export function track<C extends ChildProcess>(child: C): C {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  return child;
}

let childTmp: string | undefined;

/**
 * The environment for a child a test spawns: its TMPDIR is a directory of
 * this test process's own, removed when the process exits, so what hosts
 * keep in the temp dir (the node-key locks of runtime/instance-lock.ts, left
 * behind by hosts killed with -9) does not pile up in the machine's /tmp.
 * Every child of one test process shares it, so two hosts started with one
 * key still see each other's lock.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  if (!childTmp) {
    const dir = mkdtempSync(join(tmpdir(), 'qallow-children-'));
    childTmp = dir;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });
  }
  return { ...process.env, TMPDIR: childTmp, ...extra };
}

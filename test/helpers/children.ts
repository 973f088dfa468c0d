/**
 * Child processes a test started are SIGKILLed when the test process exits,
 * however it exits: a test that times out is torn down by ava killing its
 * worker, without running the test's own teardown, and its hosts and CLI
 * processes would otherwise live on (seen: a host and a `run --follow`
 * left running for minutes after a timed-out test).
 */
import type { ChildProcess } from 'node:child_process';

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

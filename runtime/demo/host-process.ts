/**
 * One host of the demo as a child process: `qallow start --config FILE`,
 * its stdout and stderr appended to the host's log file, in its own process
 * group (detached) so a Ctrl-C in the terminal reaches only the demo, which
 * then stops the hosts in order. A restart is a new HostProcess on the same
 * config and log; its tail starts where the previous process's lines end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { open, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { LogTail } from './log-tail.js';
import type { HostLayout } from './layout.js';

const CLI = fileURLToPath(new URL('../../bin/qallow.js', import.meta.url));

export interface HostExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class HostProcess {
  readonly tail: LogTail;
  readonly exited: Promise<HostExit>;
  private exit: HostExit | undefined;

  private constructor(
    readonly host: HostLayout,
    readonly child: ChildProcess,
    logOffset: number,
  ) {
    this.tail = new LogTail({ path: host.log, offset: logOffset, intervalMs: 100 });
    this.exited = once(child, 'exit').then(([code, signal]) => {
      this.exit = { code: code as number | null, signal: signal as NodeJS.Signals | null };
      return this.exit;
    });
  }

  static async spawn(host: HostLayout): Promise<HostProcess> {
    const offset = await stat(host.log).then((s) => s.size, () => 0);
    const log = await open(host.log, 'a');
    try {
      const child = spawn(process.execPath, [CLI, 'start', '--config', host.config], { detached: true, stdio: ['ignore', log.fd, log.fd] });
      await once(child, 'spawn');
      const p = new HostProcess(host, child, offset);
      await p.tail.start();
      void p.exited.then(() => p.tail.stop(`${host.id} exited`));
      return p;
    } finally {
      // The child holds its own copy of the descriptor.
      await log.close();
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  get exitStatus(): HostExit | undefined {
    return this.exit;
  }

  /** Graceful: the host drains its runs (the epoch in flight is checkpointed) and closes. */
  terminate(): void {
    if (this.running) this.child.kill('SIGTERM');
  }

  /** A crash, as `kill -9` makes one. */
  async kill(): Promise<HostExit> {
    if (this.running) this.child.kill('SIGKILL');
    return this.exited;
  }

  /** Let the demo exit while this host goes on (`--keep`). */
  detach(): void {
    this.child.unref();
  }
}

/**
 * The demo's hosts as one unit: start them (each a child process, see
 * host-process.ts) and wait until every host sees every other `up`; send
 * them signed admin commands in-process (the same client and signing as the
 * CLI); kill one and start it again; stop them all gracefully (SIGTERM: each
 * drains its runs, checkpoints and closes) or leave them running (`--keep`).
 */
import type { AdminCommand } from '../admin/command.js';
import { sendAdminCommand } from '../admin/client.js';
import type { AdminReplies } from '../admin/replies.js';
import { resolveTarget } from '../cli/target.js';
import { QallowError } from '../errors.js';
import type { Ed25519SecretKey } from '../identity/ed25519.js';
import { readAdminSecret } from '../identity/files.js';
import { HostProcess, type HostExit } from './host-process.js';
import { writeMarker, type DemoLayout, type HostLayout } from './layout.js';
import type { LogLine } from './log-tail.js';

export interface DemoClusterInit {
  readonly layout: DemoLayout;
  /** How long a host may take to start and see its peers. */
  readonly startTimeoutMs?: number;
  /** How long a graceful stop may take before the host is killed. */
  readonly stopTimeoutMs?: number;
}

export interface DemoClusterComponents {
  /** Aborts every wait (Ctrl-C). */
  readonly signal: AbortSignal;
}

/** `peer` became `to` in a host's view, at or after `after` (ms since the epoch). */
export const membershipChange =
  (peer: string, to: string, after = 0) =>
  (l: LogLine): boolean =>
    l.msg === 'membership change' && l['peer'] === peer && l['to'] === to && Date.parse(String(l['time'])) >= after;

export interface StopReport {
  readonly host: string;
  readonly exit: HostExit;
  /** It did not stop within the timeout and was killed. */
  readonly forced: boolean;
}

export class DemoCluster {
  readonly hosts: HostProcess[] = [];
  private admin: Ed25519SecretKey | undefined;

  constructor(
    private readonly init: DemoClusterInit,
    private readonly c: DemoClusterComponents,
  ) {}

  get layout(): DemoLayout {
    return this.init.layout;
  }

  host(i: number): HostProcess {
    const h = this.hosts[i];
    if (!h) throw new QallowError('INTERNAL', `no host ${i}`, { index: i });
    return h;
  }

  /** Start every host; resolves once each sees all the others `up`. */
  async start(): Promise<void> {
    this.admin = (await readAdminSecret(this.layout.adminKey)).secretKey;
    for (const h of this.layout.hosts) this.hosts.push(await HostProcess.spawn(h));
    await this.saveMarker();
    await Promise.all(this.layout.hosts.map((_, i) => this.waitUp(i, 0)));
  }

  /** Resolves when host `i` sees every other host `up` (lines at or after `after`). */
  async waitUp(i: number, after: number): Promise<void> {
    const me = this.host(i);
    const timeout = this.init.startTimeoutMs ?? 60_000;
    await Promise.all(
      this.layout.hosts
        .filter((_, j) => j !== i)
        .map((o) => me.tail.waitFor(membershipChange(o.id, 'up', after), `${o.id} up in ${me.host.id}'s view`, timeout, this.c.signal)),
    ).catch((e: unknown) => {
      throw this.explain(me, e);
    });
  }

  /** A failed wait, with the end of the host's log when it exited. */
  private explain(h: HostProcess, e: unknown): unknown {
    if (h.running || this.c.signal.aborted) return e;
    const last = h.tail.lines.slice(-3).map((l) => String(l['msg'] ?? '')).join(' | ');
    return new QallowError('TASK_FAILED', `${h.host.id} exited (${JSON.stringify(h.exitStatus)}); its log ${h.host.log} ends: ${last}`, { host: h.host.id });
  }

  /** A signed admin command to host `i` (found through its endpoint.json). */
  async send<C extends AdminCommand>(i: number, command: C, timeoutMs = 30_000): Promise<AdminReplies[C['type']]> {
    if (!this.admin) throw new QallowError('INTERNAL', 'the cluster is not started');
    const target = await resolveTarget({ data: this.layout.hosts[i]!.dataDir });
    return sendAdminCommand(target, command, this.admin, timeoutMs);
  }

  /** SIGKILL host `i`. */
  async kill(i: number): Promise<HostExit> {
    return this.host(i).kill();
  }

  /** Start host `i` again (after a kill); resolves once it sees its peers again. */
  async restart(i: number): Promise<HostProcess> {
    const at = Date.now();
    const h = await HostProcess.spawn(this.layout.hosts[i]!);
    this.hosts[i] = h;
    await this.saveMarker();
    await this.waitUp(i, at);
    return h;
  }

  private async saveMarker(): Promise<void> {
    await writeMarker(this.layout, this.hosts.filter((h) => h.running).map((h) => h.pid));
  }

  /** Graceful stop of every running host, in parallel; a host that overstays the timeout is killed. */
  async stop(): Promise<StopReport[]> {
    const timeout = this.init.stopTimeoutMs ?? 60_000;
    const reports = await Promise.all(
      this.hosts.map(async (h): Promise<StopReport> => {
        h.terminate();
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((ok) => (timer = setTimeout(() => ok('late'), timeout)));
        const r = await Promise.race([h.exited, late]);
        clearTimeout(timer);
        if (r === 'late') return { host: h.host.id, exit: await h.kill(), forced: true };
        return { host: h.host.id, exit: r, forced: false };
      }),
    );
    await writeMarker(this.layout, []);
    return reports;
  }

  /** Kill every host now (a second Ctrl-C). */
  async killAll(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.kill()));
    await writeMarker(this.layout, []);
  }

  /** Leave the hosts running when the demo exits. */
  detach(): void {
    for (const h of this.hosts) h.detach();
  }

  hostLayout(i: number): HostLayout {
    return this.layout.hosts[i]!;
  }
}

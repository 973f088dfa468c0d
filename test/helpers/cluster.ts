/**
 * N hosts as real child processes on loopback: keys from `qallow keys gen`,
 * one config per host (ports allocated free, peers = the others), an admin
 * key every host authorises. Used by the cluster, pacing and governance
 * tests; processes are SIGKILLed and the directory removed in teardown.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { runCli, type CliResult } from './cli.js';
import { startHost, writeConfig, type HostProcess, type LogLine } from './host.js';

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export interface ClusterOptions {
  readonly names: readonly string[];
  /** Which identity directory a host starts with (default: its own); a test swaps in a rogue key. */
  readonly keyFor?: (name: string) => string;
  /** Extra identities to generate (e.g. `rogue`). */
  readonly extraKeys?: readonly string[];
  /** Per-host config overrides, merged over the defaults below (shallow per top-level key; `cluster` merged one level). */
  readonly config?: (name: string, index: number) => Record<string, unknown>;
  /** Start the hosts (default true). */
  readonly start?: boolean;
}

export interface Cluster {
  readonly dir: string;
  readonly names: readonly string[];
  readonly configs: string[];
  readonly hosts: HostProcess[];
  readonly adminKey: string;
  dataDir(name: string): string;
  /** `qallow ARGS --data <host's data dir> --admin-key KEY` */
  cli(name: string, args: string[]): Promise<CliResult>;
  /** Start (again) host `i` from its config; the new process replaces hosts[i]. */
  restart(i: number): HostProcess;
}

export async function startCluster(t: ExecutionContext, o: ClusterOptions): Promise<Cluster> {
  const names = o.names;
  const dir = await mkdtemp(join(tmpdir(), 'qallow-cluster-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const keyFor = o.keyFor ?? ((n: string) => n);
  await Promise.all(
    [...names, ...(o.extraKeys ?? []), 'admin'].map(async (n) => {
      const r = await runCli(['keys', 'gen', '--node-id', n, '--out', join(dir, 'keys', n)]);
      if (r.code !== 0) throw new Error(`keys gen ${n} failed: ${r.stderr}`);
    }),
  );
  const writeConfigs = (ports: readonly number[]): Promise<string[]> =>
    Promise.all(
      names.map(async (n, i) => {
        const hostDir = join(dir, n);
        await mkdir(hostDir, { recursive: true });
        const extra = o.config?.(n, i) ?? {};
        const cluster = {
          bind: `tcp://127.0.0.1:${ports[i]}`,
          identityDir: join(dir, 'keys', keyFor(n)),
          peers: names.flatMap((m, j) => (m === n ? [] : [{ id: m, address: `tcp://127.0.0.1:${ports[j]}`, identityFile: join(dir, 'keys', m, 'node.json') }])),
          heartbeatMs: 100,
          ...((extra['cluster'] as Record<string, unknown> | undefined) ?? {}),
        };
        return writeConfig(hostDir, {
          node: { id: n },
          dataDir: 'data',
          epochTicks: 200,
          compute: { threads: 1 },
          admin: { authorizedKeys: [join(dir, 'keys', 'admin', 'admin.json')] },
          telemetry: { intervalMs: 60_000, logLevel: 'info' },
          ...extra,
          cluster,
        });
      }),
    );
  const configs = await writeConfigs(await Promise.all(names.map(() => freePort())));
  const hosts: HostProcess[] = [];
  const adminKey = join(dir, 'keys', 'admin', 'admin.secret.json');
  const c: Cluster = {
    dir,
    names,
    configs,
    hosts,
    adminKey,
    dataDir: (name) => join(dir, name, 'data'),
    cli: (name, args) => runCli([...args, '--data', join(dir, name, 'data'), '--admin-key', adminKey]),
    restart(i) {
      const h = startHost(configs[i]!);
      t.teardown(() => void h.child.kill('SIGKILL'));
      hosts[i] = h;
      return h;
    },
  };
  if (o.start !== false) {
    // A port found free can be taken before the host binds it (another test's process, or an
    // outgoing connection's ephemeral port): then every host starts again on new ports.
    for (let attempt = 1; ; attempt++) {
      names.forEach((_, i) => c.restart(i));
      const outcomes = await Promise.all(hosts.map((h) => h.waitFor((l) => l.msg === 'host started', 'host started', 120_000).then(() => null, (e: Error) => e)));
      const inUse = outcomes.find((e) => e !== null && /could not listen on .*in use/i.test(e.message));
      if (!inUse) break;
      if (attempt === 3) throw inUse;
      t.log(`attempt ${attempt}: ${inUse.message.split('\n')[0]}; starting the cluster again on new ports`);
      for (const h of hosts) h.child.kill('SIGKILL');
      await Promise.all(hosts.map((h) => h.exited));
      await writeConfigs(await Promise.all(names.map(() => freePort())));
    }
  }
  return c;
}

/** A `membership change` line: `peer` became `to`, at or after `after` (ms). */
export const membershipChange =
  (peer: string, to: string, after = 0) =>
  (l: LogLine): boolean =>
    l.msg === 'membership change' && l['peer'] === peer && l['to'] === to && Date.parse(String(l['time'])) >= after;

/** Resolves when every host sees every other host `up`. */
export async function allUp(c: Cluster): Promise<void> {
  await Promise.all(c.hosts.flatMap((h, i) => c.names.filter((_, j) => j !== i).map((o) => h.waitFor(membershipChange(o, 'up'), `${o} up on ${c.names[i]}`))));
}

/**
 * N hosts in one process (runtime/compose): each built by the same
 * createHost that `qallow start` uses, with the memory transport on one
 * network for its cluster. Keys are generated into a temp dir, every host's
 * peers are the others (at `tcp://NAME.memory:7400`, an address on the
 * memory network, never bound), one admin key is authorised everywhere, and
 * the metrics server is off (a test's config may turn it on). Log lines are
 * kept per host so a test can await the one it needs, and `adminCommand`
 * sends a signed admin command to a host's real admin endpoint (as the CLI
 * does, without a process per call); hosts still running are stopped in
 * teardown (before the temp dir is removed: ava runs teardowns in reverse).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { sendAdminCommand } from '../../runtime/admin/client.js';
import type { AdminCommand } from '../../runtime/admin/command.js';
import type { AdminReplies } from '../../runtime/admin/replies.js';
import { parseHostConfig, type HostConfig } from '../../config/schema.js';
import { createHost } from '../../runtime/compose/create-host.js';
import { memoryTransport } from '../../runtime/compose/factories.js';
import type { Host } from '../../runtime/host.js';
import { readAdminSecret, writeKeyFiles } from '../../runtime/identity/files.js';
import { generateAdminKey, generateIdentity } from '../../runtime/identity/identity.js';
import { createLogger, memorySink, type LogRecord } from '../../runtime/logger.js';
import { createMemoryNetwork, type MemoryNetwork } from '../../runtime/transport/memory.js';
import { tempDir } from './cli.js';

export interface MemoryHost {
  readonly name: string;
  readonly config: HostConfig;
  readonly host: Host;
  readonly lines: LogRecord[];
  /** Resolves with the first log line (seen or future) matching; rejects after `timeoutMs`. */
  waitForLine(pred: (l: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
}

export interface MemoryCluster {
  readonly dir: string;
  readonly network: MemoryNetwork;
  readonly hosts: MemoryHost[];
  /** admin.secret.json of the key every host authorises. */
  readonly adminSecret: string;
  /** Host `i` built again (not started) on its config and data dir, the network the same: a restart in this process. */
  rebuild(i: number): MemoryHost;
}

export interface MemoryClusterOptions {
  /** Per-host config overrides, merged over the defaults (shallow; `cluster` one level). */
  readonly config?: (name: string, index: number) => Record<string, unknown>;
  /** Start the hosts (default true, all at once). */
  readonly start?: boolean;
}

const address = (name: string): string => `tcp://${name}.memory:7400`;

/** Hosts `names` on one memory network, built (and started) in this process. */
export async function memoryCluster(t: ExecutionContext, names: readonly string[], o: MemoryClusterOptions = {}): Promise<MemoryCluster> {
  const dir = await tempDir(t);
  const keys = (n: string): string => join(dir, 'keys', n);
  await writeKeyFiles(keys('admin'), { node: generateIdentity('admin'), admin: generateAdminKey() });
  await Promise.all(names.map((n) => writeKeyFiles(keys(n), { node: generateIdentity(n), admin: generateAdminKey() })));
  const network = createMemoryNetwork();
  const hosts = await Promise.all(
    names.map(async (n, i) => {
      const extra = o.config?.(n, i) ?? {};
      const dataDir = join(dir, n, 'data');
      await mkdir(dataDir, { recursive: true });
      const config = parseHostConfig({
        node: { id: n },
        dataDir,
        epochTicks: 200,
        compute: { threads: 1 },
        admin: { authorizedKeys: [join(keys('admin'), 'admin.json')] },
        metrics: { enabled: false },
        telemetry: { intervalMs: 60_000, logLevel: 'info' },
        ...extra,
        cluster: {
          bind: address(n),
          identityDir: keys(n),
          peers: names.filter((m) => m !== n).map((m) => ({ id: m, address: address(m), identityFile: join(keys(m), 'node.json') })),
          heartbeatMs: 100,
          ...((extra['cluster'] as Record<string, unknown> | undefined) ?? {}),
        },
      });
      return build(t, network, config);
    }),
  );
  if (o.start !== false) await Promise.all(hosts.map((h) => h.host.start()));
  return {
    dir,
    network,
    hosts,
    adminSecret: join(keys('admin'), 'admin.secret.json'),
    rebuild: (i) => (hosts[i] = build(t, network, hosts[i]!.config)),
  };
}

/** `command` signed with the cluster's admin key and sent to host `name`'s admin endpoint (from its endpoint.json, as the CLI finds it): what the CLI sends, without a process per call. */
export async function adminCommand<C extends AdminCommand>(c: MemoryCluster, name: string, command: C): Promise<AdminReplies[C['type']]> {
  const h = c.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no host ${name} in the cluster`);
  const e = JSON.parse(await readFile(join(h.config.dataDir, 'endpoint.json'), 'utf8')) as { admin: string; node: string; curvePublicKey: string };
  return sendAdminCommand({ endpoint: e.admin, node: e.node, curvePublicKey: e.curvePublicKey }, command, (await readAdminSecret(c.adminSecret)).secretKey);
}

function build(t: ExecutionContext, network: MemoryNetwork, config: HostConfig): MemoryHost {
  const sink = memorySink();
  const logger = createLogger({ nodeId: config.node.id, destination: sink.stream, level: config.telemetry.logLevel });
  // The one line: the production host, with the memory transport for its cluster.
  const host = createHost(config, { logger, factories: { transport: memoryTransport(network) } });
  t.teardown(() => host.stop());
  return { name: config.node.id, config, host, lines: sink.lines, waitForLine: (pred, timeoutMs = 20_000) => sink.waitFor(pred, timeoutMs) };
}

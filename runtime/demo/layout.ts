/**
 * The demo's directory and how it is made from nothing:
 *
 *   DATA/demo.json              what this directory is (so a second demo may reuse it) and the hosts' pids
 *   DATA/keys/admin/            the operator's admin key (admin.secret.json signs every command)
 *   DATA/keys/host-i/           host-i's identity: node.json (public), node.secret.json
 *   DATA/host-i/config.json     host-i's configuration (loopback, its peers)
 *   DATA/host-i/data/           host-i's LMDB environment, run CSVs, endpoint.json
 *   DATA/host-i/host.log        host-i's pino lines
 *
 * Keys are made in-process exactly as `qallow keys gen` makes them. Cluster
 * ports are picked by binding port 0 on loopback and closing the socket:
 * peers must know each other's address before any host starts, so a host
 * cannot bind port 0 itself. Between the close and the host's bind another
 * program could take the port (a tiny race); the host then fails to start
 * and the demo says so, naming its log. Admin and metrics endpoints do bind
 * port 0: the CLI finds them through DATA/host-i/data/endpoint.json.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { QallowError } from '../errors.js';
import { writeKeyFiles } from '../identity/files.js';
import { generateAdminKey, generateIdentity } from '../identity/identity.js';

export const DEMO_MARKER = 'demo.json';
const MARKER_FORMAT = 'qallow-demo/v1';

export interface HostLayout {
  readonly id: string;
  readonly dir: string;
  readonly config: string;
  readonly dataDir: string;
  readonly log: string;
  readonly keys: string;
  /** tcp://127.0.0.1:PORT of its cluster transport. */
  readonly bind: string;
}

export interface DemoLayout {
  readonly root: string;
  readonly adminKey: string;
  readonly adminPublic: string;
  readonly hosts: readonly HostLayout[];
}

export interface LayoutInit {
  readonly root: string;
  readonly nodes: number;
  /** Ticks per epoch of runs that do not say (host config). */
  readonly epochTicks: number;
}

/** A loopback port that was free a moment ago (see the race above). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok, fail) => {
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', ok);
  });
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((ok) => srv.close(() => ok()));
  return port;
}

export function hostId(i: number): string {
  return `host-${i + 1}`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An empty or missing directory, or one an earlier demo made (whose hosts
 * are gone): the demo may use it. Anything else is refused rather than
 * overwritten, since it may be someone's data.
 */
async function claim(root: string): Promise<'fresh' | 'reused'> {
  const entries = await readdir(root).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw new QallowError('IO_ERROR', `cannot read ${root}: ${e.message}`, { path: root });
  });
  if (entries === null || entries.length === 0) return 'fresh';
  let marker: { format?: unknown; pids?: unknown };
  try {
    marker = JSON.parse(await readFile(join(root, DEMO_MARKER), 'utf8')) as typeof marker;
  } catch {
    throw new QallowError('BAD_USAGE', `--data ${root} is not empty and was not made by qallow demo; give an empty or new directory`, { flag: '--data', path: root });
  }
  if (marker.format !== MARKER_FORMAT) throw new QallowError('BAD_USAGE', `--data ${root}: ${DEMO_MARKER} is not a qallow demo marker`, { flag: '--data', path: root });
  const alive = (Array.isArray(marker.pids) ? marker.pids : []).filter((p): p is number => typeof p === 'number' && isAlive(p));
  if (alive.length > 0) {
    throw new QallowError('BAD_USAGE', `a demo is still running in ${root} (host pids ${alive.join(', ')}); stop it first: kill -TERM ${alive.join(' ')}`, { flag: '--data', path: root });
  }
  await rm(root, { recursive: true, force: true });
  return 'reused';
}

/** Records which processes are the demo's hosts (a later demo checks they are gone). */
export async function writeMarker(layout: DemoLayout, pids: readonly number[]): Promise<void> {
  const body = { format: MARKER_FORMAT, hosts: layout.hosts.map((h) => h.id), pids, updated: new Date().toISOString() };
  await writeFile(join(layout.root, DEMO_MARKER), JSON.stringify(body, null, 2) + '\n');
}

/** Make the directory, the keys and one config per host. */
export async function prepareLayout(init: LayoutInit): Promise<{ layout: DemoLayout; reused: boolean }> {
  const root = resolve(init.root);
  const reused = (await claim(root)) === 'reused';
  await mkdir(root, { recursive: true });
  const ids = Array.from({ length: init.nodes }, (_, i) => hostId(i));
  const adminDir = join(root, 'keys', 'admin');
  // The admin key pair comes from the admin directory's own generation; the node identity written beside it is unused.
  await writeKeyFiles(adminDir, { node: generateIdentity('admin'), admin: generateAdminKey() });
  await Promise.all(ids.map((id) => writeKeyFiles(join(root, 'keys', id), { node: generateIdentity(id), admin: generateAdminKey() })));
  const ports: number[] = [];
  // One at a time, so the same port is never handed out twice.
  for (const _ of ids) {
    let p = await freePort();
    while (ports.includes(p)) p = await freePort();
    ports.push(p);
  }
  const hosts: HostLayout[] = ids.map((id, i) => {
    const dir = join(root, id);
    return { id, dir, config: join(dir, 'config.json'), dataDir: join(dir, 'data'), log: join(dir, 'host.log'), keys: join(root, 'keys', id), bind: `tcp://127.0.0.1:${ports[i]}` };
  });
  const layout: DemoLayout = { root, adminKey: join(adminDir, 'admin.secret.json'), adminPublic: join(adminDir, 'admin.json'), hosts };
  await Promise.all(
    hosts.map(async (h) => {
      await mkdir(h.dir, { recursive: true });
      const config = {
        node: { id: h.id },
        dataDir: 'data',
        epochTicks: init.epochTicks,
        // Four hosts share this machine's cores: one worker thread each.
        compute: { threads: 1, backend: 'wasm' },
        admin: { authorizedKeys: [layout.adminPublic] },
        telemetry: { intervalMs: 5000, logLevel: 'info' },
        cluster: {
          bind: h.bind,
          identityDir: h.keys,
          peers: hosts.filter((o) => o.id !== h.id).map((o) => ({ id: o.id, address: o.bind, identityFile: join(o.keys, 'node.json') })),
        },
      };
      await writeFile(h.config, JSON.stringify(config, null, 2) + '\n');
    }),
  );
  await writeMarker(layout, []);
  return { layout, reused };
}

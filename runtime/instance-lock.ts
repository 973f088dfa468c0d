/**
 * One running host per data directory and per node key (issue 11 item 16:
 * a second process started with a running host's keys joined without a
 * word). `qallow start` takes two lock files before the host starts and
 * removes them when it stops:
 *
 *   DATA/qallow.lock                         the data directory
 *   $TMPDIR/qallow-node-<key hash>.lock      the node's Ed25519 key (cluster hosts)
 *
 * Each holds `{ pid, node, dataDir }`. A lock whose pid is no longer alive
 * (a host killed with -9) is stale and taken over; one whose pid is alive
 * refuses the start with BAD_USAGE naming the file, the key and the pid.
 * Limits: the key lock sees only processes on this machine (peers on other
 * machines are not asked), and a pid reused by an unrelated process after a
 * crash makes a stale lock look held — the message says which file to
 * remove then.
 */
import { createHash } from 'node:crypto';
import { open, readFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QallowError } from './errors.js';

export interface LockOwner {
  readonly pid: number;
  readonly node: string;
  readonly dataDir: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function owner(path: string): Promise<LockOwner | undefined> {
  try {
    const v = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    return typeof v.pid === 'number' && Number.isSafeInteger(v.pid) && v.pid > 0 ? { pid: v.pid, node: String(v.node), dataDir: String(v.dataDir) } : undefined;
  } catch {
    return undefined; // unreadable or half-written: stale
  }
}

export class InstanceLock {
  private constructor(private readonly paths: readonly string[]) {}

  /** Where the lock for a node key lives (its hex Ed25519 public key). */
  static keyLockPath(publicKeyHex: string): string {
    return join(tmpdir(), `qallow-node-${createHash('sha256').update(publicKeyHex).digest('hex').slice(0, 24)}.lock`);
  }

  /**
   * Take the data-directory lock and, when `nodeKey` is given, the key lock;
   * throws BAD_USAGE if a live process holds either (nothing is kept then).
   */
  static async acquire(me: LockOwner, nodeKey?: { readonly publicKeyHex: string; readonly file: string }): Promise<InstanceLock> {
    const taken: string[] = [];
    try {
      await take(join(me.dataDir, 'qallow.lock'), me, (o, path) =>
        `data directory ${me.dataDir} is in use by a running host (node "${o.node}", pid ${o.pid}); stop it first, or give this host its own dataDir (if no host runs, remove ${path})`,
      );
      taken.push(join(me.dataDir, 'qallow.lock'));
      if (nodeKey) {
        const path = InstanceLock.keyLockPath(nodeKey.publicKeyHex);
        await take(path, me, (o) =>
          `node key ${nodeKey.publicKeyHex.slice(0, 16)}… (${nodeKey.file}) is in use by a running host (node "${o.node}", pid ${o.pid}, data ${o.dataDir}); one host's keys may run in one process at a time — stop that host, or give this one its own keys with \`qallow keys gen\` (if no host runs, remove ${path})`,
        );
        taken.push(path);
      }
    } catch (e) {
      await Promise.all(taken.map((p) => unlink(p).catch(() => undefined)));
      throw e;
    }
    return new InstanceLock(taken);
  }

  /** Remove the lock files (only those still naming this process). */
  async release(): Promise<void> {
    for (const p of this.paths) {
      const o = await owner(p);
      if (o?.pid === process.pid) await unlink(p).catch(() => undefined);
    }
  }
}

async function take(path: string, me: LockOwner, held: (o: LockOwner, path: string) => string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      try {
        await fh.writeFile(JSON.stringify(me) + '\n');
      } finally {
        await fh.close();
      }
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new QallowError('IO_ERROR', `cannot create lock file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { path });
      }
    }
    const o = await owner(path);
    if (o && o.pid !== process.pid && alive(o.pid)) throw new QallowError('BAD_USAGE', held(o, path), { path, pid: o.pid, node: o.node });
    await unlink(path).catch(() => undefined); // stale: its host is gone
  }
  throw new QallowError('IO_ERROR', `cannot take lock file ${path}: another process keeps recreating it`, { path });
}

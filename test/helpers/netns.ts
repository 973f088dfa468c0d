/**
 * Two network namespaces joined through a third that routes between them,
 * so a test can cut the network between two processes and heal it:
 *
 *   A 10.203.1.1/30 ── 10.203.1.2 [router] 10.203.2.1 ── 10.203.2.2/30 B
 *
 * `cut()` adds blackhole routes in the router: packets between A and B are
 * dropped there, silently (no ICMP, no RST, no local send error), as on a
 * real partition; the hosts' TCP stacks keep retransmitting with backoff.
 * `heal()` removes them. The namespaces (and their veth pairs with them) are
 * removed in teardown, and when the test process exits however it exits.
 * The addresses exist only inside the namespaces. Needs root and `ip`
 * (iproute2); without them it throws, saying so: it never skips.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import type { ExecutionContext } from 'ava';

const run = promisify(execFile);

export interface PartitionNet {
  readonly a: { readonly ns: string; readonly ip: string };
  readonly b: { readonly ns: string; readonly ip: string };
  /** argv prefix that runs a command inside namespace `ns`. */
  exec(ns: string): string[];
  cut(): Promise<void>;
  heal(): Promise<void>;
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (e) {
    const err = e as { code?: unknown; stderr?: string };
    if (err.code === 'ENOENT') throw new Error('this test needs `ip` (iproute2): apt-get install -y iproute2', { cause: e });
    throw new Error(`ip ${args.join(' ')} failed: ${err.stderr?.trim() ?? String(e)} (the partition test needs root to create network namespaces)`, { cause: e });
  }
}

let seq = 0;

export async function partitionNet(t: ExecutionContext): Promise<PartitionNet> {
  const tag = `qallow-${process.pid}-${seq++}`;
  const [nsA, nsB, nsR] = [`${tag}-a`, `${tag}-b`, `${tag}-r`];
  const remove = (): void => {
    for (const ns of [nsA, nsB, nsR]) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // not created
      }
    }
  };
  // A test that times out is torn down without its teardown: remove them at exit too.
  process.once('exit', remove);
  t.teardown(() => {
    process.removeListener('exit', remove);
    remove();
  });
  for (const ns of [nsA, nsB, nsR]) await ip('netns', 'add', ns);
  // The veth ends are created straight in their namespaces, so fixed names cannot clash.
  await ip('link', 'add', 'veth-r', 'netns', nsA, 'type', 'veth', 'peer', 'name', 'veth-a', 'netns', nsR);
  await ip('link', 'add', 'veth-r', 'netns', nsB, 'type', 'veth', 'peer', 'name', 'veth-b', 'netns', nsR);
  await ip('-n', nsA, 'addr', 'add', '10.203.1.1/30', 'dev', 'veth-r');
  await ip('-n', nsR, 'addr', 'add', '10.203.1.2/30', 'dev', 'veth-a');
  await ip('-n', nsR, 'addr', 'add', '10.203.2.1/30', 'dev', 'veth-b');
  await ip('-n', nsB, 'addr', 'add', '10.203.2.2/30', 'dev', 'veth-r');
  for (const [ns, dev] of [[nsA, 'veth-r'], [nsA, 'lo'], [nsB, 'veth-r'], [nsB, 'lo'], [nsR, 'veth-a'], [nsR, 'veth-b']] as const) await ip('-n', ns, 'link', 'set', 'dev', dev, 'up');
  await ip('-n', nsA, 'route', 'add', '10.203.2.0/30', 'via', '10.203.1.2');
  await ip('-n', nsB, 'route', 'add', '10.203.1.0/30', 'via', '10.203.2.1');
  await ip('netns', 'exec', nsR, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward');
  const blackholes = ['10.203.1.1/32', '10.203.2.2/32'];
  return {
    a: { ns: nsA, ip: '10.203.1.1' },
    b: { ns: nsB, ip: '10.203.2.2' },
    exec: (ns) => ['ip', 'netns', 'exec', ns],
    async cut() {
      for (const dst of blackholes) await ip('-n', nsR, 'route', 'add', 'blackhole', dst);
    },
    async heal() {
      for (const dst of blackholes) await ip('-n', nsR, 'route', 'del', 'blackhole', dst);
    },
  };
}

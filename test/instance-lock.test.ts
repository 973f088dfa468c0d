/**
 * One running host per data directory and per node key (issue 11 item 16):
 * a second `qallow start` with a running host's data directory, or with its
 * keys and another data directory, exits 2 naming the directory or the key
 * and the running pid; a lock left by a host killed with -9 is taken over.
 */
import { join } from 'node:path';
import test from 'ava';
import { runCli, tempDir } from './helpers/cli.js';
import { startHost, writeConfig } from './helpers/host.js';

test('a second host on the same data directory or the same keys is refused; a stale lock is not', async (t) => {
  const dir = await tempDir(t);
  t.is((await runCli(['keys', 'gen', '--node-id', 'host-a', '--out', join(dir, 'node')])).code, 0);
  const cfg = (dataDir: string): Record<string, unknown> => ({
    node: { id: 'host-a' },
    dataDir,
    compute: { threads: 1 },
    telemetry: { intervalMs: 60_000, logLevel: 'info' },
    cluster: { bind: 'tcp://127.0.0.1:0', identityDir: 'node', peers: [] },
  });
  const config = await writeConfig(dir, cfg('data'));
  const first = startHost(config);
  t.teardown(() => void first.child.kill('SIGKILL'));
  await first.waitFor((l) => l.msg === 'host started', 'host start');

  const again = await runCli(['start', '--config', config]);
  t.is(again.code, 2, again.stderr);
  t.regex(again.stderr, /data directory .*data is in use by a running host/);
  t.true(again.stderr.includes(`pid ${first.child.pid}`), again.stderr);

  const otherDir = await tempDir(t);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(join(dir, 'other.json'), JSON.stringify({ ...cfg(join(otherDir, 'data')) }));
  const sameKeys = await runCli(['start', '--config', join(dir, 'other.json')]);
  t.is(sameKeys.code, 2, sameKeys.stderr);
  t.regex(sameKeys.stderr, /node key [0-9a-f]{16}… \(.*node\.secret\.json\) is in use by a running host/);
  t.true(sameKeys.stderr.includes(`pid ${first.child.pid}`), sameKeys.stderr);

  first.child.kill('SIGKILL');
  await first.exited;
  const restarted = startHost(config, ['--exit-when-done']);
  t.teardown(() => void restarted.child.kill('SIGKILL'));
  await restarted.waitFor((l) => l.msg === 'host started', 'the restart to take over the stale lock');
});

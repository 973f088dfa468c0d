/**
 * `qallow top` without a terminal (stdout a pipe): one whole frame per
 * refresh, no escape codes, exactly --iterations frames, exit 0; --json
 * one JSON line per refresh; a host
 * without a cluster says so and shows its own ledger; a --peer-data directory that leads nowhere is
 * shown as unreachable; bad values and an unreachable host fail with their
 * exit codes. One host as a real process.
 */
import { join } from 'node:path';
import test from 'ava';
import { runCli, tempDir } from './helpers/cli.js';
import { startHost, writeConfig } from './helpers/host.js';

test('top on a pipe: --iterations frames without escapes, the runs row, peers that cannot be read, bad usage', async (t) => {
  const dir = await tempDir(t);
  const keys = join(dir, 'keys');
  const gen = await runCli(['keys', 'gen', '--node-id', 'admin', '--out', keys]);
  t.is(gen.code, 0, gen.stderr);
  const config = await writeConfig(dir, {
    node: { id: 'pipe-a' },
    dataDir: 'data',
    epochTicks: 100,
    compute: { threads: 1 },
    admin: { authorizedKeys: [join(keys, 'admin.json')] },
    telemetry: { intervalMs: 60_000, logLevel: 'info' },
  });
  const host = startHost(config);
  t.teardown(() => void host.child.kill('SIGKILL'));
  await host.waitFor((l) => l.msg === 'host started', 'host started');
  const cli = (args: string[]): ReturnType<typeof runCli> => runCli([...args, '--data', join(dir, 'data'), '--admin-key', join(keys, 'admin.secret.json')]);

  const run = await cli(['run', 'phase13', '--pockets', '1024', '--ticks', '400', '--coupling', '0.002', '--id', 'p1', '--backend', 'js']);
  t.is(run.code, 0, run.stderr);
  await host.waitFor((l) => l.msg === 'run finished' && l['run'] === 'p1', 'p1 finished');

  const top = await cli(['top', '--iterations', '3', '--interval', '100', '--peer-data', join(dir, 'nowhere')]);
  t.is(top.code, 0, top.stderr);
  t.false(top.stdout.includes('\x1b'), 'no escape codes on a pipe');
  // Every frame starts with its header line (frames have blank lines of their own between sections).
  const frames = top.stdout.split(/^(?=qallow top — )/m);
  t.true(frames.every((f) => f.startsWith('qallow top — pipe-a')), top.stdout);
  t.is(frames.length, 3, top.stdout);
  const last = frames.at(-1)!;
  t.regex(last, /no cluster/);
  t.regex(last, /^p1\s+phase13\s+done\s+400\/400\s+4\s+\S+\s+(pass|fail) \d+\/1/m, last);
  t.regex(last, /^…\S*\/nowhere\s+not a member .*unreachable: BAD_USAGE/m, 'a peer data dir without endpoint.json');
  // No cluster: its own ledger (it is the only validator), with the run's entries in it.
  t.regex(last, /^LEDGER {2}\d+ committed by this host/m);
  t.regex(last, /^pipe-a\s+[1-9]\d*/m, 'its own origin row, with a height');
  t.regex(last, /^qallow:\/\/pipe-a\/runs\/p1\s+\S+\s+\d+\/\d+/m, 'the run actor with its mailbox');

  const json = await cli(['top', '--iterations', '2', '--interval', '100', '--json']);
  t.is(json.code, 0, json.stderr);
  const frames2 = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { at: number; host: { node: string; runs: Array<{ run: string; tick: number }> } });
  t.is(frames2.length, 2);
  t.true(frames2[1]!.at > frames2[0]!.at);
  t.like(frames2[1]!.host, { node: 'pipe-a', runs: [{ run: 'p1', tick: 400 }] });

  const badInterval = await cli(['top', '--interval', '5']);
  t.is(badInterval.code, 2);
  t.regex(badInterval.stderr, /--interval/);
  const noHost = await runCli(['top', '--data', join(dir, 'not-a-host'), '--admin-key', join(keys, 'admin.secret.json'), '--iterations', '1']);
  t.is(noHost.code, 2, 'no endpoint.json: say which host');
  t.regex(noHost.stderr, /endpoint/);
});

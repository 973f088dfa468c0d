/**
 * The admin CLI against a real host process: commands are signed with the
 * admin key the host's config authorises; unsigned or wrongly signed, stale
 * and replayed commands are refused with their own codes, and the host keeps
 * serving; run --follow, runs, pause/resume/cancel, checkpoint take, status,
 * actor restart and shutdown work end to end.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import * as zmq from 'zeromq';
import { decodeReply } from '../runtime/admin/endpoint.js';
import { signCommand } from '../runtime/admin/signed.js';
import { encodeSignedCommand } from '../runtime/admin/wire.js';
import { readAdminSecret } from '../runtime/identity/files.js';
import { runCli } from './helpers/cli.js';
import { startHost, writeConfig, type HostProcess } from './helpers/host.js';

interface Fixture {
  dir: string;
  data: string;
  key: string;
  host: HostProcess;
}

async function fixture(t: ExecutionContext): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'qallow-admin-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  t.is((await runCli(['keys', 'gen', '--node-id', 'admin', '--out', join(dir, 'admin')])).code, 0);
  t.is((await runCli(['keys', 'gen', '--node-id', 'intruder', '--out', join(dir, 'intruder')])).code, 0);
  const path = await writeConfig(dir, {
    node: { id: 'host-a' },
    dataDir: 'data',
    epochTicks: 100,
    compute: { threads: 2 },
    admin: { authorizedKeys: ['admin/admin.json'] },
    telemetry: { intervalMs: 60_000, logLevel: 'info' },
  });
  const host = startHost(path);
  t.teardown(() => void host.child.kill('SIGKILL'));
  await host.waitFor((l) => l.msg === 'host started', 'host start');
  return { dir, data: join(dir, 'data'), key: join(dir, 'admin', 'admin.secret.json'), host };
}

const at = (f: Fixture): string[] => ['--data', f.data, '--admin-key', f.key];

test('run --follow, runs, pause/resume/cancel, checkpoint take, status, actor restart, shutdown', async (t) => {
  const f = await fixture(t);
  const done = await runCli(['run', 'phase13', '--pockets', '4096', '--ticks', '600', '--coupling', '0.002', '--id', 'quick', '--backend', 'js', '--follow', '--json', ...at(f)]);
  t.is(done.code, 0, done.stderr);
  t.like(JSON.parse(done.stdout.trim().split('\n').at(-1)!), { run: 'quick', state: 'done', tick: 600 });

  const long = await runCli(['run', 'phase13', '--pockets', '4096', '--ticks', '10000000', '--coupling', '0.002', '--id', 'long', '--backend', 'wasm', ...at(f)]);
  t.is(long.code, 0, long.stderr);
  const paused = await runCli(['pause', 'long', '--json', ...at(f)]);
  t.is(paused.code, 0, paused.stderr);
  t.is(JSON.parse(paused.stdout).state, 'paused');
  const cp = await runCli(['checkpoint', 'take', 'long', '--json', ...at(f)]);
  t.is(cp.code, 0, cp.stderr);
  t.true(JSON.parse(cp.stdout).tick > 0);
  t.is(JSON.parse((await runCli(['resume', 'long', '--json', ...at(f)])).stdout).state, 'running');
  const restart = await runCli(['actor', 'restart', 'qallow://host-a/runs/long', ...at(f)]);
  t.is(restart.code, 0, restart.stderr);
  await f.host.waitFor((l) => l.msg === 'run recovered from checkpoint' && l['run'] === 'long', 'the restarted actor to recover');
  const status = await runCli(['status', '--json', ...at(f)]);
  t.is(status.code, 0, status.stderr);
  const s = JSON.parse(status.stdout) as { actors: Array<{ actor: string; restarts: number }>; runs: Array<{ run: string }> };
  t.true(s.actors.find((a) => a.actor === 'qallow://host-a/runs/long')!.restarts >= 1);
  t.deepEqual(s.runs.map((r) => r.run).sort(), ['long', 'quick']);
  t.is(JSON.parse((await runCli(['cancel', 'long', '--json', ...at(f)])).stdout).state, 'cancelled');
  const runs = await runCli(['runs', ...at(f)]);
  t.regex(runs.stdout, /long\s+phase13\s+cancelled/);
  t.regex(runs.stdout, /quick\s+phase13\s+done/);
  const missing = await runCli(['pause', 'nope', ...at(f)]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /no run nope/);
  const top = await runCli(['top', '--iterations', '2', '--interval', '50', ...at(f)]);
  t.is(top.code, 0, top.stderr);
  t.is(top.stdout.split('qallow top — host-a').length - 1, 2, 'two frames');
  t.regex(top.stdout, /qallow:\/\/host-a\/runs\/long/);
  t.is((await runCli(['shutdown', ...at(f)])).code, 0);
  t.is((await f.host.exited).code, 0);
});

test('refused: unknown admin key, missing key, garbage frame, stale and replayed commands; the host keeps serving', async (t) => {
  const f = await fixture(t);
  const intruder = await runCli(['runs', '--data', f.data, '--admin-key', join(f.dir, 'intruder', 'admin.secret.json')]);
  t.is(intruder.code, 1);
  t.regex(intruder.stderr, /not authori[sz]ed|unknown|UNAUTHORIZED/i);
  const nokey = await runCli(['runs', '--data', f.data]);
  t.is(nokey.code, 2);
  t.regex(nokey.stderr, /--admin-key/);

  const endpoint = JSON.parse(await readFile(join(f.data, 'endpoint.json'), 'utf8')) as { admin: string; curvePublicKey: string; node: string };
  const { publicKey, secretKey } = zmq.curveKeyPair();
  const sock = new zmq.Dealer({ curveServerKey: endpoint.curvePublicKey, curvePublicKey: publicKey, curveSecretKey: secretKey, linger: 0, receiveTimeout: 10_000 });
  t.teardown(() => sock.close());
  sock.connect(endpoint.admin);
  const ask = async (frame: Uint8Array): Promise<ReturnType<typeof decodeReply>> => {
    await sock.send(frame);
    const [reply] = (await sock.receive()) as [Buffer];
    return decodeReply(new Uint8Array(reply));
  };
  const garbage = await ask(new Uint8Array([1, 2, 3, 4, 5]));
  t.false(garbage.ok);
  if (!garbage.ok) t.is(garbage.error.code, 'BAD_FRAME');

  const admin = await readAdminSecret(f.key);
  const stale = await ask(encodeSignedCommand(signCommand({ type: 'runs' }, admin.secretKey, 'host-a', { now: Date.now() - 10 * 60_000 })));
  t.false(stale.ok);
  if (!stale.ok) t.is(stale.error.code, 'STALE_COMMAND');

  const once = encodeSignedCommand(signCommand({ type: 'runs' }, admin.secretKey, 'host-a'));
  t.true((await ask(once)).ok);
  const again = await ask(once);
  t.false(again.ok);
  if (!again.ok) t.is(again.error.code, 'REPLAYED_COMMAND');

  const forB = await ask(encodeSignedCommand(signCommand({ type: 'runs' }, admin.secretKey, 'host-b')));
  t.false(forB.ok);
  if (!forB.ok) t.is(forB.error.code, 'UNAUTHORIZED');

  const tampered = encodeSignedCommand(signCommand({ type: 'runs' }, admin.secretKey, 'host-a'));
  tampered[tampered.length - 1] ^= 1;
  const bad = await ask(tampered);
  t.false(bad.ok);

  // Still serving.
  const ok = await runCli(['runs', ...at(f)]);
  t.is(ok.code, 0, ok.stderr);
});

/**
 * Governance on a host (runtime/host.ts) without a cluster: it keeps its
 * own ledger with itself as the only validator (quorum 1 of 1), signed with
 * an identity it creates in its data dir (secret 0600) and reuses at every
 * start; admin commands are entries of what came of them (`done` /
 * `refused:CODE`), recorded once they ran; `shutdown`'s entry is certified
 * before the host stops, and the reply says so; status and runs answer from
 * kept state even while a run waits on governance. The host in-process, its
 * admin endpoint driven by the real CLI; the ledger checked offline with
 * `qallow ledger verify` and `export`.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { parseHostConfig } from '../config/schema.js';
import { createHost } from '../runtime/compose/create-host.js';
import { createLogger, memorySink } from '../runtime/logger.js';
import { runCli, tempDir } from './helpers/cli.js';

async function adminKeys(dir: string): Promise<{ pub: string; secret: string }> {
  const keys = join(dir, 'keys');
  const gen = await runCli(['keys', 'gen', '--node-id', 'admin', '--out', keys]);
  if (gen.code !== 0) throw new Error(gen.stderr);
  return { pub: join(keys, 'admin.json'), secret: join(keys, 'admin.secret.json') };
}

function soloConfig(dir: string, adminPub: string, runs: unknown[] = []): ReturnType<typeof parseHostConfig> {
  return parseHostConfig({
    node: { id: 'gov-solo' },
    dataDir: join(dir, 'data'),
    epochTicks: 100,
    compute: { threads: 1 },
    admin: { authorizedKeys: [adminPub] },
    telemetry: { intervalMs: 60_000, logLevel: 'info' },
    runs,
  });
}

interface ExportLine {
  readonly origin?: string;
  readonly seq?: number;
  readonly entry?: string;
}

test('a host without a cluster keeps its own ledger: runs and admin outcomes certified 1 of 1, shutdown certified before the stop, verifiable offline, identity reused', async (t) => {
  const dir = await tempDir(t);
  const admin = await adminKeys(dir);
  const cfg = soloConfig(dir, admin.pub);
  const logs = memorySink();
  let shutdownAsked!: () => void;
  const asked = new Promise<void>((resolve) => (shutdownAsked = resolve));
  const host = createHost(cfg, { logger: createLogger({ nodeId: 'gov-solo', destination: logs.stream }), onShutdown: () => shutdownAsked() });
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await host.stop();
  });
  await host.start();
  const secret = join(cfg.dataDir, 'identity', 'node.secret.json');
  t.is((await stat(secret)).mode & 0o777, 0o600, 'the identity secret is 0600');
  const publicKey = (JSON.parse(await readFile(join(cfg.dataDir, 'identity', 'node.json'), 'utf8')) as { ed25519: { publicKey: string } }).ed25519.publicKey;
  const cli = (args: string[]): ReturnType<typeof runCli> => runCli([...args, '--data', cfg.dataDir, '--admin-key', admin.secret]);

  const run = await cli(['run', 'phase13', '--pockets', '1024', '--ticks', '300', '--coupling', '0.002', '--id', 'g1', '--backend', 'js']);
  t.is(run.code, 0, run.stderr);
  const done = await host.whenFinished('g1');
  t.is(done.state, 'done');
  const cancel = await cli(['cancel', 'g1']);
  t.is(cancel.code, 2, 'a finished run takes no more commands (BAD_USAGE)');
  const status = await host.hostStatus();
  t.like(status.governance, { quorum: 1, validators: ['gov-solo'], quorumAvailable: true });

  const shutdown = await cli(['shutdown', '--json']);
  t.is(shutdown.code, 0, shutdown.stderr);
  t.like(JSON.parse(shutdown.stdout) as Record<string, unknown>, { node: 'gov-solo', ledger: 'certified' });
  await asked;
  stopped = true;
  await host.stop();

  const verify = await runCli(['ledger', 'verify', '--data', cfg.dataDir]);
  t.is(verify.code, 0, verify.stdout + verify.stderr);
  const exported = await runCli(['ledger', 'export', '--data', cfg.dataDir]);
  t.is(exported.code, 0, exported.stderr);
  const lines = exported.stdout.trim().split('\n').slice(1).map((l) => JSON.parse(l) as ExportLine);
  t.true(lines.every((l) => l.origin === 'gov-solo'));
  t.deepEqual(lines.map((l) => l.seq), lines.map((_, i) => i + 1), 'one chain, seq 1..n');
  // What happened, in the order it happened: the run command done, its epochs, the refused cancel, the shutdown.
  const { decodeEntry } = await import('../runtime/ledger/entry.js');
  const entries = lines.map((l) => decodeEntry(Buffer.from(l.entry!, 'hex')));
  const admins = entries.filter((e) => e.kind === 'admin').map((e) => `${e.kind === 'admin' ? e.detail.command : ''} ${e.decision}`);
  t.deepEqual(admins, ['run done', 'cancel refused:BAD_USAGE', 'shutdown done']);
  t.is(entries.filter((e) => e.kind === 'ethics_check' && e.run === 'g1').length, done.epoch, 'one ethics check per epoch');
  t.is(entries.at(-1)!.kind, 'admin', 'the shutdown is the last entry, certified before the stop');

  // The next start reuses the identity: same key, the chain goes on.
  const again = createHost(cfg, { logger: createLogger({ nodeId: 'gov-solo', destination: memorySink().stream }) });
  await again.start();
  const after = (JSON.parse(await readFile(join(cfg.dataDir, 'identity', 'node.json'), 'utf8')) as { ed25519: { publicKey: string } }).ed25519.publicKey;
  t.is(after, publicKey);
  t.is(((await again.hostStatus()) as { governance: { heads: Record<string, number> } }).governance.heads['gov-solo'], lines.length);
  await again.stop();
});

test('a data dir whose identity names another node id is refused at start (KEY_INVALID)', async (t) => {
  const dir = await tempDir(t);
  const admin = await adminKeys(dir);
  const first = createHost(soloConfig(dir, admin.pub), { logger: createLogger({ nodeId: 'gov-solo', destination: memorySink().stream }) });
  await first.start();
  await first.stop();
  const renamed = parseHostConfig({ ...soloConfig(dir, admin.pub), node: { id: 'gov-other' } });
  const host = createHost(renamed, { logger: createLogger({ nodeId: 'gov-other', destination: memorySink().stream }) });
  t.teardown(() => host.stop());
  const e = await t.throwsAsync(host.start());
  t.is((e as { code?: string }).code, 'KEY_INVALID');
  t.regex(e!.message, /gov-solo.*node\.id is gov-other/);
});

test('status and runs answer from kept state while a run waits on governance', async (t) => {
  const dir = await tempDir(t);
  const admin = await adminKeys(dir);
  const cfg = soloConfig(dir, admin.pub, [{ phase: 'phase13', id: 'slow', pockets: 1024, ticks: 1_000_000, couplings: [0.002], epochTicks: 100, backend: 'js' }]);
  const logs = memorySink();
  const host = createHost(cfg, { logger: createLogger({ nodeId: 'gov-solo', destination: logs.stream }) });
  await host.start();
  await logs.waitFor((l) => l['msg'] === 'epoch' && l['run'] === 'slow');
  // Stand-in for a round that waits for votes that do not come: from now on the ledger's record
  // does not settle until the test lets it (at teardown, so the run can drain and the host stop).
  const governance = (host as unknown as { governance: { record: (e: unknown) => Promise<void> } }).governance;
  const original = governance.record.bind(governance);
  const held: Array<() => void> = [];
  let released = false;
  let entered!: () => void;
  const inRecord = new Promise<void>((resolve) => (entered = resolve));
  governance.record = (e: unknown): Promise<void> => {
    if (released) return original(e);
    entered();
    return new Promise<void>((resolve, reject) => held.push(() => void original(e).then(resolve, reject)));
  };
  t.teardown(async () => {
    released = true;
    for (const release of held) release();
    await host.stop();
  });
  await inRecord;

  const started = Date.now();
  const status = (await Promise.race([host.hostStatus(), new Promise((_, reject) => setTimeout(() => reject(new Error('status waited on governance')), 5000).unref())])) as { runs: Array<{ run: string; epoch: number }> };
  t.true(Date.now() - started < 5000);
  t.like(status.runs.find((r) => r.run === 'slow'), { run: 'slow' });
  const runs = await runCli(['runs', '--json', '--data', cfg.dataDir, '--admin-key', admin.secret]);
  t.is(runs.code, 0, runs.stderr);
  t.true((JSON.parse(runs.stdout) as Array<{ run: string; epoch: number }>).some((r) => r.run === 'slow' && r.epoch >= 1));
});

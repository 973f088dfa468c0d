/**
 * Host configuration: one test per rule, each asserting CONFIG_INVALID and
 * that the message names the field; env overrides; the shipped example loads.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { DEFAULTS } from '../config/defaults.js';
import { applyEnv, loadConfig } from '../config/load.js';
import { parseHostConfig } from '../config/schema.js';
import { isQallowError } from '../runtime/errors.js';

const base = { node: { id: 'host-a' }, dataDir: '/tmp/qallow-x' };

function rejects(t: import('ava').ExecutionContext, raw: unknown, field: string): void {
  const err = t.throws(() => parseHostConfig(raw, 'test.json'));
  t.true(isQallowError(err, 'CONFIG_INVALID'), String(err));
  t.is((err as unknown as { details: Record<string, unknown> }).details['field'], field, (err as Error).message);
  t.true((err as Error).message.startsWith(field), (err as Error).message);
  t.true((err as Error).message.includes('test.json'));
}

test('a minimal config gets every default', (t) => {
  const c = parseHostConfig(base);
  t.is(c.epochTicks, DEFAULTS.epochTicks);
  t.deepEqual(c.compute, { threads: 0, backend: 'auto', maxPockets: 2 ** 24, maxEpochCost: 2 ** 33, sliceCost: 2 ** 24 });
  t.is(c.holdRuns, false);
  t.deepEqual(c.ethics, { threshold: 2.9, entropyMax: 0.001 });
  t.is(c.supervision.backoff.jitter, 0.2);
  t.deepEqual(c.runs, []);
});

test('node.id is required and must be a valid name', (t) => {
  rejects(t, { dataDir: '/x' }, 'config.node');
  rejects(t, { ...base, node: { id: 'Bad Name' } }, 'config.node.id');
});

test('dataDir is required', (t) => rejects(t, { node: { id: 'a' } }, 'config.dataDir'));
test('unknown settings are refused, with the misspelt key named', (t) => rejects(t, { ...base, compute: { thread: 2 } }, 'config.compute.thread'));
test('compute.threads must be an integer in 0..256', (t) => {
  rejects(t, { ...base, compute: { threads: -1 } }, 'config.compute.threads');
  rejects(t, { ...base, compute: { threads: 1.5 } }, 'config.compute.threads');
  rejects(t, { ...base, compute: { threads: '2' } }, 'config.compute.threads');
});
test('compute.backend must be a known backend', (t) => rejects(t, { ...base, compute: { backend: 'quantum' } }, 'config.compute.backend'));
test('compute.maxEpochCost must be a positive integer', (t) => rejects(t, { ...base, compute: { maxEpochCost: 0 } }, 'config.compute.maxEpochCost'));
test('compute.sliceCost must be a positive integer', (t) => rejects(t, { ...base, compute: { sliceCost: 2.5 } }, 'config.compute.sliceCost'));
test('holdRuns must be a boolean', (t) => rejects(t, { ...base, holdRuns: 'yes' }, 'config.holdRuns'));
test('epochTicks must be a positive integer', (t) => rejects(t, { ...base, epochTicks: 0 }, 'config.epochTicks'));
test('ethics.entropyMax must be ≥ 0', (t) => rejects(t, { ...base, ethics: { entropyMax: -1 } }, 'config.ethics.entropyMax'));
test('supervision.backoff.jitter must be within [0, 1]', (t) => rejects(t, { ...base, supervision: { backoff: { jitter: 2 } } }, 'config.supervision.backoff.jitter'));
test('supervision.withinSeconds must be > 0', (t) => rejects(t, { ...base, supervision: { withinSeconds: 0 } }, 'config.supervision.withinSeconds'));
test('telemetry.logLevel must be a pino level', (t) => rejects(t, { ...base, telemetry: { logLevel: 'loud' } }, 'config.telemetry.logLevel'));
test('a boot run needs a known phase', (t) => rejects(t, { ...base, runs: [{ phase: 'phase14', id: 'x', ticks: 1 }] }, 'config.runs[0].phase'));
test('boot run parameters follow the CLI rules, named by field', (t) => {
  rejects(t, { ...base, runs: [{ phase: 'phase13', id: 'r', ticks: 10, pockets: 1, couplings: [0.001] }] }, 'config.runs[0].pockets');
  rejects(t, { ...base, runs: [{ phase: 'phase13', id: 'r', ticks: 10, pockets: 8, couplings: [-0.1] }] }, 'config.runs[0].couplings');
  rejects(t, { ...base, compute: { maxPockets: 100 }, runs: [{ phase: 'phase13', id: 'r', ticks: 10, pockets: 64, rings: 2, couplings: [0.001] }] }, 'config.runs[0].pockets');
  rejects(t, { ...base, runs: [{ phase: 'phase12', id: 'e', ticks: 0, eps: [0.001] }] }, 'config.runs[0].ticks');
});
test('boot run ids must be unique', (t) => {
  const run = { phase: 'phase12', id: 'e', ticks: 10, eps: [0.001] };
  rejects(t, { ...base, runs: [run, run] }, 'config.runs[1].id');
});

test('environment variables override the file', (t) => {
  const raw = applyEnv(base, { QALLOW_NODE_ID: 'host-b', QALLOW_THREADS: '3', QALLOW_BACKEND: 'js', QALLOW_DATA_DIR: '/data', QALLOW_EPOCH_TICKS: '250' });
  const c = parseHostConfig(raw);
  t.is(c.node.id, 'host-b');
  t.is(c.compute.threads, 3);
  t.is(c.compute.backend, 'js');
  t.is(c.dataDir, '/data');
  t.is(c.epochTicks, 250);
  const err = t.throws(() => applyEnv(base, { QALLOW_THREADS: 'many' }));
  t.true(isQallowError(err, 'CONFIG_INVALID'));
  t.regex((err as Error).message, /QALLOW_THREADS/);
});

test('loadConfig: unreadable file, bad JSON, relative dataDir', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qallow-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const missing = await t.throwsAsync(loadConfig(join(dir, 'nope.json'), {}));
  t.true(isQallowError(missing, 'CONFIG_INVALID'));
  t.regex((missing as Error).message, /nope\.json/);
  await writeFile(join(dir, 'bad.json'), '{ "node": ');
  const bad = await t.throwsAsync(loadConfig(join(dir, 'bad.json'), {}));
  t.true(isQallowError(bad, 'CONFIG_INVALID'));
  t.regex((bad as Error).message, /not valid JSON/);
  await writeFile(join(dir, 'ok.json'), JSON.stringify({ node: { id: 'a' }, dataDir: 'data/a' }));
  const ok = await loadConfig(join(dir, 'ok.json'), {});
  t.is(ok.dataDir, resolve(dir, 'data/a'));
});

test('the shipped single-host example is valid', async (t) => {
  const example = fileURLToPath(new URL('../../config/examples/single-host.json', import.meta.url));
  const c = await loadConfig(example, {});
  t.is(c.node.id, 'host-a');
  t.true(c.runs.length >= 3);
});

const cluster = { bind: 'tcp://127.0.0.1:0', identityDir: 'keys/a', peers: [{ id: 'host-b', address: 'tcp://127.0.0.1:7110', identityFile: 'keys/b/node.json' }] };

test('cluster: defaults, and every field validated with its name', (t) => {
  const c = parseHostConfig({ ...base, cluster });
  t.is(c.cluster!.heartbeatMs, 200);
  t.is(c.admin.bind, 'tcp://127.0.0.1:0');
  rejects(t, { ...base, cluster: { ...cluster, bind: '10.0.0.5' } }, 'config.cluster.bind');
  rejects(t, { ...base, cluster: { ...cluster, peers: [{ id: 'host-b', address: 'tcp://127.0.0.1', identityFile: 'x' }] } }, 'config.cluster.peers[0].address');
  rejects(t, { ...base, cluster: { ...cluster, peers: [{ id: 'host-a', address: 'tcp://127.0.0.1:1', identityFile: 'x' }] } }, 'config.cluster.peers[0].id');
  rejects(t, { ...base, cluster: { ...cluster, peers: [cluster.peers[0], cluster.peers[0]] } }, 'config.cluster.peers[1].id');
  rejects(t, { ...base, cluster: { ...cluster, suspectPhi: 5, downPhi: 4 } }, 'config.cluster.downPhi');
  rejects(t, { ...base, cluster: { ...cluster, maxFrameBytes: 10 } }, 'config.cluster.maxFrameBytes');
  rejects(t, { ...base, admin: { bind: 'http://x:1' } }, 'config.admin.bind');
});

test('cluster: environment overrides for containers (bind, peers, admin bind)', (t) => {
  const raw = applyEnv({ ...base, cluster }, { QALLOW_CLUSTER_BIND: 'tcp://0.0.0.0:7100', QALLOW_ADMIN_BIND: 'tcp://0.0.0.0:7200', QALLOW_PEERS: 'host-x=tcp://x:7100=/keys/x.json,host-y=tcp://y:7100=/keys/y.json' });
  const c = parseHostConfig(raw);
  t.is(c.cluster!.bind, 'tcp://0.0.0.0:7100');
  t.is(c.admin.bind, 'tcp://0.0.0.0:7200');
  t.deepEqual(c.cluster!.peers.map((p) => p.id), ['host-x', 'host-y']);
  const err = t.throws(() => applyEnv({ ...base, cluster }, { QALLOW_PEERS: 'host-x=tcp://x:7100' }));
  t.true(isQallowError(err, 'CONFIG_INVALID'));
  t.regex((err as Error).message, /QALLOW_PEERS entry 0/);
});

test('cluster: peers derived from a Kubernetes StatefulSet headless service', async (t) => {
  const { k8sPeers } = await import('../config/schema.js');
  const c = parseHostConfig({ ...base, node: { id: 'qallow-1' }, cluster: { ...cluster, peers: [], k8s: { statefulSet: 'qallow', service: 'qallow-peers', namespace: 'sim', replicas: 3, port: 7100, identityDir: '/etc/qallow/identities/' } } });
  const peers = k8sPeers(c.cluster!.k8s!, 'qallow-1');
  t.deepEqual(peers, [
    { id: 'qallow-0', address: 'tcp://qallow-0.qallow-peers.sim.svc.cluster.local:7100', identityFile: '/etc/qallow/identities/qallow-0.json' },
    { id: 'qallow-2', address: 'tcp://qallow-2.qallow-peers.sim.svc.cluster.local:7100', identityFile: '/etc/qallow/identities/qallow-2.json' },
  ]);
});

test('the shipped three-host example configs are valid and agree with each other', async (t) => {
  const dir = fileURLToPath(new URL('../../config/examples/three-host/', import.meta.url));
  const hosts = await Promise.all(['a', 'b', 'c'].map((h) => loadConfig(join(dir, `host-${h}.json`), {})));
  for (const h of hosts) {
    t.is(h.cluster!.peers.length, 2);
    for (const p of h.cluster!.peers) {
      const other = hosts.find((o) => o.node.id === p.id)!;
      t.is(p.address, other.cluster!.bind, `${h.node.id} reaches ${p.id} where it binds`);
    }
  }
});

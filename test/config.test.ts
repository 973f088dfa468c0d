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
  t.deepEqual(c.compute, { threads: 0, backend: 'auto', maxPockets: 2 ** 24 });
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

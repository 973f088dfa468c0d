/**
 * Load a host's config: the JSON file, then environment overrides (for
 * containers), then validation. Errors name the file, the field and what to
 * do; nothing starts with a config that failed.
 *
 * Environment overrides:
 *   QALLOW_NODE_ID      node.id
 *   QALLOW_DATA_DIR     dataDir
 *   QALLOW_THREADS      compute.threads
 *   QALLOW_BACKEND      compute.backend
 *   QALLOW_LOG_LEVEL    telemetry.logLevel
 *   QALLOW_EPOCH_TICKS  epochTicks
 *   QALLOW_CLUSTER_BIND cluster.bind
 *   QALLOW_PEERS        cluster.peers as "id=tcp://host:port=identityFile,..."
 *   QALLOW_ADMIN_BIND   admin.bind
 *   QALLOW_METRICS_BIND metrics.bind (HOST:PORT)
 * In Kubernetes, QALLOW_NODE_ID is usually the pod name (HOSTNAME) and the
 * peers come from `cluster.k8s` instead (a StatefulSet's headless service).
 * Relative paths (dataDir, identity files) are resolved against the config
 * file's directory.
 */
import { readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { QallowError } from '../runtime/errors.js';
import { parseHostConfig, type HostConfig } from './schema.js';

type Env = Readonly<Record<string, string | undefined>>;

/** This machine's interface addresses, so a peer that is this host is refused (config/schema.ts). */
function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
}

function envNumber(env: Env, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) {
    throw new QallowError('CONFIG_INVALID', `environment variable ${name} must be a number (got "${v}")`, { field: name, source: 'environment' });
  }
  return n;
}

/** Apply QALLOW_* environment overrides to a parsed (not yet validated) config object. */
export function applyEnv(raw: unknown, env: Env): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const c = structuredClone(raw) as Record<string, unknown>;
  const section = (name: string): Record<string, unknown> => {
    const s = c[name];
    if (typeof s === 'object' && s !== null && !Array.isArray(s)) return s as Record<string, unknown>;
    const fresh: Record<string, unknown> = {};
    c[name] = fresh;
    return fresh;
  };
  if (env['QALLOW_NODE_ID']) section('node')['id'] = env['QALLOW_NODE_ID'];
  if (env['QALLOW_DATA_DIR']) c['dataDir'] = env['QALLOW_DATA_DIR'];
  const threads = envNumber(env, 'QALLOW_THREADS');
  if (threads !== undefined) section('compute')['threads'] = threads;
  if (env['QALLOW_BACKEND']) section('compute')['backend'] = env['QALLOW_BACKEND'];
  if (env['QALLOW_LOG_LEVEL']) section('telemetry')['logLevel'] = env['QALLOW_LOG_LEVEL'];
  const epochTicks = envNumber(env, 'QALLOW_EPOCH_TICKS');
  if (epochTicks !== undefined) c['epochTicks'] = epochTicks;
  if (env['QALLOW_CLUSTER_BIND']) section('cluster')['bind'] = env['QALLOW_CLUSTER_BIND'];
  if (env['QALLOW_ADMIN_BIND']) section('admin')['bind'] = env['QALLOW_ADMIN_BIND'];
  if (env['QALLOW_METRICS_BIND']) section('metrics')['bind'] = env['QALLOW_METRICS_BIND'];
  if (env['QALLOW_PEERS'] !== undefined) {
    section('cluster')['peers'] = env['QALLOW_PEERS']
      .split(',')
      .filter((x) => x.trim() !== '')
      .map((entry, i) => {
        const [id, address, identityFile] = entry.split('=');
        if (!id || !address || !identityFile) {
          throw new QallowError('CONFIG_INVALID', `environment variable QALLOW_PEERS entry ${i} must be id=tcp://host:port=identityFile (got "${entry}")`, { field: 'QALLOW_PEERS', source: 'environment' });
        }
        return { id, address, identityFile };
      });
  }
  return c;
}

export async function loadConfig(path: string, env: Env = process.env): Promise<HostConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new QallowError('CONFIG_INVALID', `cannot read config file ${path}: ${(e as Error).message}`, { field: 'file', source: path });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new QallowError('CONFIG_INVALID', `config file ${path} is not valid JSON: ${(e as Error).message}`, { field: 'file', source: path });
  }
  const config = parseHostConfig(applyEnv(raw, env), path, localAddresses());
  const base = dirname(path);
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  config.dataDir = abs(config.dataDir);
  if (config.cluster) {
    config.cluster.identityDir = abs(config.cluster.identityDir);
    for (const p of config.cluster.peers) p.identityFile = abs(p.identityFile);
    if (config.cluster.k8s) config.cluster.k8s.identityDir = abs(config.cluster.k8s.identityDir);
  }
  config.admin.authorizedKeys = config.admin.authorizedKeys.map(abs);
  return config;
}

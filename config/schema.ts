/**
 * The host configuration: its shape, its rules, and the one function that
 * turns untrusted JSON into a typed HostConfig or fails naming the field
 * (`config.compute.threads must be an integer ≥ 0 (got -1)`). Validation
 * happens once, at start-up; nothing downstream re-checks.
 */
import { z } from 'zod';
import { BACKENDS } from '../kernels/backend.js';
import { isNodeId } from '../runtime/actors/address.js';
import { phase12Params, phase13Params } from '../kernels/params.js';
import { QallowError, isQallowError } from '../runtime/errors.js';
import { DEFAULTS } from './defaults.js';

// The same rule as actor addresses (runtime/actors/address.ts), so every configured id is addressable.
const nodeId = z.string().refine((v: string): boolean => isNodeId(v), 'must be 1–63 lowercase letters, digits, "-" or ".", starting and ending with a letter or digit');
const runId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be 1–128 letters, digits, ".", "_" or "-", starting with a letter or digit');
const positiveInt = z.number().int('must be an integer').min(1, 'must be ≥ 1');
const backend = z.enum(['auto', ...BACKENDS]);

const bootRun = z.discriminatedUnion('phase', [
  z.strictObject({
    phase: z.literal('phase12'),
    id: runId,
    ticks: positiveInt,
    eps: z.array(z.number()).min(1, 'needs at least one value'),
    epochTicks: positiveInt.optional(),
    backend: backend.optional(),
  }),
  z.strictObject({
    phase: z.literal('phase13'),
    id: runId,
    ticks: positiveInt,
    pockets: z.number().int('must be an integer'),
    couplings: z.array(z.number()).min(1, 'needs at least one value'),
    rings: positiveInt.optional(),
    epochTicks: positiveInt.optional(),
    backend: backend.optional(),
  }),
]);

const endpoint = z.string().regex(/^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5}|\*)$/, 'must be tcp://HOST:PORT (port 0 or * for any free port)');

const peer = z.strictObject({
  id: nodeId,
  address: endpoint,
  /** The peer's public identity file (node.json from `qallow keys gen`). */
  identityFile: z.string().min(1, 'must be a file path'),
});

/** Peers derived from a Kubernetes StatefulSet behind a headless service. */
const k8s = z.strictObject({
  statefulSet: nodeId,
  service: z.string().min(1),
  namespace: z.string().min(1).default('default'),
  replicas: positiveInt,
  port: z.number().int().min(1).max(65535),
  /** Directory holding every member's public identity as <id>.json (a mounted Secret or ConfigMap). */
  identityDir: z.string().min(1),
  clusterDomain: z.string().min(1).default('cluster.local'),
});

const cluster = z.strictObject({
  bind: endpoint,
  /** This host's identity directory (node.json + node.secret.json from `qallow keys gen`). */
  identityDir: z.string().min(1, 'must be a directory path'),
  peers: z.array(peer).default([]),
  k8s: k8s.optional(),
  heartbeatMs: positiveInt.default(DEFAULTS.cluster.heartbeatMs),
  suspectPhi: z.number().positive().default(DEFAULTS.cluster.suspectPhi),
  downPhi: z.number().positive().default(DEFAULTS.cluster.downPhi),
  maxFrameBytes: z.number().int().min(1024, 'must be ≥ 1024').default(DEFAULTS.cluster.maxFrameBytes),
  sendQueueLimit: positiveInt.default(DEFAULTS.cluster.sendQueueLimit),
  /** Paced runs may lead the slowest live peer running them by at most this many ticks (runtime/cluster/pacer.ts). */
  maxLeadTicks: positiveInt.default(DEFAULTS.cluster.maxLeadTicks),
});

const admin = z.strictObject({
  bind: endpoint.default(DEFAULTS.admin.bind),
  /** Public admin identity files (admin.json from `qallow keys gen`) allowed to steer this host. */
  authorizedKeys: z.array(z.string().min(1)).default([]),
  maxSkewMs: positiveInt.default(DEFAULTS.admin.maxSkewMs),
});

/** HOST:PORT for the metrics HTTP server (port 0 = any free port). */
const httpBind = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/, 'must be HOST:PORT (port 0 for any free port)')
  .refine((v: string): boolean => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'must have a port ≤ 65535');

const metrics = z.strictObject({
  enabled: z.boolean().default(DEFAULTS.metrics.enabled),
  bind: httpBind.default(DEFAULTS.metrics.bind),
});

export const hostConfigSchema = z.strictObject({
  node: z.strictObject({ id: nodeId }),
  dataDir: z.string().min(1, 'must be a directory path'),
  epochTicks: positiveInt.default(DEFAULTS.epochTicks),
  compute: z
    .strictObject({
      threads: z.number().int('must be an integer').min(0, 'must be ≥ 0 (0 = one per core)').max(256, 'must be ≤ 256').default(DEFAULTS.compute.threads),
      backend: backend.default(DEFAULTS.compute.backend),
      maxPockets: positiveInt.default(DEFAULTS.compute.maxPockets),
      maxEpochCost: positiveInt.default(DEFAULTS.compute.maxEpochCost),
      sliceCost: positiveInt.default(DEFAULTS.compute.sliceCost),
    })
    .prefault({}),
  holdRuns: z.boolean().default(DEFAULTS.holdRuns),
  ethics: z
    .strictObject({
      threshold: z.number().default(DEFAULTS.ethics.threshold),
      entropyMax: z.number().min(0, 'must be ≥ 0').default(DEFAULTS.ethics.entropyMax),
    })
    .prefault({}),
  governance: z
    .strictObject({
      enabled: z.boolean().default(DEFAULTS.governance.enabled),
      maxFailingEpochs: positiveInt.default(DEFAULTS.governance.maxFailingEpochs),
      maxAdaptations: z.number().int('must be an integer').min(0, 'must be ≥ 0').default(DEFAULTS.governance.maxAdaptations),
      adaptationFactor: z.number().gt(0, 'must be > 0').lt(1, 'must be < 1').default(DEFAULTS.governance.adaptationFactor),
      onQuorumLoss: z.enum(['pause', 'continue']).default(DEFAULTS.governance.onQuorumLoss),
    })
    .prefault({}),
  supervision: z
    .strictObject({
      maxRestarts: z.number().int('must be an integer').min(0, 'must be ≥ 0').default(DEFAULTS.supervision.maxRestarts),
      withinSeconds: z.number().positive('must be > 0').default(DEFAULTS.supervision.withinSeconds),
      backoff: z
        .strictObject({
          initialMs: z.number().min(0, 'must be ≥ 0').default(DEFAULTS.supervision.backoff.initialMs),
          maxMs: z.number().min(0, 'must be ≥ 0').default(DEFAULTS.supervision.backoff.maxMs),
          jitter: z.number().min(0, 'must be ≥ 0').max(1, 'must be ≤ 1').default(DEFAULTS.supervision.backoff.jitter),
        })
        .prefault({}),
    })
    .prefault({}),
  telemetry: z
    .strictObject({
      intervalMs: positiveInt.default(DEFAULTS.telemetry.intervalMs),
      logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default(DEFAULTS.telemetry.logLevel),
    })
    .prefault({}),
  cluster: cluster.optional(),
  admin: admin.prefault({}),
  metrics: metrics.prefault({}),
  /** Runs to start at boot, so a host is usable before the admin CLI exists. */
  runs: z.array(bootRun).default([]),
});

export type HostConfig = z.infer<typeof hostConfigSchema>;
export type BootRun = HostConfig['runs'][number];

function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : `${acc}.${String(p)}`), 'config');
}

function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  const s = JSON.stringify(value);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

function valueAt(raw: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = raw;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** `tcp://HOST:PORT` → [host (lowercase, no brackets), port or null for 0/*]. */
function splitEndpoint(address: string): [string, number | null] {
  const at = address.lastIndexOf(':');
  const host = address.slice('tcp://'.length, at).replace(/^\[|\]$/g, '').toLowerCase();
  const port = address.slice(at + 1);
  return [host === 'localhost' ? '127.0.0.1' : host, port === '*' || Number(port) === 0 ? null : Number(port)];
}

const isLoopback = (h: string): boolean => h.startsWith('127.') || h === '::1';
const isWildcard = (h: string): boolean => h === '0.0.0.0' || h === '::' || h === '*';

/** Whether a peer at `peer` is in fact this host listening on `bind` (whose machine has `local` addresses). */
function isOwnEndpoint(peer: string, bind: string, local: readonly string[]): boolean {
  const [ph, pp] = splitEndpoint(peer);
  const [bh, bp] = splitEndpoint(bind);
  if (pp === null || bp === null || pp !== bp) return false;
  if (ph === bh) return true;
  if (isLoopback(ph)) return isLoopback(bh) || isWildcard(bh);
  return isWildcard(bh) && local.map((a) => a.toLowerCase()).includes(ph);
}

/**
 * Validate a parsed JSON value; `source` names where it came from, for the message.
 * @param localAddresses this machine's interface addresses (loadConfig passes
 *   them), so a peer address that is this host behind a wildcard bind is caught.
 */
export function parseHostConfig(raw: unknown, source = 'config', localAddresses: readonly string[] = []): HostConfig {
  const r = hostConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    let path = issue.path;
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      path = [...path, issue.keys[0]!];
      message = 'is not a known setting (check the spelling against config/examples/)';
    } else if (issue.code === 'invalid_type') {
      message = `must be ${issue.expected}`;
    }
    const field = fieldPath(path);
    throw new QallowError('CONFIG_INVALID', `${field} ${message} (got ${shown(valueAt(raw, path))}) in ${source}`, { field, source });
  }
  const config = r.data;
  // The run parameters follow the same rules as the CLI (kernels/params.ts).
  config.runs.forEach((run, i) => {
    try {
      if (run.phase === 'phase12') phase12Params({ ticks: run.ticks, eps: run.eps });
      else phase13Params({ ticks: run.ticks, pockets: run.pockets, couplings: run.couplings, rings: run.rings, maxPockets: config.compute.maxPockets });
    } catch (e) {
      if (!isQallowError(e, 'BAD_PARAMETER')) throw e;
      const param = String(e.details['param'] ?? '').replace(/^coupling/, 'couplings');
      const field = `config.runs[${i}]${param ? `.${param}` : ''}`;
      throw new QallowError('CONFIG_INVALID', `${field}: ${e.message} in ${source}`, { field, source });
    }
  });
  const ids = new Set<string>();
  config.runs.forEach((run, i) => {
    if (ids.has(run.id)) {
      const field = `config.runs[${i}].id`;
      throw new QallowError('CONFIG_INVALID', `${field} "${run.id}" is used by an earlier run; run ids must be unique in ${source}`, { field, source });
    }
    ids.add(run.id);
  });
  if (config.cluster) {
    const c = config.cluster;
    if (c.downPhi <= c.suspectPhi) {
      throw new QallowError('CONFIG_INVALID', `config.cluster.downPhi must be above suspectPhi (${c.suspectPhi}) (got ${c.downPhi}) in ${source}`, { field: 'config.cluster.downPhi', source });
    }
    c.peers.forEach((p, i) => {
      if (p.id === config.node.id) {
        const field = `config.cluster.peers[${i}].id`;
        throw new QallowError('CONFIG_INVALID', `${field} "${p.id}" is this host's own id; list only the other hosts in ${source}`, { field, source });
      }
      if (c.peers.findIndex((q) => q.id === p.id) !== i) {
        const field = `config.cluster.peers[${i}].id`;
        throw new QallowError('CONFIG_INVALID', `${field} "${p.id}" is listed twice in ${source}`, { field, source });
      }
      // Two peers at one address would be one host under two names; a peer at this host's own address is this host.
      const same = c.peers.findIndex((q) => splitEndpoint(q.address).join(':') === splitEndpoint(p.address).join(':'));
      if (same !== i) {
        const field = `config.cluster.peers[${i}].address`;
        throw new QallowError('CONFIG_INVALID', `${field} "${p.address}" is also the address of config.cluster.peers[${same}] ("${c.peers[same]!.id}"); each peer is one host at its own address in ${source}`, { field, source });
      }
      for (const [name, bind] of [['cluster.bind', c.bind], ['admin.bind', config.admin.bind]] as const) {
        if (isOwnEndpoint(p.address, bind, localAddresses)) {
          const field = `config.cluster.peers[${i}].address`;
          throw new QallowError('CONFIG_INVALID', `${field} "${p.address}" is this host's own address (config.${name} is ${bind}); list only the other hosts in ${source}`, { field, source });
        }
      }
    });
  }
  return config;
}

export interface DerivedPeer {
  readonly id: string;
  readonly address: string;
  readonly identityFile: string;
}

/**
 * The peers of a StatefulSet member: pods are named `<set>-<ordinal>` and
 * resolvable as `<set>-<i>.<service>.<namespace>.svc.<domain>` through the
 * headless service; every member but `self` is a peer.
 */
export function k8sPeers(k: NonNullable<NonNullable<HostConfig['cluster']>['k8s']>, self: string): DerivedPeer[] {
  const out: DerivedPeer[] = [];
  for (let i = 0; i < k.replicas; i++) {
    const id = `${k.statefulSet}-${i}`;
    if (id === self) continue;
    out.push({ id, address: `tcp://${id}.${k.service}.${k.namespace}.svc.${k.clusterDomain}:${k.port}`, identityFile: `${k.identityDir.replace(/\/$/, '')}/${id}.json` });
  }
  return out;
}

/**
 * deploy/ against the code: every manifest parses (a small YAML-subset reader
 * below, tested first), the ConfigMap's config passes the schema, and the
 * ports, paths, env names, probes, service names, key files and the
 * Dockerfile's user, volume and ports agree with that config and with
 * config/load.ts.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { applyEnv } from '../config/load.js';
import { parseHostConfig, type HostConfig } from '../config/schema.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const K8S = join(ROOT, 'deploy', 'k8s');

type Yaml = string | number | boolean | null | Yaml[] | { [k: string]: Yaml };

interface Line {
  readonly indent: number;
  readonly text: string;
  readonly no: number;
}

function stripComment(s: string): string {
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || s[i - 1] === ' ')) return s.slice(0, i).trimEnd();
  }
  return s.trimEnd();
}

function scalar(raw: string, no: number): Yaml {
  const s = raw.trim();
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2) throw new Error(`line ${no}: unterminated string`);
    return JSON.parse(s) as string;
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) throw new Error(`line ${no}: unterminated string`);
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (s.startsWith('[') || s.startsWith('{')) {
    if (s === '[]') return [];
    if (s === '{}') return {};
    return JSON.parse(s) as Yaml; // flow collections: only JSON-compatible ones are used
  }
  if (s === 'true' || s === 'false') return s === 'true';
  if (s === 'null' || s === '~' || s === '') return null;
  if (/^0[0-7]+$/.test(s)) return parseInt(s, 8); // YAML 1.1 octal (file modes), as Kubernetes reads it
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  if (/^[&*!|>%@`]/.test(s)) throw new Error(`line ${no}: unsupported YAML "${s}"`);
  return s;
}

/** The YAML subset the manifests use: block mappings and sequences, `|` literals, plain/quoted scalars, JSON-style flow collections, `---`. */
function parseYaml(src: string): Yaml[] {
  const docs: Yaml[] = [];
  for (const chunk of src.split(/^---\s*$/m)) {
    const lines: Line[] = [];
    chunk.split('\n').forEach((raw, i) => lines.push({ indent: raw.length - raw.trimStart().length, text: raw, no: i + 1 }));
    if (lines.some((l) => l.text.includes('\t'))) throw new Error('tabs are not allowed');
    let i = 0;
    const skip = (): void => {
      while (i < lines.length && stripComment(lines[i]!.text).trim() === '') i++;
    };
    const block = (indent: number): Yaml => {
      skip();
      const first = lines[i];
      if (!first || first.indent < indent) return null;
      const at = first.indent;
      if (stripComment(first.text).trim().startsWith('- ') || stripComment(first.text).trim() === '-') {
        const seq: Yaml[] = [];
        for (skip(); i < lines.length && lines[i]!.indent === at && stripComment(lines[i]!.text).trim().startsWith('-'); skip()) {
          const l = lines[i]!;
          const rest = stripComment(l.text).trim().slice(1).trimStart();
          if (rest === '') {
            i++;
            seq.push(block(at + 1));
          } else if (/^("[^"]*"|[^\s"'[{][^:]*):(\s|$)/.test(rest)) {
            // "- key: value": a mapping whose first line sits two columns in.
            lines[i] = { indent: at + 2, text: ' '.repeat(at + 2) + rest, no: l.no };
            seq.push(block(at + 2));
          } else {
            i++;
            seq.push(scalar(rest, l.no));
          }
        }
        return seq;
      }
      const map: Record<string, Yaml> = {};
      for (skip(); i < lines.length && lines[i]!.indent === at; skip()) {
        const l = lines[i]!;
        const text = stripComment(l.text).trim();
        const m = /^("[^"]*"|[^\s"'][^:]*):(\s+(.*))?$/.exec(text);
        if (!m) throw new Error(`line ${l.no}: expected "key: value" (got "${text}")`);
        const key = m[1]!.startsWith('"') ? (JSON.parse(m[1]!) as string) : m[1]!;
        if (key in map) throw new Error(`line ${l.no}: duplicate key ${key}`);
        const value = (m[3] ?? '').trim();
        i++;
        if (value === '|' || value === '|-') {
          const body: string[] = [];
          let ind = -1;
          while (i < lines.length && (lines[i]!.text.trim() === '' || lines[i]!.indent > at)) {
            const t = lines[i]!.text;
            if (t.trim() !== '' && ind < 0) ind = lines[i]!.indent;
            body.push(t.trim() === '' ? '' : t.slice(ind));
            i++;
          }
          while (body.length && body[body.length - 1] === '') body.pop();
          map[key] = body.join('\n') + (value === '|' ? '\n' : '');
        } else if (value === '') {
          skip();
          const next = lines[i];
          if (next && (next.indent > at || (next.indent === at && stripComment(next.text).trim().startsWith('- ')))) map[key] = block(next.indent);
          else map[key] = null;
        } else {
          map[key] = scalar(value, l.no);
        }
      }
      if (i < lines.length && lines[i]!.indent > at) throw new Error(`line ${lines[i]!.no}: bad indentation`);
      return map;
    };
    skip();
    if (i >= lines.length) continue;
    const doc = block(0);
    skip();
    if (i < lines.length) throw new Error(`line ${lines[i]!.no}: unexpected content`);
    docs.push(doc);
  }
  return docs;
}

// Small accessors over parsed YAML, failing loudly with the path.
function get(v: Yaml, path: string): Yaml {
  let cur: Yaml = v;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object') throw new Error(`no ${path} (stopped at ${p})`);
    cur = Array.isArray(cur) ? cur[Number(p)]! : cur[p]!;
    if (cur === undefined) throw new Error(`no ${path} (missing ${p})`);
  }
  return cur;
}
const obj = (v: Yaml, path: string): Record<string, Yaml> => get(v, path) as Record<string, Yaml>;
const arr = (v: Yaml, path: string): Yaml[] => get(v, path) as Yaml[];
const str = (v: Yaml, path: string): string => String(get(v, path));
const byName = (list: Yaml[], name: string): Record<string, Yaml> => {
  const hit = list.find((x) => (x as Record<string, Yaml>)['name'] === name);
  if (!hit) throw new Error(`no entry named ${name}`);
  return hit as Record<string, Yaml>;
};

const portOf = (endpoint: string): number => Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));

interface Deploy {
  files: Map<string, Yaml[]>;
  config: HostConfig;
  set: Yaml;
  pod: Yaml;
  container: Yaml;
  service: Yaml;
  dockerfile: string;
}

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...(await yamlFiles(join(dir, e.name))));
    else if (e.name.endsWith('.yaml')) out.push(join(dir, e.name));
  }
  return out;
}

async function load(): Promise<Deploy> {
  const files = new Map<string, Yaml[]>();
  for (const f of await yamlFiles(K8S)) files.set(f.slice(K8S.length + 1), parseYaml(await readFile(f, 'utf8')));
  const one = (name: string): Yaml => files.get(name)![0]!;
  const config = parseHostConfig(JSON.parse(String(obj(one('configmap.yaml'), 'data')['config.json'])), 'deploy/k8s/configmap.yaml');
  const set = one('statefulset.yaml');
  const pod = get(set, 'spec.template');
  return { files, config, set, pod, container: get(pod, 'spec.containers.0'), service: one('service.yaml'), dockerfile: await readFile(join(ROOT, 'deploy', 'Dockerfile'), 'utf8') };
}

test('the YAML reader reads what the manifests use and refuses what it does not know', (t) => {
  const [doc] = parseYaml(
    'a: 1\nb: "x: y" # c\nc:\n  - name: n\n    v: [1, 2]\n  - plain\nd: |\n  {\n    "k": 1\n  }\ne:\n- 0440\nf: {}\ng: true\n',
  );
  t.deepEqual(doc, { a: 1, b: 'x: y', c: [{ name: 'n', v: [1, 2] }, 'plain'], d: '{\n  "k": 1\n}\n', e: [288], f: {}, g: true });
  t.is(parseYaml('a: 1\n---\nb: 2\n').length, 2);
  t.throws(() => parseYaml('a: 1\na: 2\n'), { message: /duplicate key/ });
  t.throws(() => parseYaml('a: &anchor 1\n'), { message: /unsupported/ });
  t.throws(() => parseYaml('a:\n    b: 1\n  c: 2\n'), { message: /indentation|expected/ });
});

test('every manifest parses; the ConfigMap config passes the schema, with the pod env applied too', async (t) => {
  const d = await load();
  t.true(d.files.size >= 7, [...d.files.keys()].join(', '));
  for (const [name, docs] of d.files) t.true(docs.length >= 1 && docs.every((x) => typeof x === 'object' && x !== null), name);
  const env: Record<string, string> = { QALLOW_NODE_ID: 'qallow-1' };
  for (const e of arr(d.container, 'env')) {
    const v = (e as Record<string, Yaml>)['value'];
    if (typeof v === 'string') env[String((e as Record<string, Yaml>)['name'])] = v;
  }
  const raw = JSON.parse(String(obj(d.files.get('configmap.yaml')![0]!, 'data')['config.json'])) as unknown;
  const effective = parseHostConfig(applyEnv(raw, env), 'configmap + pod env');
  t.is(effective.node.id, 'qallow-1');
  t.is(effective.metrics.bind, d.config.metrics.bind);
});

test('names agree: StatefulSet, headless Service, cluster.k8s, namespace, replicas, pod selector', async (t) => {
  const d = await load();
  const k = d.config.cluster!.k8s!;
  t.is(str(d.service, 'spec.clusterIP'), 'None', 'headless');
  t.is(str(d.set, 'spec.serviceName'), str(d.service, 'metadata.name'));
  t.is(str(d.set, 'spec.serviceName'), k.service);
  t.is(str(d.set, 'metadata.name'), k.statefulSet);
  t.is(get(d.set, 'spec.replicas'), k.replicas);
  for (const [name, docs] of d.files) {
    if (name.includes('kustomization')) continue;
    const kind = str(docs[0]!, 'kind');
    t.is(kind === 'Namespace' ? str(docs[0]!, 'metadata.name') : str(docs[0]!, 'metadata.namespace'), k.namespace, name);
  }
  t.deepEqual(obj(d.service, 'spec.selector'), obj(d.set, 'spec.selector.matchLabels'));
  t.deepEqual(obj(d.pod, 'metadata.labels'), obj(d.set, 'spec.selector.matchLabels'));
  t.true(d.config.node.id.startsWith(`${k.statefulSet}-`), 'the file default id is a pod name');
});

test('ports agree: container ports, Service ports, probes and scrape annotations use the config binds', async (t) => {
  const d = await load();
  const c = d.config;
  const want = { cluster: portOf(c.cluster!.bind), admin: portOf(c.admin.bind), metrics: portOf(c.metrics.bind) };
  t.is(want.cluster, c.cluster!.k8s!.port, 'peers dial the port this host binds');
  const ports = arr(d.container, 'ports');
  for (const [name, port] of Object.entries(want)) {
    t.is(get(byName(ports, name), 'containerPort'), port, `container port ${name}`);
    const sp = byName(arr(d.service, 'spec.ports'), name);
    t.is(get(sp, 'port'), port, `service port ${name}`);
    t.is(get(sp, 'targetPort'), name);
  }
  t.false(c.cluster!.bind.includes('127.0.0.1') || c.admin.bind.includes('127.0.0.1') || c.metrics.bind.startsWith('127.'), 'binds reachable from other pods');
  const probePort = (p: Yaml): number => {
    const v = get(p, 'httpGet.port');
    return typeof v === 'number' ? v : (get(byName(ports, String(v)), 'containerPort') as number);
  };
  t.is(str(d.container, 'readinessProbe.httpGet.path'), '/readyz');
  t.is(str(d.container, 'livenessProbe.httpGet.path'), '/healthz');
  t.is(probePort(get(d.container, 'readinessProbe')), want.metrics);
  t.is(probePort(get(d.container, 'livenessProbe')), want.metrics);
  const ann = obj(d.pod, 'metadata.annotations');
  t.is(ann['prometheus.io/scrape'], 'true');
  t.is(Number(ann['prometheus.io/port']), want.metrics);
  t.is(ann['prometheus.io/path'], '/metrics');
});

test('env names exist in config/load.ts; QALLOW_NODE_ID is the pod name', async (t) => {
  const d = await load();
  const loadTs = await readFile(join(ROOT, 'config', 'load.ts'), 'utf8');
  const known = new Set([...loadTs.matchAll(/env\['(QALLOW_[A-Z_]+)'\]/g)].map((m) => m[1]!));
  t.true(known.has('QALLOW_NODE_ID') && known.has('QALLOW_METRICS_BIND'), [...known].join(','));
  const used = arr(d.container, 'env').map((e) => str(e, 'name'));
  const gpu = d.files.get('overlays/gpu/gpu-patch.yaml')![0]!;
  used.push(...arr(gpu, 'spec.template.spec.containers.0.env').map((e) => str(e, 'name')));
  used.push(...[...d.dockerfile.matchAll(/^ENV\s+(QALLOW_[A-Z_]+)=/gm)].map((m) => m[1]!));
  for (const name of used) t.true(known.has(name), `${name} is read by config/load.ts`);
  t.is(str(byName(arr(d.container, 'env'), 'QALLOW_NODE_ID'), 'valueFrom.fieldRef.fieldPath'), 'metadata.name');
});

test('mounts agree with the config paths; the Secret holds every key the pods mount', async (t) => {
  const d = await load();
  const c = d.config;
  const mounts = arr(d.container, 'volumeMounts');
  const mountOf = (name: string): Record<string, Yaml> => byName(mounts, name);
  const volumes = arr(d.pod, 'spec.volumes');
  const claim = str(get(d.set, 'spec.volumeClaimTemplates.0'), 'metadata.name');
  t.is(str(mountOf(claim), 'mountPath'), posix.dirname(c.dataDir), 'the PVC holds dataDir');
  t.is(str(mountOf('identity'), 'mountPath'), c.cluster!.identityDir);
  t.is(str(mountOf('identity'), 'subPathExpr'), '$(QALLOW_NODE_ID)', "each pod gets its own keys");
  t.is(str(mountOf('peers'), 'mountPath'), c.cluster!.k8s!.identityDir);
  for (const f of c.admin.authorizedKeys) t.is(posix.dirname(f), str(mountOf('admin'), 'mountPath'));
  const args = arr(d.container, 'args').map(String);
  const configPath = args[args.indexOf('--config') + 1]!;
  t.is(str(mountOf('config'), 'mountPath'), configPath);
  t.is(str(byName(volumes, 'config'), 'configMap.name'), str(d.files.get('configmap.yaml')![0]!, 'metadata.name'));

  const secret = d.files.get('secret.yaml')![0]!;
  const secretKeys = new Set(Object.keys(obj(secret, 'stringData')));
  const items = (vol: string): Array<{ key: string; path: string }> =>
    arr(byName(volumes, vol), 'secret.items').map((x) => ({ key: str(x, 'key'), path: str(x, 'path') }));
  for (const vol of ['identity', 'peers', 'admin']) {
    t.is(str(byName(volumes, vol), 'secret.secretName'), str(secret, 'metadata.name'));
    for (const it of items(vol)) t.true(secretKeys.has(it.key), `${vol}: Secret key ${it.key}`);
  }
  const k = c.cluster!.k8s!;
  for (let i = 0; i < k.replicas; i++) {
    const id = `${k.statefulSet}-${i}`;
    t.true(items('identity').some((it) => it.path === `${id}/node.json`), `${id} public identity`);
    t.true(items('identity').some((it) => it.path === `${id}/node.secret.json`), `${id} secret identity`);
    t.true(items('peers').some((it) => it.path === `${id}.json`), `${id} as a peer`);
  }
  for (const f of c.admin.authorizedKeys) t.true(items('admin').some((it) => it.path === posix.basename(f)));
});

test('Dockerfile: multi-stage, node:20-slim runtime, non-root USER, VOLUME = dataDir parent, ports, healthcheck, entrypoint', async (t) => {
  const d = await load();
  const c = d.config;
  // Continuation lines joined, comments dropped.
  const lines = d.dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const froms = lines.filter((l) => /^FROM\s/i.test(l));
  t.true(froms.length >= 2, 'multi-stage');
  t.regex(froms[0]!, /\bAS build\b/);
  t.regex(froms.at(-1)!, /^FROM node:20-slim$/);
  const final = lines.slice(lines.lastIndexOf(froms.at(-1)!));
  const directive = (name: string): string[] => final.filter((l) => l.toUpperCase().startsWith(`${name} `)).map((l) => l.slice(name.length + 1).trim());
  t.true(lines.some((l) => /npm ci/.test(l)), 'npm ci in the build stage');
  t.true(final.some((l) => /--from=build .*\/dist/.test(l)) && final.some((l) => /--from=build .*node_modules/.test(l)));
  t.true(final.some((l) => /prune --omit=dev/.test(l)) || lines.some((l) => /prune --omit=dev/.test(l)), 'production deps only');
  const user = directive('USER').at(-1);
  t.truthy(user);
  t.false(/^(root|0)(:|$)/.test(user!), `USER ${user} is not root`);
  t.is(String(get(d.pod, 'spec.securityContext.runAsUser')), user!.split(':')[0], 'the pod runs as the image user');
  const volume = JSON.parse(directive('VOLUME')[0]!) as string[];
  t.deepEqual(volume, [posix.dirname(c.dataDir)]);
  const exposed = directive('EXPOSE').join(' ').split(/\s+/).map(Number);
  t.deepEqual(exposed.sort(), [portOf(c.cluster!.bind), portOf(c.admin.bind), portOf(c.metrics.bind)].sort());
  const health = directive('HEALTHCHECK')[0]!;
  t.regex(health, new RegExp(`:${portOf(c.metrics.bind)}/healthz`));
  t.deepEqual(JSON.parse(directive('ENTRYPOINT')[0]!), ['qallow']);
  const cmd = JSON.parse(directive('CMD')[0]!) as string[];
  t.deepEqual(cmd, arr(d.container, 'args').map(String), 'the pod runs what the image runs by default');
  const imageMetrics = directive('ENV').find((e) => e.startsWith('QALLOW_METRICS_BIND='));
  t.is(imageMetrics?.split('=')[1], c.metrics.bind);
  const dockerignore = await readFile(join(ROOT, '.dockerignore'), 'utf8');
  for (const p of ['node_modules', 'dist', '.git']) t.true(dockerignore.split('\n').includes(p), `.dockerignore ${p}`);
});

test('the GPU overlay patches the StatefulSet with one GPU and the gpu backend', async (t) => {
  const d = await load();
  const kust = d.files.get('overlays/gpu/kustomization.yaml')![0]!;
  t.deepEqual(arr(kust, 'resources'), ['../..']);
  const patch = arr(kust, 'patches')[0]!;
  t.is(str(patch, 'target.name'), str(d.set, 'metadata.name'));
  const file = d.files.get(posix.join('overlays/gpu', str(patch, 'path')))![0]!;
  const c = get(file, 'spec.template.spec.containers.0');
  t.is(str(c, 'name'), str(d.container, 'name'), 'patches the qallow container (strategic merge by name)');
  t.is(obj(c, 'resources.limits')['nvidia.com/gpu'], 1);
  t.is(str(byName(arr(c, 'env'), 'QALLOW_BACKEND'), 'value'), 'gpu');
  const base = d.files.get('kustomization.yaml')![0]!;
  const listed = arr(base, 'resources').map(String);
  for (const f of ['namespace.yaml', 'configmap.yaml', 'service.yaml', 'statefulset.yaml']) t.true(listed.includes(f), f);
  t.false(listed.includes('secret.yaml'), 'the Secret template is never applied as is');
});

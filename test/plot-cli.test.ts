/**
 * `qallow plot` on a real host's data directory: the SVG is well-formed XML
 * (checked by a small parser here, always) with three panels, one decision
 * mark per epoch of the surviving timeline agreeing with the engine's own
 * decisions, non-finite values as marked gaps; it renders as a PNG
 * (rsvg-convert: a test prerequisite that .ci/run installs). Bad inputs exit 1
 * or 2 naming the problem.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { parseHostConfig } from '../config/schema.js';
import { createHost } from '../runtime/compose/create-host.js';
import { createLogger, memorySink } from '../runtime/logger.js';
import { parseRunCsv } from '../runtime/plot/run-csv.js';
import { epochMarks } from '../runtime/plot/epochs.js';
import { runCliInProcess } from './helpers/inprocess.js';

interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: XmlElement[];
  text: string;
}

/** A strict little XML reader: nesting, quoted unique attributes, known entities, one root. Throws on anything else. */
function parseXml(src: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`XML ${why} at ${i}: ${JSON.stringify(src.slice(Math.max(0, i - 30), i + 30))}`);
  };
  const checkEntities = (s: string): string => {
    for (let k = s.indexOf('&'); k >= 0; k = s.indexOf('&', k + 1)) {
      if (!/^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/.test(s.slice(k))) fail(`bad entity ${s.slice(k, k + 8)}`);
    }
    return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  };
  if (src.startsWith('<?xml')) {
    i = src.indexOf('?>') + 2;
    if (i < 2) fail('unterminated prolog');
  }
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const NAME = /^[A-Za-z_][\w.:-]*/;
  while (i < src.length) {
    const lt = src.indexOf('<', i);
    const text = src.slice(i, lt < 0 ? src.length : lt);
    if (text.trim() !== '') {
      if (stack.length === 0) fail('text outside the root');
      if (text.includes('<')) fail('stray <');
      stack[stack.length - 1]!.text += checkEntities(text);
    }
    if (lt < 0) break;
    i = lt;
    if (src.startsWith('<!--', i)) {
      const end = src.indexOf('-->', i);
      if (end < 0) fail('unterminated comment');
      i = end + 3;
      continue;
    }
    if (src[i + 1] === '/') {
      const name = NAME.exec(src.slice(i + 2))?.[0] ?? fail('bad end tag');
      const top = stack.pop() ?? fail(`</${name}> without an open element`);
      if (top.name !== name) fail(`</${name}> closes <${top.name}>`);
      i += 2 + name.length;
      while (src[i] === ' ' || src[i] === '\n') i++;
      if (src[i] !== '>') fail('bad end tag');
      i++;
      continue;
    }
    const name = NAME.exec(src.slice(i + 1))?.[0] ?? fail('bad tag name');
    i += 1 + name.length;
    const attrs: Record<string, string> = {};
    for (;;) {
      while (/\s/.test(src[i] ?? '')) i++;
      if (src[i] === '>' || src.startsWith('/>', i)) break;
      const an = NAME.exec(src.slice(i))?.[0] ?? fail('bad attribute');
      i += an.length;
      if (src[i] !== '=' || src[i + 1] !== '"') fail(`attribute ${an} must be ="..."`);
      const end = src.indexOf('"', i + 2);
      if (end < 0) fail('unterminated attribute');
      const v = src.slice(i + 2, end);
      if (v.includes('<')) fail('< in attribute');
      if (an in attrs) fail(`duplicate attribute ${an}`);
      attrs[an] = checkEntities(v);
      i = end + 1;
    }
    const el: XmlElement = { name, attrs, children: [], text: '' };
    if (stack.length) stack[stack.length - 1]!.children.push(el);
    else if (root) fail('second root element');
    else root = el;
    if (src.startsWith('/>', i)) i += 2;
    else {
      i++;
      stack.push(el);
    }
  }
  if (stack.length) fail(`<${stack[stack.length - 1]!.name}> never closed`);
  return root ?? fail('no root element');
}

function all(el: XmlElement, pred: (e: XmlElement) => boolean, out: XmlElement[] = []): XmlElement[] {
  if (pred(el)) out.push(el);
  for (const c of el.children) all(c, pred, out);
  return out;
}

function renderer(): string | undefined {
  const r = spawnSync('rsvg-convert', ['--version'], { encoding: 'utf8' });
  return r.status === 0 && /rsvg-convert/.test(r.stdout) ? 'rsvg-convert' : undefined;
}

interface EpochLog {
  msg?: string;
  run?: string;
  epoch?: number;
  tick?: number;
  E?: number | null;
  decision?: string;
}

interface Fixture {
  dir: string;
  data: string;
  logs: EpochLog[];
}

let fixture: Promise<Fixture> | undefined;

/** One real run (2 rings, 10 epochs) shared by the tests in this file; removed when the process ends. */
function data(_t: ExecutionContext): Promise<Fixture> {
  fixture ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qallow-plot-'));
    const sink = memorySink();
    const host = createHost(
      parseHostConfig({
        node: { id: 'host-p' },
        dataDir: join(dir, 'data'),
        compute: { threads: 2 },
        telemetry: { intervalMs: 60_000 },
        metrics: { enabled: false },
        runs: [{ phase: 'phase13', id: 'r', pockets: 4096, ticks: 1000, couplings: [0.002, 0.003], epochTicks: 100, backend: 'wasm' }],
      }),
      { logger: createLogger({ nodeId: 'host-p', destination: sink.stream }) },
    );
    await host.start();
    await host.whenFinished('r');
    await host.stop();
    return { dir, data: join(dir, 'data'), logs: sink.lines as EpochLog[] };
  })();
  return fixture;
}

test.after.always(async () => {
  if (fixture) await rm((await fixture).dir, { recursive: true, force: true });
});

interface Summary {
  out: string;
  lanes: number[];
  lastTick: number;
  epochs: Array<{ epoch: number; toTick: number; pass: boolean | null; minTotal: number | null }>;
  passed: number;
  failed: number;
  nonFinite: number;
}

test.serial('a plot of a real run: well-formed SVG, three panels, one mark per epoch agreeing with the engine', async (t) => {
  const f = await data(t);
  const out = join(f.dir, 'r.svg');
  const r = await runCliInProcess(['plot', '--data', f.data, '--run', 'r', '--out', out, '--json']);
  t.is(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Summary;
  t.is(s.lastTick, 1000);
  t.deepEqual(s.lanes, [0, 1]);
  t.is(s.nonFinite, 0);
  // The engine's own decisions, by epoch number (epochs keep counting across a rollback).
  const engine = new Map(f.logs.filter((l) => l.msg === 'epoch' && l.run === 'r').map((l) => [l.epoch!, l]));
  t.true(s.epochs.length >= 10, `${s.epochs.length} epochs`);
  t.is(s.epochs.at(-1)!.toTick, 1000);
  for (const e of s.epochs) {
    const log = engine.get(e.epoch);
    t.truthy(log, `the engine decided epoch ${e.epoch}`);
    t.is(log!.tick, e.toTick);
    t.is(e.pass, log!.decision === 'pass', `epoch ${e.epoch}`);
    t.is(e.minTotal, log!.E ?? null, `epoch ${e.epoch} E`);
  }
  t.is(s.passed + s.failed, s.epochs.length);

  const svg = await readFile(out, 'utf8');
  const root = parseXml(svg);
  t.is(root.name, 'svg');
  t.is(root.attrs['xmlns'], 'http://www.w3.org/2000/svg');
  t.true(Number(root.attrs['width']) > 0 && Number(root.attrs['height']) > 0);
  t.regex(all(root, (e) => e.name === 'title')[0]!.text, /qallow run r$/);
  const panels = all(root, (e) => e.name === 'g' && e.attrs['class'] === 'panel');
  t.deepEqual(panels.map((p) => p.attrs['id']), ['panel-avg_coherence', 'panel-phase_drift', 'panel-ethics_total']);
  for (const p of panels) {
    const lines = p.children.filter((c) => c.name === 'path' && c.attrs['fill'] === 'none');
    t.is(lines.length, 2, `one line per ring in ${p.attrs['id']}`);
    t.true(lines.every((l) => /^M [\d.]+ [\d.]+( L [\d.]+ [\d.]+)+$/.test(l.attrs['d']!)), 'continuous lines: no gaps without non-finite values');
    t.true(p.children.filter((c) => c.name === 'text').length >= 6, 'axis labels');
  }
  const strip = all(root, (e) => e.name === 'g' && e.attrs['id'] === 'decisions')[0]!;
  t.is(strip.children.length, s.epochs.length);
  s.epochs.forEach((e, k) => t.is(strip.children[k]!.attrs['fill'], e.pass ? '#2e7d32' : '#c62828'));
  t.is(all(root, (e) => e.attrs['class'] === 'nonfinite').length, 0);
});

test.serial('non-finite values are gaps with a marker, and a NaN total fails its epoch', async (t) => {
  const f = await data(t);
  const csvPath = join(f.data, 'runs', 'r.csv');
  const original = await readFile(csvPath, 'utf8');
  t.teardown(() => writeFile(csvPath, original));
  const lines = original.split('\n');
  // Header: ring,tick,avg_coherence,phase_drift,phase_energy,sustainability,compassion,harmony,ethics_total,audit_tag
  const edit = (tick: number, ring: number, col: number, v: string): void => {
    const k = lines.findIndex((l) => l.startsWith(`${ring},${tick},`));
    const cells = lines[k]!.split(',');
    cells[col] = v;
    lines[k] = cells.join(',');
  };
  for (let tick = 250; tick < 260; tick++) edit(tick, 0, 2, 'nan'); // ring 0 coherence: 10 values
  edit(555, 1, 3, 'inf'); // ring 1 drift
  edit(700, 0, 5, 'nan'); // sustainability at epoch 7's last tick, and so its total
  edit(700, 0, 8, 'nan');
  await writeFile(csvPath, lines.join('\n'));

  const out = join(f.dir, 'nan.svg');
  const r = await runCliInProcess(['plot', '--data', f.data, '--run', 'r', '--out', out, '--json']);
  t.is(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Summary;
  t.is(s.nonFinite, 12, 'the 12 non-finite cells drawn (sustainability is not a plotted column)');
  const at700 = s.epochs.find((e) => e.toTick === 700)!;
  t.is(at700.pass, false);
  t.is(at700.minTotal, null, 'NaN E (JSON null)');
  const root = parseXml(await readFile(out, 'utf8'));
  const coherence = all(root, (e) => e.attrs['id'] === 'panel-avg_coherence')[0]!;
  t.true(coherence.children.some((c) => c.attrs['class'] === 'nonfinite'), 'marker in the coherence panel');
  const ring0 = coherence.children.filter((c) => c.name === 'path' && c.attrs['fill'] === 'none')[0]!;
  t.true((ring0.attrs['d']!.match(/M /g) ?? []).length >= 2, 'the ring 0 line has a gap');
  const drift = all(root, (e) => e.attrs['id'] === 'panel-phase_drift')[0]!;
  t.true(drift.children.some((c) => c.attrs['class'] === 'nonfinite'));
  const energy = all(root, (e) => e.attrs['id'] === 'panel-ethics_total')[0]!;
  t.true(energy.children.some((c) => c.attrs['class'] === 'nonfinite'), 'the NaN total is a gap in E too');
});

// A renderer is a test prerequisite (.ci/run installs it): without one this test fails, it is never skipped.
test.serial('the SVG renders (rsvg-convert)', async (t) => {
  const rsvg = renderer();
  if (!rsvg) return t.fail('rsvg-convert is not installed: apt-get install -y librsvg2-bin (the test suite needs it to render the SVG)');
  const f = await data(t);
  const out = join(f.dir, 'render.svg');
  const r = await runCliInProcess(['plot', '--data', f.data, '--run', 'r', '--out', out, '--lanes', '1']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /lanes 1,/);
  const png = join(f.dir, 'render.png');
  const res = spawnSync(rsvg, [out, '-o', png], { encoding: 'utf8' });
  t.is(res.status, 0, res.stderr);
  const bytes = await readFile(png);
  t.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
  t.is(bytes.readUInt32BE(16), 1000, 'width as drawn');
  t.true(bytes.readUInt32BE(20) > 600);
});

test.serial('bad inputs: a missing run exits 1 naming it, a missing --out exits 2, an unwritable --out exits 1', async (t) => {
  const f = await data(t);
  const missing = await runCliInProcess(['plot', '--data', f.data, '--run', 'nope', '--out', join(f.dir, 'x.svg')]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /run nope is not in .*runs there: r/);
  const noOut = await runCliInProcess(['plot', '--data', f.data, '--run', 'r']);
  t.is(noOut.code, 2);
  t.regex(noOut.stderr, /--out/);
  const unwritable = await runCliInProcess(['plot', '--data', f.data, '--run', 'r', '--out', join(f.dir, 'no-such-dir', 'x.svg')]);
  t.is(unwritable.code, 1);
  t.regex(unwritable.stderr, /cannot write --out .*no-such-dir.*ENOENT/);
  const noStore = await runCliInProcess(['plot', '--data', join(f.dir, 'empty'), '--run', 'r', '--out', join(f.dir, 'x.svg')]);
  t.is(noStore.code, 1);
  t.regex(noStore.stderr, /no qallow store/);
  const badLane = await runCliInProcess(['plot', '--data', f.data, '--run', 'r', '--out', join(f.dir, 'x.svg'), '--lanes', '5']);
  t.is(badLane.code, 2);
  const badRun = await runCliInProcess(['plot', '--data', f.data, '--run', '../etc', '--out', join(f.dir, 'x.svg')]);
  t.is(badRun.code, 2);
});

test('phase 12 CSVs (strands) read back, and epochs follow the decision rule on entropy', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qallow-plot12-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const csvPath = join(dir, 'p12.csv');
  const r = await runCliInProcess(['simulate', 'phase12', '--ticks', '40', '--eps', '0.0001,0.005', '--csv', csvPath, '--backend', 'js', '--threads', '1']);
  t.is(r.code, 0, r.stderr);
  const csv = parseRunCsv(await readFile(csvPath, 'utf8'), csvPath);
  t.is(csv.phase, 'phase12');
  t.is(csv.lanes.length, 2);
  t.is(csv.lastTick, 40);
  t.is(csv.rows, 80);
  const marks = epochMarks(csv, [{ epoch: 0, tick: 0 }, { epoch: 1, tick: 20 }, { epoch: 2, tick: 40 }], 1, { threshold: -Infinity, entropyMax: Infinity });
  t.deepEqual(marks.map((m) => [m.epoch, m.fromTick, m.toTick, m.pass]), [[1, 1, 20, true], [2, 21, 40, true]]);
  const e40 = Math.max(...csv.lanes.map((l) => l.columns.get('entropy')![39]!));
  t.is(marks[1]!.maxEntropy, e40);
  const strict = epochMarks(csv, [{ epoch: 1, tick: 40 }], 1, { threshold: -Infinity, entropyMax: e40 - 1e-9 });
  t.is(strict[0]!.pass, false, 'an entropy figure above entropyMax fails');
  // A rollback (a checkpoint back at tick 20) drops the epoch it undid.
  const rolled = epochMarks(csv, [{ epoch: 1, tick: 20 }, { epoch: 2, tick: 40 }, { epoch: 3, tick: 20 }, { epoch: 4, tick: 40 }], 1, { threshold: -Infinity, entropyMax: Infinity });
  t.deepEqual(rolled.map((m) => m.epoch), [1, 4]);
  t.throws(() => parseRunCsv('tick,foo\n1,2\n', 'x.csv'), { message: /not a qallow run CSV/ });
});

/**
 * Checkpoint cost and restart time (issue: runtime).
 *
 *   npm run bench -- checkpoint [--sizes 1000000,16000000] [--json]
 *
 * - write: snapshot + SHA-256 stateHash + LMDB put of checkpoint and state in
 *   one durable transaction, against writing the same canonical bytes with
 *   plain fs (writeFile + fsync) in the same run;
 * - restore: latestValidCheckpoint (chain + state hash verified) + rebuilding
 *   the shared state, against reading the same bytes with fs;
 * - restart: a host killed with SIGKILL mid-run, from spawn to "run recovered
 *   from checkpoint", against the same host's cold start with no runs.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { initPhase13 } from '../kernels/js/phase13.js';
import { phase13Params } from '../kernels/params.js';
import { Phase13State } from '../kernels/state.js';
import { sealCheckpoint } from '../runtime/store/checkpoint.js';
import { createLmdbStore } from '../runtime/store/lmdb.js';
import { canonicalStateBytes, restorePhase13, snapshotPhase13, stateHash } from '../runtime/store/snapshot.js';

const CLI = fileURLToPath(new URL('../bin/qallow.js', import.meta.url));

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await f();
  return [v, (performance.now() - t0) / 1000];
}

async function fsWrite(path: string, bytes: Uint8Array): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function checkpointFigures(pockets: number, dir: string): Promise<Record<string, number>> {
  const params = phase13Params({ pockets, ticks: 1000, couplings: [0.002] });
  const state = Phase13State.allocate(params);
  initPhase13(state);
  const store = createLmdbStore({ dataDir: join(dir, `lmdb-${pockets}`) });
  await store.start();
  try {
    const run = `bench-${pockets}`;
    await store.putRun({ run, params, backend: 'js', epochTicks: 1000, state: 'running' });
    const [, write] = await timed(async () => {
      const snap = snapshotPhase13(state, params, 'js');
      const c = sealCheckpoint({ run, epoch: 0, tick: 0, stateHash: stateHash(snap), edges: [], timestamp: Date.now() }, null);
      await store.putCheckpoint(c, snap);
    });
    const bytes = canonicalStateBytes(snapshotPhase13(state, params, 'js'));
    const file = join(dir, `state-${pockets}.bin`);
    const [, fsW] = await timed(() => fsWrite(file, bytes));
    const [, restore] = await timed(async () => {
      const rec = await store.latestValidCheckpoint(run);
      restorePhase13(rec.snapshot);
    });
    const [, fsR] = await timed(() => readFile(file));
    return { bytes: bytes.byteLength, write, fsWrite: fsW, restore, fsRead: fsR };
  } finally {
    await store.stop();
  }
}

function hostLines(configPath: string): { child: ReturnType<typeof spawn>; until: (msg: string) => Promise<number> } {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'start', '--config', configPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const seen = new Map<string, number>();
  const waiting = new Map<string, (t: number) => void>();
  createInterface({ input: child.stdout! }).on('line', (l) => {
    let msg: string;
    try {
      msg = String((JSON.parse(l) as { msg?: string }).msg);
    } catch {
      return;
    }
    const t = (performance.now() - t0) / 1000;
    if (!seen.has(msg)) seen.set(msg, t);
    waiting.get(msg)?.(t);
  });
  return {
    child,
    until: (msg) => (seen.has(msg) ? Promise.resolve(seen.get(msg)!) : new Promise((resolve) => waiting.set(msg, resolve))),
  };
}

async function restartFigures(dir: string, pockets: number): Promise<Record<string, number>> {
  const base = { node: { id: 'bench' }, compute: { threads: 0 }, telemetry: { intervalMs: 60_000, logLevel: 'info' } };
  const cold = join(dir, 'cold.json');
  await writeFile(cold, JSON.stringify({ ...base, dataDir: join(dir, 'cold') }));
  const h0 = hostLines(cold);
  const coldStart = await h0.until('host started');
  h0.child.kill('SIGKILL');
  await once(h0.child, 'exit');

  const cfg = join(dir, 'run.json');
  await writeFile(cfg, JSON.stringify({ ...base, dataDir: join(dir, 'run'), runs: [{ phase: 'phase13', id: 'r', pockets, ticks: 1_000_000, couplings: [0.002], epochTicks: 50, backend: 'wasm' }] }));
  const h1 = hostLines(cfg);
  await h1.until('checkpoint');
  // Let a few epochs land, then kill without warning.
  await new Promise<void>((resolve) => {
    let n = 0;
    h1.child.stdout!.on('data', (b: Buffer) => {
      n += (b.toString().match(/"msg":"checkpoint"/g) ?? []).length;
      if (n >= 3) resolve();
    });
  });
  h1.child.kill('SIGKILL');
  await once(h1.child, 'exit');
  const h2 = hostLines(cfg);
  const resumed = await h2.until('run recovered from checkpoint');
  const nextEpoch = await h2.until('epoch');
  h2.child.kill('SIGKILL');
  await once(h2.child, 'exit');
  return { coldStart, resumed, firstEpochAfterRestart: nextEpoch };
}

export async function checkpointBench(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const i = args.indexOf('--sizes');
  const sizes = (i >= 0 && args[i + 1] ? args[i + 1]!.split(',') : ['1000000', '16000000']).map(Number);
  const dir = await mkdtemp(join(tmpdir(), 'qallow-bench-cp-'));
  const out: Array<Record<string, number>> = [];
  try {
    for (const n of sizes) {
      const f = await checkpointFigures(n, dir);
      out.push({ pockets: n, ...f });
      if (!json) {
        process.stdout.write(
          `N=${n.toLocaleString('en')} (${(f['bytes']! / 2 ** 20).toFixed(0)} MiB of state): ` +
            `checkpoint write ${(f['write']! * 1000).toFixed(0)} ms = ${(f['write']! / f['fsWrite']!).toFixed(2)}× fs write+fsync (${(f['fsWrite']! * 1000).toFixed(0)} ms); ` +
            `restore ${(f['restore']! * 1000).toFixed(0)} ms = ${(f['restore']! / f['fsRead']!).toFixed(2)}× fs read (${(f['fsRead']! * 1000).toFixed(0)} ms)\n`,
        );
      }
    }
    const r = await restartFigures(dir, 1_000_000);
    out.push(r);
    if (!json) {
      process.stdout.write(
        `restart after SIGKILL (N=1M run): resumed ${(r['resumed']! * 1000).toFixed(0)} ms after spawn = ${(r['resumed']! / r['coldStart']!).toFixed(2)}× a cold host start (${(r['coldStart']! * 1000).toFixed(0)} ms); first epoch done at ${(r['firstEpochAfterRestart']! * 1000).toFixed(0)} ms\n`,
      );
    } else {
      process.stdout.write(JSON.stringify({ bench: 'checkpoint', figures: out }) + '\n');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

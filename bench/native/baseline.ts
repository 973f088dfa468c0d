/**
 * Native C baseline for the phase 13 benchmark: builds and runs
 * `bench/native/phase13.c` (gcc -O3 -march=native, OpenMP on all cores,
 * no FMA), which computes exactly the same float32 recurrence with the same
 * chunked deterministic reductions as the TypeScript kernels, so its last row
 * can be compared bit for bit.
 *
 * The binary goes to `bench/native/build/phase13` under the repository root
 * (found by walking up from this module to the nearest package.json, so the
 * same paths work from the sources and from dist/).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeResult {
  pockets: number;
  ticks: number;
  coupling: number;
  threads: number;
  seconds: number;
  updatesPerSecond: number;
  last: { avgCoherence: number; phaseDrift: number; phaseEnergy: number };
}

/** gcc flags: same arithmetic as the reference (no FMA contraction). */
const GCC_FLAGS: readonly string[] = ['-O3', '-march=native', '-fopenmp', '-ffp-contract=off'];

interface ExecOutput {
  stdout: string;
  stderr: string;
}

interface ExecFailure extends Error {
  code?: string | number | null;
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<ExecOutput> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) {
        const failure = error as ExecFailure;
        failure.stdout = stdout;
        failure.stderr = stderr;
        reject(failure);
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the repository root (no package.json above ${fileURLToPath(import.meta.url)})`);
    dir = parent;
  }
}

async function mtimeMs(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * Compiles bench/native/phase13.c into bench/native/build/phase13 unless the
 * binary is already at least as new as the source. Returns the binary's path.
 */
export async function buildNative(): Promise<string> {
  const root = repoRoot();
  const source = join(root, 'bench', 'native', 'phase13.c');
  const buildDir = join(root, 'bench', 'native', 'build');
  const binary = join(buildDir, 'phase13');

  const sourceTime = await mtimeMs(source);
  if (sourceTime === undefined) throw new Error(`native baseline source not found: ${source}`);
  const binaryTime = await mtimeMs(binary);
  if (binaryTime !== undefined && binaryTime >= sourceTime) return binary;

  await mkdir(buildDir, { recursive: true });
  // Build under a private name and rename, so concurrent builds never run a half-written binary.
  const partial = `${binary}.${process.pid}.${Date.now()}.tmp`;
  try {
    await run('gcc', [...GCC_FLAGS, '-o', partial, source, '-lm']);
  } catch (err) {
    await rm(partial, { force: true });
    const failure = err as Partial<ExecFailure>;
    if (failure.code === 'ENOENT') {
      throw new Error('cannot build the native baseline: gcc was not found on PATH (install gcc with OpenMP support)');
    }
    const stderr = (failure.stderr ?? '').trim();
    throw new Error(
      `cannot build the native baseline: gcc ${GCC_FLAGS.join(' ')} failed on ${source}` +
        (stderr ? `:\n${stderr}` : ` (${failure.message ?? String(err)})`),
    );
  }
  await rename(partial, binary);
  return binary;
}

function isPositiveInteger(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 1;
}

/** phase13 prints non-finite floats as the strings "NaN", "Infinity", "-Infinity" (JSON has no inf/nan). */
function floatField(obj: Record<string, unknown>, key: string, context: string): number {
  const v = obj[key];
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  throw new Error(`native baseline output: ${context}${key} is not a number (${JSON.stringify(v)})`);
}

function finiteField(obj: Record<string, unknown>, key: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new Error(`native baseline output: ${key} is not a finite number (${JSON.stringify(v)})`);
  }
  return v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseResult(stdout: string): NativeResult {
  const line = stdout.trim().split('\n').pop() ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new Error(`native baseline printed no JSON: ${JSON.stringify(stdout.slice(0, 500))}`);
  }
  if (!isRecord(parsed) || !isRecord(parsed.last)) {
    throw new Error(`native baseline output has the wrong shape: ${line.slice(0, 500)}`);
  }
  const last = parsed.last;
  return {
    pockets: finiteField(parsed, 'pockets'),
    ticks: finiteField(parsed, 'ticks'),
    coupling: finiteField(parsed, 'coupling'),
    threads: finiteField(parsed, 'threads'),
    seconds: finiteField(parsed, 'seconds'),
    updatesPerSecond: finiteField(parsed, 'updatesPerSecond'),
    last: {
      avgCoherence: floatField(last, 'avg_coherence', 'last.'),
      phaseDrift: floatField(last, 'phase_drift', 'last.'),
      phaseEnergy: floatField(last, 'phase_energy', 'last.'),
    },
  };
}

/**
 * Runs the native baseline (building it first if needed) for one ring of
 * `pockets` pockets over `ticks` ticks. `threads` sets OMP_NUM_THREADS;
 * without it OpenMP uses all cores. The `last` values are the final tick's
 * float32 outputs (exact: printed with 9 significant digits).
 */
export async function runNative(opts: { pockets: number; ticks: number; coupling: number; threads?: number }): Promise<NativeResult> {
  const { pockets, ticks, coupling, threads } = opts;
  if (!Number.isSafeInteger(pockets) || pockets < 2) throw new RangeError(`pockets must be an integer >= 2 (got ${pockets})`);
  if (!isPositiveInteger(ticks)) throw new RangeError(`ticks must be an integer >= 1 (got ${ticks})`);
  if (!Number.isFinite(coupling) || coupling < 0) throw new RangeError(`coupling must be a finite number >= 0 (got ${coupling})`);
  if (threads !== undefined && !isPositiveInteger(threads)) throw new RangeError(`threads must be an integer >= 1 (got ${threads})`);

  const binary = await buildNative();
  // String(coupling) is the shortest decimal that round-trips to the same double;
  // the binary rounds it to float32 exactly like Math.fround.
  const args = [String(pockets), String(ticks), String(coupling)];
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (threads !== undefined) {
    env.OMP_NUM_THREADS = String(threads);
    args.push(String(threads));
  }
  let out: ExecOutput;
  try {
    out = await run(binary, args, env);
  } catch (err) {
    const failure = err as Partial<ExecFailure>;
    const stderr = (failure.stderr ?? '').trim();
    throw new Error(
      `native baseline ${binary} ${args.join(' ')} failed` +
        (failure.code !== undefined ? ` (exit ${String(failure.code)})` : '') +
        (failure.signal ? ` (signal ${failure.signal})` : '') +
        (stderr ? `: ${stderr}` : ''),
    );
  }
  const result = parseResult(out.stdout);
  if (result.pockets !== pockets || result.ticks !== ticks) {
    throw new Error(`native baseline ran N=${result.pockets}, T=${result.ticks} instead of N=${pockets}, T=${ticks}`);
  }
  if (threads !== undefined && result.threads !== threads) {
    throw new Error(`native baseline used ${result.threads} threads instead of ${threads}`);
  }
  return result;
}

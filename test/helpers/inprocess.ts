/**
 * Run the CLI in this process (same command code as the `qallow` binary),
 * optionally on a shared compute pool so a test of many cases does not boot
 * a pool and recompile kernels per case.
 */
import { PassThrough } from 'node:stream';
import type { ComputePool } from '../../kernels/pool.js';
import { main } from '../../runtime/cli/program.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCliInProcess(args: readonly string[], pool?: ComputePool): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (b: Buffer) => out.push(b));
  stderr.on('data', (b: Buffer) => err.push(b));
  const code = await main(args, { stdout, stderr, pool });
  stdout.end();
  stderr.end();
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

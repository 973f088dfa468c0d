/**
 * Issue 11 item 10: damaged data files. Real LMDB files, damaged the way a
 * disk or an operator would (cut short, meta pages zeroed, state bytes
 * flipped), and the real CLI: every command that opens the data directory
 * refuses with exit 1 and a message naming the file and what to do, instead
 * of dying of SIGBUS (135) or SIGSEGV (139) inside the LMDB mapping; and
 * `checkpoint list` checks every checkpoint it lists.
 */
import { copyFile, cp, open, stat, truncate as truncateFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { isQallowError } from '../runtime/errors.js';
import { checkLmdbEnvironment } from '../runtime/store/lmdb-check.js';
import { createLmdbStore, lmdbPath } from '../runtime/store/lmdb.js';
import { chain, flipByte, tamperLmdb, tempDir } from './fixtures/store-fixtures.js';
import { runCli } from './helpers/cli.js';
import { writeConfig } from './helpers/host.js';

/** A data directory holding run `r` with four checkpoints. */
async function dataDir(dir: string): Promise<string> {
  const data = join(dir, 'data');
  const store = createLmdbStore({ dataDir: data });
  await store.start();
  const links = chain('r', 4);
  await store.putRun({ run: 'r', params: links[0]!.snapshot.params, backend: 'js', epochTicks: 10, state: 'running' });
  for (const l of links) await store.putCheckpoint(l.checkpoint, l.snapshot);
  await store.stop();
  return data;
}

async function zeroPages(file: string, pages: readonly number[], pageSize = 4096): Promise<void> {
  const f = await open(file, 'r+');
  try {
    for (const p of pages) await f.write(Buffer.alloc(pageSize), 0, pageSize, p * pageSize);
  } finally {
    await f.close();
  }
}

/** Every command that opens the data directory: exit 1 (not 135/139), and the file named with what to do. */
async function assertRefused(t: import('ava').ExecutionContext, dir: string, data: string, problem: RegExp): Promise<void> {
  const file = join(lmdbPath(data), 'data.mdb');
  const config = await writeConfig(dir, { node: { id: 'host-d' }, dataDir: data, metrics: { enabled: false }, runs: [] });
  for (const args of [
    ['checkpoint', 'list', '--data', data],
    ['ledger', 'verify', '--data', data],
    ['ledger', 'export', '--data', data],
    ['start', '--config', config],
  ]) {
    const r = await runCli(args);
    t.is(r.code, 1, `qallow ${args.join(' ')} exits 1 (got ${r.code}; stderr ${r.stderr.slice(-500)})`);
    t.true(r.stderr.includes(file), `qallow ${args[0]} ${args[1]} names ${file}: ${r.stderr.slice(-500)}`);
    t.regex(r.stderr, problem);
    t.regex(r.stderr, /Restore the data directory from a backup, or move it aside and start this host with an empty one/);
  }
}

test('a truncated data.mdb is refused by checkpoint list, ledger verify/export and start with exit 1 naming the file (no SIGBUS)', async (t) => {
  const dir = await tempDir(t, 'qallow-damaged-');
  const data = await dataDir(dir);
  const file = join(lmdbPath(data), 'data.mdb');
  const { size } = await stat(file);
  await truncateFile(file, Math.floor(size / 2));
  await assertRefused(t, dir, data, /cut short/);
});

test('zeroed meta pages are refused by checkpoint list, ledger verify/export and start with exit 1 naming the file (no SIGSEGV)', async (t) => {
  const dir = await tempDir(t, 'qallow-damaged-');
  const data = await dataDir(dir);
  await zeroPages(join(lmdbPath(data), 'data.mdb'), [0, 1]);
  await assertRefused(t, dir, data, /page 0 is not a meta page/);
});

test('each meta page is checked: magic, version, page number, and the newer one against the file size', async (t) => {
  const dir = await tempDir(t, 'qallow-damaged-');
  const data = await dataDir(dir);
  const file = join(lmdbPath(data), 'data.mdb');
  const healthy = await checkLmdbEnvironment(lmdbPath(data));
  t.truthy(healthy, 'a healthy file passes');
  t.is(healthy!.meta.pageSize, 4096);
  t.true(BigInt(healthy!.size) >= (healthy!.meta.lastPage + 1n) * 4096n);
  const backup = join(dir, 'data.mdb.orig');
  await copyFile(file, backup);

  const damage = async (mutate: (f: import('node:fs/promises').FileHandle) => Promise<unknown>, problem: RegExp): Promise<void> => {
    await copyFile(backup, file);
    const f = await open(file, 'r+');
    try {
      await mutate(f);
    } finally {
      await f.close();
    }
    const store = createLmdbStore({ dataDir: data });
    const e = await t.throwsAsync(() => store.start());
    t.true(isQallowError(e, 'STORE_CORRUPT'), String(e));
    t.regex(e!.message, problem);
    t.is((e as { details?: Record<string, unknown> }).details?.['path'], file);
  };
  // Page 1 alone zeroed (LMDB would quietly fall back to page 0 and lose its newest commit).
  await damage((f) => f.write(Buffer.alloc(4096), 0, 4096, 4096), /page 1 is not a meta page/);
  // A wrong magic, a wrong version.
  await damage((f) => f.write(Buffer.from([0, 0, 0, 0]), 0, 4, 24), /meta page 0 has magic 0x0/);
  await damage((f) => f.write(Buffer.from([9, 0]), 0, 2, 4096 + 28), /meta page 1 has data format version 9/);
  // The meta pages claim more pages than the file holds.
  const lastPage = Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0]);
  await damage(async (f) => {
    await f.write(lastPage, 0, 8, 24 + 120);
    await f.write(lastPage, 0, 8, 4096 + 24 + 120);
  }, /uses pages up to 65535, 268435456 bytes: the file was cut short/);

  await copyFile(backup, file);
  const store = createLmdbStore({ dataDir: data });
  await store.start();
  t.deepEqual((await store.listCheckpoints('r')).map((c) => c.epoch), [0, 1, 2, 3], 'the undamaged file opens and reads');
  await store.stop();
});

test('checkpoint list verifies every checkpoint: an older one whose state bytes were flipped is CORRUPT, not ok', async (t) => {
  const dir = await tempDir(t, 'qallow-damaged-');
  const data = await dataDir(dir);
  await cp(data, join(dir, 'clean'), { recursive: true });
  const clean = await runCli(['checkpoint', 'list', '--data', join(dir, 'clean'), '--json']);
  t.is(clean.code, 0, clean.stderr);

  await tamperLmdb(data, 'states', ['r', 1], flipByte(-1));
  const r = await runCli(['checkpoint', 'list', '--data', data, '--json']);
  t.is(r.code, 1, r.stderr);
  const listed = JSON.parse(r.stdout.trim()) as { run: string; checkpoints: Array<{ epoch: number; usable: boolean; problem: string | null }> };
  t.deepEqual(
    listed.checkpoints.map((c) => [c.epoch, c.usable]),
    [
      [0, true],
      [1, false],
      [2, true],
      [3, true],
    ],
  );
  t.regex(listed.checkpoints[1]!.problem ?? '', /stored state hashes to/);
  const human = await runCli(['checkpoint', 'list', '--data', data]);
  t.is(human.code, 1);
  t.regex(human.stdout, /^\s+1\s.*CORRUPT: its stored state hashes to/m);
});

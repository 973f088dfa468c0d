/**
 * What only the LMDB store can show: data survives the process (including
 * kill -9 right after an acknowledgement), the environment is what it claims
 * to be, and why values are encoded by hand.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { open } from 'lmdb';
import { pino } from 'pino';
import { isQallowError } from '../runtime/errors.js';
import { verifyChain } from '../runtime/store/checkpoint.js';
import { LMDB_ENV_OPTIONS, createLmdbStore, lmdbPath } from '../runtime/store/lmdb.js';
import { canonicalStateBytes } from '../runtime/store/snapshot.js';
import { chain, flipByte, link, phase13Snapshot, tamperLmdb, tempDir } from './fixtures/store-fixtures.js';
import { track } from './helpers/children.js';

const WRITER = fileURLToPath(new URL('./fixtures/store-writer.js', import.meta.url));

interface Ack {
  readonly epoch: number;
  readonly hash: string;
}

/**
 * Run the writer until it has acknowledged `count` checkpoints, then SIGKILL
 * it; resolves with every acknowledgement it printed. Rejects if it exits on
 * its own or takes longer than `timeoutMs`.
 */
async function writeThenKill(dataDir: string, run: string, count: number, timeoutMs = 60_000): Promise<Ack[]> {
  const child = track(spawn(process.execPath, [WRITER, dataDir, run], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const acks: Ack[] = [];
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = once(child, 'exit');
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`writer acknowledged ${acks.length} of ${count} in ${timeoutMs} ms`)), timeoutMs);
      child.on('error', reject);
      child.on('exit', (code, signal) => reject(new Error(`writer exited early (${code ?? signal}): ${stderr}`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        const m = /^ack (\d+) ([0-9a-f]{64})$/.exec(line);
        if (!m) return reject(new Error(`unexpected writer output: ${line}`));
        acks.push({ epoch: Number(m[1]), hash: m[2]! });
        if (acks.length === count) {
          clearTimeout(timer);
          // Kill at once, from inside the line handler: the writer is already on its next put.
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
  return acks;
}

test('kill -9 after N acknowledged checkpoints: every acknowledged one is there and the chain verifies', async (t) => {
  const dataDir = await tempDir(t);
  const acks = await writeThenKill(dataDir, 'durable', 12);
  // Acks already in the pipe when the kill was sent arrive too: every one of them was acknowledged and must be there.
  t.true(acks.length >= 12, `${acks.length} acks`);
  const store = createLmdbStore({ dataDir });
  await store.start();
  t.teardown(() => store.stop());
  const stored = await store.listCheckpoints('durable');
  t.is(verifyChain(stored), null);
  t.true(stored.length >= acks.length);
  for (const a of acks) t.is(stored[a.epoch]?.hash, a.hash, `epoch ${a.epoch}`);
  const found = await store.latestValidCheckpoint('durable');
  t.deepEqual(found.skipped, []);
  t.true(found.checkpoint.epoch >= acks.at(-1)!.epoch);
  t.true((await store.journal('durable')).length >= acks.length);
  // The run continues from where the killed writer stopped.
  const next = link('durable', found.checkpoint.epoch + 1, phase13Snapshot(1, 1), found.checkpoint);
  await store.putCheckpoint(next.checkpoint, next.snapshot);
  t.is(verifyChain(await store.listCheckpoints('durable')), null);
});

test('data survives stop and a new store on the same directory', async (t) => {
  const dataDir = await tempDir(t);
  const links = chain('r', 3, 'phase12');
  const first = createLmdbStore({ dataDir });
  await first.start();
  for (const l of links) await first.putCheckpoint(l.checkpoint, l.snapshot);
  await first.appendJournal('r', { type: 'cancel', tick: 30 });
  await first.stop();
  const second = createLmdbStore({ dataDir });
  await second.start();
  t.teardown(() => second.stop());
  t.deepEqual(await second.listCheckpoints('r'), links.map((l) => l.checkpoint));
  const snap = await second.getSnapshot('r', 2);
  t.true(Buffer.from(canonicalStateBytes(snap)).equals(Buffer.from(canonicalStateBytes(links[2]!.snapshot))));
  t.deepEqual(await second.journal('r'), [{ seq: 1, entry: { type: 'cancel', tick: 30 } }]);
});

test('stop waits for writes in flight', async (t) => {
  const dataDir = await tempDir(t);
  const links = chain('r', 2);
  const store = createLmdbStore({ dataDir });
  await store.start();
  await store.putCheckpoint(links[0]!.checkpoint, links[0]!.snapshot);
  const pending = store.putCheckpoint(links[1]!.checkpoint, links[1]!.snapshot);
  await store.stop();
  await pending;
  const again = createLmdbStore({ dataDir });
  await again.start();
  t.teardown(() => again.stop());
  t.is((await again.listCheckpoints('r')).length, 2);
});

test('no I/O before start(); an unusable data directory fails start() with IO_ERROR', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'not-a-dir');
  await writeFile(file, 'x');
  const store = createLmdbStore({ dataDir: file });
  const err = await t.throwsAsync(store.start());
  t.true(isQallowError(err, 'IO_ERROR'), String(err));
  t.true(isQallowError(await store.runs().catch((e: unknown) => e), 'STORE_CLOSED'));
});

test('an environment that is not a qallow store is refused with STORE_CORRUPT', async (t) => {
  const dataDir = await tempDir(t);
  const root = open({ path: lmdbPath(dataDir), ...LMDB_ENV_OPTIONS });
  const meta = root.openDB<Buffer, string>({ name: 'meta', encoding: 'binary' });
  await root.transaction(() => void meta.put('format', Buffer.from('someone-else/v9')));
  await root.close();
  const err = await t.throwsAsync(createLmdbStore({ dataDir }).start());
  t.true(isQallowError(err, 'STORE_CORRUPT'), String(err));
});

// The trap the codec exists for: lmdb-js's default (msgpackr) value encoding
// does not round-trip a Float32Array. `failing` keeps this true; if a future
// lmdb/msgpackr fixes it, ava reports it and the comment in codec.ts can go.
test.failing('lmdb-js default encoding round-trips a Float32Array (it does not: see codec.ts)', async (t) => {
  const dataDir = await tempDir(t);
  const root = open({ path: lmdbPath(dataDir), maxDbs: 4 });
  t.teardown(() => root.close());
  const values = new Float32Array([1.5, -2.25, 1e-3, 12345.678]);
  await root.put('k', { values });
  const back = (root.get('k') as { values: unknown }).values;
  t.true(back instanceof Float32Array, `came back as ${Object.prototype.toString.call(back)}`);
  t.deepEqual(Array.from(back as Float32Array), Array.from(values));
});

test('the store logs through a handed-in pino logger: open, close, and every skipped checkpoint', async (t) => {
  const dataDir = await tempDir(t);
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }).child({ component: 'store' });
  const links = chain('r', 3);
  const first = createLmdbStore({ dataDir }, { logger });
  await first.start();
  for (const l of links) await first.putCheckpoint(l.checkpoint, l.snapshot);
  await first.stop();
  await tamperLmdb(dataDir, 'states', ['r', 2], flipByte(-2));
  const store = createLmdbStore({ dataDir }, { logger });
  await store.start();
  t.teardown(() => store.stop());
  const found = await store.latestValidCheckpoint('r');
  t.is(found.checkpoint.epoch, 1);
  t.deepEqual(
    lines.map((l) => l['msg']),
    ['store opened', 'store closed', 'store opened', 'skipped unusable checkpoints'],
  );
  const warn = lines.at(-1)!;
  t.like(warn, { component: 'store', level: 40, run: 'r', epoch: 1 });
  t.deepEqual((warn['skipped'] as Array<{ epoch: number }>).map((x) => x.epoch), [2]);
});

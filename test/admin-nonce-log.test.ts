/**
 * The admin nonce log (runtime/admin/nonce-log.ts): what a host accepted is
 * read back after a restart until it leaves the window; a torn last record
 * (a crash mid-append: that command never ran) is ignored; the file is
 * compacted; a file that is not a nonce log is refused, not guessed at.
 * Real files in a temp dir; time is a hand-moved clock.
 */
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { AdminVerifier, NonceLog, decodeSignedCommand, encodeSignedCommand, signCommand } from '../runtime/admin/index.js';
import { isQallowError } from '../runtime/errors.js';
import { Ed25519SecretKey } from '../runtime/identity/ed25519.js';
import { tempDir } from './helpers/cli.js';

const T0 = 1_750_000_000_000;
const N = (i: number): string => i.toString(16).padStart(32, '0');

test('records survive a reopen until timestamp + window has passed', async (t) => {
  const path = join(await tempDir(t), 'admin-nonces.log');
  let now = T0;
  const log = await NonceLog.open({ path, windowMs: 30_000 }, { now: () => now });
  t.deepEqual(log.live, []);
  await log.append(N(1), T0 - 20_000);
  await log.append(N(2), T0);
  await log.close();
  now = T0 + 15_000;
  const again = await NonceLog.open({ path, windowMs: 30_000 }, { now: () => now });
  t.deepEqual(again.live, [{ nonce: N(2), timestamp: T0 }]);
  await again.close();
  t.is((await stat(path)).mode & 0o777, 0o600);
  t.is((await stat(path)).size, 23 + 24, 'rewritten with the live record only');
});

test('a torn last record is ignored; a foreign file is STORE_CORRUPT', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'admin-nonces.log');
  const log = await NonceLog.open({ path, windowMs: 30_000 }, { now: () => T0 });
  await log.append(N(7), T0);
  await log.close();
  await appendFile(path, Buffer.alloc(11, 0xab));
  const back = await NonceLog.open({ path, windowMs: 30_000 }, { now: () => T0 });
  t.deepEqual(back.live, [{ nonce: N(7), timestamp: T0 }]);
  await back.close();
  const foreign = join(dir, 'other.log');
  await writeFile(foreign, 'not a nonce log at all\n');
  const e = await t.throwsAsync(NonceLog.open({ path: foreign, windowMs: 30_000 }));
  t.true(isQallowError(e, 'STORE_CORRUPT'));
});

test('compaction keeps the file bounded and the live records', async (t) => {
  const path = join(await tempDir(t), 'admin-nonces.log');
  let now = T0;
  const log = await NonceLog.open({ path, windowMs: 1000, compactEvery: 8 }, { now: () => now });
  for (let i = 0; i < 20; i++) {
    now = T0 + i * 500;
    await log.append(N(i), now);
  }
  await log.close();
  t.true((await readFile(path)).length <= 23 + 8 * 24);
  const back = await NonceLog.open({ path, windowMs: 1000 }, { now: () => now });
  t.deepEqual(back.live.map((r) => r.nonce), [N(17), N(18), N(19)]);
  await back.close();
});

test('a verifier fed the log refuses the replay of a command accepted before the restart', async (t) => {
  const path = join(await tempDir(t), 'admin-nonces.log');
  const admin = Ed25519SecretKey.generate();
  const frame = encodeSignedCommand(signCommand({ type: 'shutdown' }, admin, 'node-a', { now: T0 }));
  const clock = { now: () => T0 + 1000 };
  const before = new AdminVerifier({ node: 'node-a', adminKeys: [admin.publicKey] }, { clock });
  const log = await NonceLog.open({ path, windowMs: before.maxSkewMs }, clock);
  const v = before.verify(decodeSignedCommand(frame));
  await log.append(v.nonce, v.timestamp);
  await log.close();
  // The restart: a fresh verifier, fed what the log kept.
  const after = new AdminVerifier({ node: 'node-a', adminKeys: [admin.publicKey] }, { clock });
  const reopened = await NonceLog.open({ path, windowMs: after.maxSkewMs }, clock);
  for (const r of reopened.live) after.remember(r.nonce, r.timestamp);
  await reopened.close();
  const e = t.throws(() => after.verify(decodeSignedCommand(frame)));
  t.true(isQallowError(e, 'REPLAYED_COMMAND'), String(e));
});

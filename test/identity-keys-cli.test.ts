/**
 * `qallow keys gen` in-process through the CLI's own `main`, with captured
 * output. Files written, public keys shown, secrets never printed, --force,
 * --json, and exit codes for bad usage.
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { defaultNodeId } from '../runtime/cli/commands/keys.js';
import { isQallowError } from '../runtime/errors.js';
import { KEY_FILES, readAdminSecret, readNodeKeys } from '../runtime/identity/index.js';
import { runCliInProcess, type CliResult } from './helpers/inprocess.js';

/** Through the real program (main), as the `qallow` binary runs it. */
function keys(args: string[]): Promise<CliResult> {
  return runCliInProcess(['keys', ...args]);
}

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qallow-keys-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Every secret in DIR, as it appears in the files. */
async function secrets(dir: string): Promise<string[]> {
  const node = JSON.parse(await readFile(join(dir, KEY_FILES.nodeSecret), 'utf8')) as { ed25519: { secretKey: string }; curve: { secretKey: string } };
  const admin = JSON.parse(await readFile(join(dir, KEY_FILES.adminSecret), 'utf8')) as { secretKey: string };
  return [node.ed25519.secretKey, node.curve.secretKey, admin.secretKey];
}

test('keys gen writes the four files and prints their names and the public keys, never a secret', async (t) => {
  const dir = join(await tempDir(t), 'k');
  const r = await keys(['gen', '--out', dir, '--node-id', 'node-a']);
  t.is(r.code, 0, r.stderr);
  const node = await readNodeKeys(dir);
  t.is<string, string>(node.nodeId, 'node-a');
  const admin = await readAdminSecret(join(dir, KEY_FILES.adminSecret));
  for (const f of Object.values(KEY_FILES)) t.true(r.stdout.includes(f), `mentions ${f}`);
  t.true(r.stdout.includes(node.ed25519.publicKey.hex));
  t.true(r.stdout.includes(node.curve.publicKey));
  t.true(r.stdout.includes(admin.publicKey.hex));
  t.true(r.stdout.includes('0600'));
  for (const s of await secrets(dir)) t.false(r.stdout.includes(s) || r.stderr.includes(s), 'a secret was printed');
});

test('keys gen --json: one JSON object with the public keys and the files', async (t) => {
  const dir = await tempDir(t);
  const r = await keys(['gen', '--out', dir, '--node-id', 'node-b', '--json']);
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as {
    nodeId: string;
    dir: string;
    node: { ed25519PublicKey: string; curvePublicKey: string };
    admin: { publicKey: string };
    files: { file: string; path: string; secret: boolean; mode: string }[];
  };
  t.is(j.nodeId, 'node-b');
  t.is(j.dir, dir);
  const node = await readNodeKeys(dir);
  t.is(j.node.ed25519PublicKey, node.ed25519.publicKey.hex);
  t.is(j.node.curvePublicKey, node.curve.publicKey);
  t.deepEqual(
    j.files.map((f) => [f.file, f.secret, f.mode]),
    [
      ['node.json', false, '0644'],
      ['node.secret.json', true, '0600'],
      ['admin.json', false, '0644'],
      ['admin.secret.json', true, '0600'],
    ],
  );
  for (const s of await secrets(dir)) t.false(r.stdout.includes(s), 'a secret was printed');
});

test('keys gen refuses to overwrite existing keys (exit 1, names --force); --force replaces them', async (t) => {
  const dir = await tempDir(t);
  t.is((await keys(['gen', '--out', dir, '--node-id', 'node-a'])).code, 0);
  const before = (await readNodeKeys(dir)).ed25519.publicKey.hex;
  const again = await keys(['gen', '--out', dir, '--node-id', 'node-a']);
  t.is(again.code, 1);
  t.true(again.stderr.includes('--force'), again.stderr);
  t.is((await readNodeKeys(dir)).ed25519.publicKey.hex, before, 'keys untouched');
  const forced = await keys(['gen', '--out', dir, '--node-id', 'node-a', '--force']);
  t.is(forced.code, 0, forced.stderr);
  t.not((await readNodeKeys(dir)).ed25519.publicKey.hex, before);
});

test('keys gen: bad --node-id and missing --out are bad usage (exit 2)', async (t) => {
  const dir = await tempDir(t);
  const bad = await keys(['gen', '--out', dir, '--node-id', 'Node_A']);
  t.is(bad.code, 2);
  t.true(bad.stderr.includes('--node-id'), bad.stderr);
  t.is((await keys(['gen', '--node-id', 'node-a'])).code, 2);
  t.is((await keys(['gen', '--out', dir, '--bogus'])).code, 2);
});

test('keys gen --help lists its flags', async (t) => {
  const r = await keys(['gen', '--help']);
  t.is(r.code, 0);
  for (const f of ['--out', '--node-id', '--force', '--json']) t.true(r.stdout.includes(f), f);
});

test('the default node id is the host name, lowercased, when it is a valid node id', (t) => {
  t.is<string, string>(defaultNodeId('Host-1'), 'host-1');
  t.is<string, string>(defaultNodeId('qallow-0.qallow.default.svc'), 'qallow-0.qallow.default.svc');
  const e = t.throws(() => defaultNodeId('my_host'));
  t.true(isQallowError(e, 'BAD_USAGE'));
  t.true(e!.message.includes('--node-id'));
});

/**
 * Node identity and key files: generation (Ed25519 + zeromq CURVE), Z85,
 * writing the four files (modes, no overwrite without force, atomic), and
 * loading as validation: every malformed field is KEY_INVALID naming the
 * file and the field.
 */
import { readFile, readdir, stat, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { curveKeyPair } from 'zeromq';
import {
  Ed25519SecretKey,
  KEY_FILES,
  curvePair,
  curvePublicFromSecret,
  generateAdminKey,
  generateIdentity,
  parseNodeSecret,
  readAdminPublic,
  readAdminSecret,
  readNodeKeys,
  readNodePublic,
  readNodeSecret,
  sign,
  verify,
  writeKeyFiles,
  z85Decode,
  z85Encode,
} from '../runtime/identity/index.js';
import { isQallowError, type QallowError } from '../runtime/errors.js';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qallow-identity-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function keyInvalid(t: ExecutionContext, e: unknown, field: string, file?: string): void {
  t.true(isQallowError(e, 'KEY_INVALID'), `KEY_INVALID, got ${String(e)}`);
  const q = e as QallowError;
  t.is(q.details['field'], field, q.message);
  if (file !== undefined) {
    t.is(q.details['file'], file);
    t.true(q.message.includes(file) && q.message.includes(field), q.message);
  }
}

test('Z85: the RFC 32 test vector, round trips, and refusals', (t) => {
  const hello = Uint8Array.of(0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b);
  t.is(z85Encode(hello), 'HelloWorld');
  t.deepEqual(z85Decode('HelloWorld'), hello);
  const b = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);
  t.deepEqual(z85Decode(z85Encode(b)), b);
  t.is(z85Decode('Hello'.slice(0, 4)), undefined, 'not a multiple of 5');
  t.is(z85Decode('Hell~'), undefined, 'outside the alphabet');
  t.is(z85Decode('%%%%%'), undefined, 'a group worth ≥ 2^32');
  t.deepEqual(z85Decode('%nSc0'), Uint8Array.of(0xff, 0xff, 0xff, 0xff), '2^32 − 1 is the largest group');
});

test('generateIdentity: node id, Ed25519 pair that signs, zeromq CURVE pair whose halves belong together', (t) => {
  const id = generateIdentity('node-a');
  t.is<string, string>(id.nodeId, 'node-a');
  const s = sign('qallow/vote/v1', Uint8Array.of(1, 2, 3), id.ed25519.secretKey);
  t.true(verify('qallow/vote/v1', Uint8Array.of(1, 2, 3), s, id.ed25519.publicKey));
  t.true(id.ed25519.publicKey.equals(id.ed25519.secretKey.publicKey));
  t.is(id.curve.publicKey.length, 40);
  t.is(id.curve.secretKey.length, 40);
  t.is(curvePublicFromSecret(id.curve.secretKey), id.curve.publicKey);
  const admin = generateAdminKey();
  t.false(admin.publicKey.equals(id.ed25519.publicKey));
  const e = t.throws(() => generateIdentity('Node_A'));
  t.true(isQallowError(e, 'BAD_PARAMETER'));
});

test('CURVE: node:crypto X25519 derives the same public key as zeromq (libsodium) for fresh pairs', (t) => {
  for (let i = 0; i < 8; i++) {
    const k = curveKeyPair();
    t.is(curvePublicFromSecret(k.secretKey), k.publicKey);
    t.notThrows(() => curvePair(k.publicKey, k.secretKey));
  }
  const a = curveKeyPair();
  const b = curveKeyPair();
  const e = t.throws(() => curvePair(a.publicKey, b.secretKey));
  keyInvalid(t, e, 'curve.publicKey');
});

test('writeKeyFiles: four files, secrets 0600, public 0644, secrets only in the secret files', async (t) => {
  const dir = join(await tempDir(t), 'keys');
  const node = generateIdentity('node-a');
  const admin = generateAdminKey();
  const written = await writeKeyFiles(dir, { node, admin });
  t.deepEqual(written.map((f) => f.kind), ['nodePublic', 'nodeSecret', 'adminPublic', 'adminSecret']);
  t.deepEqual((await readdir(dir)).sort(), Object.values(KEY_FILES).sort(), 'no temporary files left');
  for (const f of written) t.is((await stat(f.path)).mode & 0o777, f.secret ? 0o600 : 0o644, f.path);
  t.is((await stat(dir)).mode & 0o777, 0o700, 'a created directory is private');

  const nodePublicText = await readFile(join(dir, KEY_FILES.nodePublic), 'utf8');
  const adminPublicText = await readFile(join(dir, KEY_FILES.adminPublic), 'utf8');
  for (const text of [nodePublicText, adminPublicText]) {
    t.false(text.includes(node.ed25519.secretKey.toHex()));
    t.false(text.includes(node.curve.secretKey));
    t.false(text.includes(admin.secretKey.toHex()));
  }
  t.deepEqual(JSON.parse(nodePublicText), {
    format: 'qallow-node/v1',
    nodeId: 'node-a',
    ed25519: { publicKey: node.ed25519.publicKey.hex },
    curve: { publicKey: node.curve.publicKey },
  });

  // Everything reads back as the same keys.
  const pub = await readNodePublic(join(dir, KEY_FILES.nodePublic));
  t.true(pub.ed25519.publicKey.equals(node.ed25519.publicKey));
  t.is(pub.curve.publicKey, node.curve.publicKey);
  const secret = await readNodeSecret(join(dir, KEY_FILES.nodeSecret));
  t.is(secret.ed25519.secretKey.toHex(), node.ed25519.secretKey.toHex());
  t.deepEqual(secret.curve, node.curve);
  t.is<string, string>((await readNodeKeys(dir)).nodeId, 'node-a');
  t.true((await readAdminPublic(join(dir, KEY_FILES.adminPublic))).equals(admin.publicKey));
  t.is((await readAdminSecret(join(dir, KEY_FILES.adminSecret))).secretKey.toHex(), admin.secretKey.toHex());
});

test('writeKeyFiles refuses to overwrite without force and writes nothing; with force it replaces all four', async (t) => {
  const dir = await tempDir(t);
  const first = { node: generateIdentity('node-a'), admin: generateAdminKey() };
  await writeKeyFiles(dir, first);
  const before = await readFile(join(dir, KEY_FILES.nodeSecret), 'utf8');

  const e = await t.throwsAsync(writeKeyFiles(dir, { node: generateIdentity('node-b'), admin: generateAdminKey() }));
  t.true(isQallowError(e, 'IO_ERROR'));
  t.true(e!.message.includes('--force'), e!.message);
  t.is(await readFile(join(dir, KEY_FILES.nodeSecret), 'utf8'), before, 'old keys untouched');

  // Only one of the four present is enough to refuse, and nothing new is left behind.
  const other = await tempDir(t);
  await writeFile(join(other, KEY_FILES.adminSecret), 'precious');
  await t.throwsAsync(writeKeyFiles(other, first), { instanceOf: Error });
  t.deepEqual(await readdir(other), [KEY_FILES.adminSecret]);
  t.is(await readFile(join(other, KEY_FILES.adminSecret), 'utf8'), 'precious');

  const second = { node: generateIdentity('node-b'), admin: generateAdminKey() };
  await writeKeyFiles(dir, second, { force: true });
  const now = await readNodeKeys(dir);
  t.is<string, string>(now.nodeId, 'node-b');
  t.true(now.ed25519.publicKey.equals(second.node.ed25519.publicKey));
  t.is((await stat(join(dir, KEY_FILES.nodeSecret))).mode & 0o777, 0o600);
  t.deepEqual((await readdir(dir)).sort(), Object.values(KEY_FILES).sort());
});

// ---------------------------------------------------------------------------
// Loading is validation

type Obj = Record<string, unknown>;
/** Mutates the parsed file: the whole object, its ed25519 and its curve members. */
type Mutation = [name: string, field: string, mutate: (o: Obj, ed: Obj, curve: Obj) => void];

const NODE_SECRET_MUTATIONS: Mutation[] = [
  ['missing nodeId', 'nodeId', (o) => delete o['nodeId']],
  ['bad nodeId', 'nodeId', (o) => (o['nodeId'] = 'Node A')],
  ['wrong format', 'format', (o) => (o['format'] = 'qallow-node/v1')],
  ['unknown field', 'extra', (o) => (o['extra'] = 1)],
  ['ed25519 not an object', 'ed25519', (o) => (o['ed25519'] = 'x')],
  ['missing ed25519.secretKey', 'ed25519.secretKey', (_, ed) => delete ed['secretKey']],
  ['short ed25519.secretKey', 'ed25519.secretKey', (_, ed) => (ed['secretKey'] = String(ed['secretKey']).slice(2))],
  ['non-hex ed25519.secretKey', 'ed25519.secretKey', (_, ed) => (ed['secretKey'] = 'zz' + String(ed['secretKey']).slice(2))],
  ['ed25519.secretKey a number', 'ed25519.secretKey', (_, ed) => (ed['secretKey'] = 42)],
  ['long ed25519.publicKey', 'ed25519.publicKey', (_, ed) => (ed['publicKey'] = String(ed['publicKey']) + '00')],
  ['small-order ed25519.publicKey', 'ed25519.publicKey', (_, ed) => (ed['publicKey'] = '01' + '00'.repeat(31))],
  ['ed25519.publicKey of another key', 'ed25519.publicKey', (_, ed) => (ed['publicKey'] = Ed25519SecretKey.generate().publicKey.hex)],
  ['curve.secretKey not Z85', 'curve.secretKey', (_, __, c) => (c['secretKey'] = '~' + String(c['secretKey']).slice(1))],
  ['curve.secretKey short', 'curve.secretKey', (_, __, c) => (c['secretKey'] = String(c['secretKey']).slice(5))],
  ['curve.publicKey of another pair', 'curve.publicKey', (_, __, c) => (c['publicKey'] = curveKeyPair().publicKey)],
  ['missing curve', 'curve', (o) => delete o['curve']],
];

for (const [name, field, mutate] of NODE_SECRET_MUTATIONS) {
  test(`node.secret.json with ${name} is KEY_INVALID naming ${field}`, async (t) => {
    const dir = await tempDir(t);
    await writeKeyFiles(dir, { node: generateIdentity('node-a'), admin: generateAdminKey() });
    const path = join(dir, KEY_FILES.nodeSecret);
    const o = JSON.parse(await readFile(path, 'utf8')) as Obj;
    mutate(o, o['ed25519'] as Obj, o['curve'] as Obj);
    await writeFile(path, JSON.stringify(o));
    keyInvalid(t, await t.throwsAsync(readNodeSecret(path)), field, path);
  });
}

test('public and admin files: wrong lengths, bad hex or Z85, missing fields are KEY_INVALID naming the field', async (t) => {
  const dir = await tempDir(t);
  await writeKeyFiles(dir, { node: generateIdentity('node-a'), admin: generateAdminKey() });
  const nodePath = join(dir, KEY_FILES.nodePublic);
  const node = JSON.parse(await readFile(nodePath, 'utf8')) as { curve: { publicKey: string } };
  node.curve.publicKey = node.curve.publicKey.slice(0, 35);
  await writeFile(nodePath, JSON.stringify(node));
  keyInvalid(t, await t.throwsAsync(readNodePublic(nodePath)), 'curve.publicKey', nodePath);

  const adminPath = join(dir, KEY_FILES.adminPublic);
  await writeFile(adminPath, JSON.stringify({ format: 'qallow-admin/v1' }));
  keyInvalid(t, await t.throwsAsync(readAdminPublic(adminPath)), 'publicKey', adminPath);
  await writeFile(adminPath, JSON.stringify({ format: 'qallow-admin/v1', publicKey: 'ab'.repeat(31) }));
  keyInvalid(t, await t.throwsAsync(readAdminPublic(adminPath)), 'publicKey', adminPath);

  const adminSecretPath = join(dir, KEY_FILES.adminSecret);
  const s = JSON.parse(await readFile(adminSecretPath, 'utf8')) as { secretKey: string };
  s.secretKey = s.secretKey.replace(/^../, 'g0');
  await writeFile(adminSecretPath, JSON.stringify(s));
  keyInvalid(t, await t.throwsAsync(readAdminSecret(adminSecretPath)), 'secretKey', adminSecretPath);

  await writeFile(adminPath, '{"format": "qallow-admin/v1", ');
  keyInvalid(t, await t.throwsAsync(readAdminPublic(adminPath)), '', adminPath);
  await writeFile(adminPath, '[1]');
  keyInvalid(t, await t.throwsAsync(readAdminPublic(adminPath)), '', adminPath);
});

test('a node.json that disagrees with node.secret.json is KEY_INVALID; a missing file is IO_ERROR', async (t) => {
  const dir = await tempDir(t);
  await writeKeyFiles(dir, { node: generateIdentity('node-a'), admin: generateAdminKey() });
  const other = await tempDir(t);
  await writeKeyFiles(other, { node: generateIdentity('node-a'), admin: generateAdminKey() });
  await writeFile(join(dir, KEY_FILES.nodePublic), await readFile(join(other, KEY_FILES.nodePublic)));
  keyInvalid(t, await t.throwsAsync(readNodeKeys(dir)), 'ed25519.publicKey', join(dir, KEY_FILES.nodePublic));

  const e = await t.throwsAsync(readNodeSecret(join(dir, 'nope.json')));
  t.true(isQallowError(e, 'IO_ERROR'));
  t.true(e!.message.includes('keys gen'), e!.message);
});

test('parseNodeSecret without a file names just the field', (t) => {
  const e = t.throws(() => parseNodeSecret({ format: 'qallow-node-secret/v1', nodeId: 'a', ed25519: {}, curve: {} }));
  t.true(isQallowError(e, 'KEY_INVALID'));
  t.is((e as QallowError).details['field'], 'ed25519.publicKey');
  t.false('file' in (e as QallowError).details);
});

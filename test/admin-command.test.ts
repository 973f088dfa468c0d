/**
 * Admin commands: typed fixtures for every command type (adding a type
 * without one fails to compile), validation that names the field, the
 * canonical signed layout, and the msgpackr wire form with its refusals.
 */
import test from 'ava';
import { pack } from 'msgpackr';
import {
  ADMIN_COMMAND_TYPES,
  MAX_SIGNED_COMMAND_BYTES,
  adminCommandBytes,
  decodeSignedCommand,
  encodeSignedCommand,
  parseAdminCommand,
  signCommand,
  signedCommandBytes,
  type AdminCommand,
  type AdminCommandOf,
  type AdminCommandType,
  type SignedCommand,
} from '../runtime/admin/index.js';
import { nodeId } from '../runtime/actors/address.js';
import { Ed25519SecretKey } from '../runtime/identity/ed25519.js';
import { isQallowError, type ErrorCode, type QallowError } from '../runtime/errors.js';

const FIXTURES: { readonly [K in AdminCommandType]: readonly AdminCommandOf<K>[] } = {
  status: [{ type: 'status' }],
  runs: [{ type: 'runs' }],
  run: [
    { type: 'run', params: { phase: 'phase12', ticks: 100, eps: [0.001, 0.0025] } },
    {
      type: 'run',
      id: 'ring-1m',
      epochTicks: 50,
      backend: 'webasm',
      params: { phase: 'phase13', ticks: 300, pockets: 1_000_000, couplings: [0.002, 0.004], rings: 2, reference: false },
    },
    { type: 'run', id: 'ref', params: { phase: 'phase13', ticks: 10, pockets: -3, couplings: [-0.5], reference: true } },
  ],
  pause: [{ type: 'pause', run: 'ring-1m' }],
  resume: [{ type: 'resume', run: 'ring-1m' }],
  cancel: [{ type: 'cancel', run: 'r.2_x-y' }],
  'actor.restart': [{ type: 'actor.restart', actor: 'qallow://node-a/runs/ring-1m' }],
  'actor.stop': [{ type: 'actor.stop', actor: 'qallow://node-b/telemetry' }],
  'checkpoint.take': [{ type: 'checkpoint.take', run: 'ring-1m' }],
  shutdown: [{ type: 'shutdown' }],
  'ledger.tail': [
    { type: 'ledger.tail', limit: 10 },
    { type: 'ledger.tail', limit: 256, after: [] },
    { type: 'ledger.tail', limit: 256, after: [{ origin: 'node-a', seq: 0 }, { origin: 'node-b', seq: 42 }] },
  ],
};

const ALL: AdminCommand[] = ADMIN_COMMAND_TYPES.flatMap((k) => FIXTURES[k] as readonly AdminCommand[]);
const ADMIN = Ed25519SecretKey.generate();
const NOW = 1_750_000_000_000;
const NONCE = Uint8Array.from({ length: 16 }, (_, i) => i + 1);

function refused(t: import('ava').ExecutionContext, fn: () => unknown, code: ErrorCode, field: string): void {
  const e = t.throws(fn);
  t.true(isQallowError(e, code), `${code}, got ${String(e)}`);
  t.is((e as QallowError).details['field'], field, (e as QallowError).message);
}

test('every command type has a fixture, and each parses to itself', (t) => {
  t.deepEqual(Object.keys(FIXTURES).sort(), [...ADMIN_COMMAND_TYPES].sort());
  for (const c of ALL) t.deepEqual(parseAdminCommand(c), c, c.type);
});

test('every fixture survives sign → encode → decode unchanged', (t) => {
  for (const c of ALL) {
    const s = signCommand(c, ADMIN, 'node-a', { now: NOW });
    const back = decodeSignedCommand(encodeSignedCommand(s));
    t.deepEqual(back, s, c.type);
    t.deepEqual(signedCommandBytes(back), signedCommandBytes(s));
  }
});

test('canonical bytes: the documented layout, byte for byte, for pause', (t) => {
  const str = (s: string): Buffer => {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return Buffer.concat([len, b]);
  };
  const u64 = Buffer.alloc(8);
  u64.writeBigUInt64LE(BigInt(NOW));
  const expected = Buffer.concat([str('node-a'), str('pause'), u64, Buffer.from(NONCE), str('ring-1m')]);
  t.deepEqual(Buffer.from(adminCommandBytes(nodeId('node-a'), { type: 'pause', run: 'ring-1m' }, NOW, NONCE)), expected);
  const s = signCommand({ type: 'pause', run: 'ring-1m' }, ADMIN, 'node-a', { now: NOW, nonce: NONCE });
  t.deepEqual(Buffer.from(signedCommandBytes(s)), Buffer.concat([str('qallow/admin/v1'), expected]));
});

test('canonical bytes differ for every fixture, and for absent versus present optional fields', (t) => {
  const seen = new Set<string>();
  for (const c of ALL) seen.add(Buffer.from(adminCommandBytes(nodeId('node-a'), c, NOW, NONCE)).toString('hex'));
  t.is(seen.size, ALL.length);
  const base: AdminCommand = { type: 'run', params: { phase: 'phase13', ticks: 5, pockets: 8, couplings: [0.1] } };
  const variants: AdminCommand[] = [
    base,
    { ...base, id: 'a' },
    { ...base, epochTicks: 1 },
    { ...base, backend: 'js' },
    { ...base, paced: true },
    { type: 'run', params: { phase: 'phase13', ticks: 5, pockets: 8, couplings: [0.1], rings: 1 } },
    { type: 'run', params: { phase: 'phase13', ticks: 5, pockets: 8, couplings: [0.1], reference: false } },
    { type: 'run', params: { phase: 'phase13', ticks: 5, pockets: 8, couplings: [0.1], reference: true } },
  ];
  const hexes = variants.map((c) => Buffer.from(adminCommandBytes(nodeId('node-a'), c, NOW, NONCE)).toString('hex'));
  t.is(new Set(hexes).size, variants.length);
  // undefined members are the same as absent ones
  t.deepEqual(
    adminCommandBytes(nodeId('node-a'), { ...base, id: undefined }, NOW, NONCE),
    adminCommandBytes(nodeId('node-a'), base, NOW, NONCE),
  );
});

test('-0 is normalised to 0, so a command survives msgpack (which drops the sign) and still verifies', (t) => {
  const c: AdminCommand = { type: 'run', params: { phase: 'phase12', ticks: 3, eps: [-0, 0.5] } };
  const s = signCommand(c, ADMIN, 'node-a', { now: NOW });
  t.true(s.command.type === 'run' && s.command.params.phase === 'phase12' && Object.is(s.command.params.eps[0], 0));
  const back = decodeSignedCommand(encodeSignedCommand(s));
  t.true(ADMIN.publicKey.verify(signedCommandBytes(back), back.signature));
});

// ---------------------------------------------------------------------------
// Validation names the field

const BAD_COMMANDS: [unknown, string][] = [
  [null, 'command'],
  [[], 'command'],
  [{ type: 'reboot' }, 'command.type'],
  [{}, 'command.type'],
  [{ type: 'status', run: 'x' }, 'command.run'],
  [{ type: 'pause' }, 'command.run'],
  [{ type: 'pause', run: '' }, 'command.run'],
  [{ type: 'pause', run: '-x' }, 'command.run'],
  [{ type: 'pause', run: 7 }, 'command.run'],
  [{ type: 'actor.stop', actor: 'runs/x' }, 'command.actor'],
  [{ type: 'actor.stop', actor: 'qallow://Node/x' }, 'command.actor'],
  [{ type: 'run' }, 'command.params'],
  [{ type: 'run', params: { phase: 'phase14', ticks: 1 } }, 'command.params.phase'],
  [{ type: 'run', params: { phase: 'phase12', ticks: 0, eps: [0.1] } }, 'command.params.ticks'],
  [{ type: 'run', params: { phase: 'phase12', ticks: 1.5, eps: [0.1] } }, 'command.params.ticks'],
  [{ type: 'run', params: { phase: 'phase12', ticks: 2 ** 53, eps: [0.1] } }, 'command.params.ticks'],
  [{ type: 'run', params: { phase: 'phase12', ticks: 1, eps: [] } }, 'command.params.eps'],
  [{ type: 'run', params: { phase: 'phase12', ticks: 1, eps: [0.1, NaN] } }, 'command.params.eps[1]'],
  [{ type: 'run', params: { phase: 'phase12', ticks: 1, eps: [Infinity] } }, 'command.params.eps[0]'],
  [{ type: 'run', params: { phase: 'phase12', ticks: 1, eps: ['0.1'] } }, 'command.params.eps[0]'],
  [{ type: 'run', params: { phase: 'phase12', ticks: 1, eps: [0.1], pockets: 3 } }, 'command.params.pockets'],
  [{ type: 'run', params: { phase: 'phase13', ticks: 1, pockets: 4, couplings: [0.1], rings: 0 } }, 'command.params.rings'],
  [{ type: 'run', params: { phase: 'phase13', ticks: 1, pockets: 4, couplings: [0.1], reference: 1 } }, 'command.params.reference'],
  [{ type: 'run', params: { phase: 'phase13', ticks: 1, pockets: 4, couplings: [0.1], maxPockets: 99 } }, 'command.params.maxPockets'],
  [{ type: 'run', params: { phase: 'phase13', ticks: 1, pockets: 4.5, couplings: [0.1] } }, 'command.params.pockets'],
  [{ type: 'run', params: { phase: 'phase12', ticks: 1, eps: [0.1] }, epochTicks: 0 }, 'command.epochTicks'],
  [{ type: 'run', params: { phase: 'phase12', ticks: 1, eps: [0.1] }, backend: 'cuda' }, 'command.backend'],
  [{ type: 'run', params: { phase: 'phase12', ticks: 1, eps: [0.1] }, id: 'a b' }, 'command.id'],
  [{ type: 'run', params: { phase: 'phase12', ticks: 1, eps: [0.1] }, paced: 'yes' }, 'command.paced'],
  [{ type: 'run', params: { phase: 'phase12', ticks: 1, eps: [0.1] }, paced: false }, 'command.paced'],
];

test('parseAdminCommand refuses malformed commands with BAD_FRAME naming the field', (t) => {
  for (const [value, field] of BAD_COMMANDS) refused(t, () => parseAdminCommand(value), 'BAD_FRAME', field);
});

test('signCommand refuses the same commands with BAD_PARAMETER (a local mistake, exit 2)', (t) => {
  for (const [value, field] of BAD_COMMANDS) refused(t, () => signCommand(value as AdminCommand, ADMIN, 'node-a'), 'BAD_PARAMETER', field);
  const e = t.throws(() => signCommand({ type: 'status' }, ADMIN, 'Node A'));
  t.true(isQallowError(e, 'BAD_PARAMETER'));
  const n = t.throws(() => signCommand({ type: 'status' }, ADMIN, 'node-a', { nonce: new Uint8Array(8) }));
  t.true(isQallowError(n, 'BAD_PARAMETER'));
});

// ---------------------------------------------------------------------------
// Wire refusals

function frame(over: Record<string, unknown>, drop: string[] = []): Uint8Array {
  const s = signCommand({ type: 'pause', run: 'r1' }, ADMIN, 'node-a', { now: NOW });
  const o: Record<string, unknown> = { v: 1, target: s.target, timestamp: s.timestamp, nonce: s.nonce, adminKey: s.adminKey, signature: s.signature, command: s.command, ...over };
  for (const k of drop) delete o[k];
  return new Uint8Array(pack(o));
}

test('decodeSignedCommand refuses malformed frames with BAD_FRAME naming the field', (t) => {
  const cases: [Uint8Array, string][] = [
    [Uint8Array.of(0xc1), 'signedCommand'],
    [Uint8Array.of(0x92, 0x01), 'signedCommand'],
    [new Uint8Array(pack([1, 2])), 'signedCommand'],
    [new Uint8Array(pack('hello')), 'signedCommand'],
    [new Uint8Array([...frame({}), 0x00]), 'signedCommand'],
    [frame({ v: 2 }), 'signedCommand.v'],
    [frame({}, ['v']), 'signedCommand.v'],
    [frame({ extra: true }), 'signedCommand.extra'],
    [frame({}, ['signature']), 'signedCommand.signature'],
    [frame({ target: 'Node A' }), 'signedCommand.target'],
    [frame({ timestamp: -1 }), 'signedCommand.timestamp'],
    [frame({ timestamp: 1.5 }), 'signedCommand.timestamp'],
    [frame({ timestamp: '1750000000000' }), 'signedCommand.timestamp'],
    [frame({ timestamp: 2n ** 60n }), 'signedCommand.timestamp'],
    [frame({ nonce: new Uint8Array(15) }), 'signedCommand.nonce'],
    [frame({ nonce: 'aa'.repeat(16) }), 'signedCommand.nonce'],
    [frame({ adminKey: new Uint8Array(31) }), 'signedCommand.adminKey'],
    [frame({ signature: new Uint8Array(65) }), 'signedCommand.signature'],
    [frame({ command: { type: 'pause', run: 'r1', extra: 1 } }), 'command.extra'],
    [frame({ command: { type: 'run', params: { phase: 'phase12', ticks: -4, eps: [1] } } }), 'command.params.ticks'],
    [frame({ command: 'pause' }), 'command'],
  ];
  for (const [bytes, field] of cases) refused(t, () => decodeSignedCommand(bytes), 'BAD_FRAME', field);
});

test('an oversized frame is refused before it is parsed', (t) => {
  refused(t, () => decodeSignedCommand(new Uint8Array(MAX_SIGNED_COMMAND_BYTES + 1)), 'BAD_FRAME', 'signedCommand');
});

test('decoded byte fields are copies, not views of the frame', (t) => {
  const bytes = encodeSignedCommand(signCommand({ type: 'status' }, ADMIN, 'node-a', { now: NOW }));
  const s: SignedCommand = decodeSignedCommand(bytes);
  const before = Buffer.from(s.signature).toString('hex');
  bytes.fill(0);
  t.is(Buffer.from(s.signature).toString('hex'), before);
});

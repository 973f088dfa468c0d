/**
 * Checkpoint hash chain: the hash covers every field through a documented
 * fixed layout, tampering with any field breaks it, and reordering,
 * dropping or mixing checkpoints breaks the chain.
 */
import { createHash } from 'node:crypto';
import test from 'ava';
import { isQallowError } from '../runtime/errors.js';
import {
  CHECKPOINT_PURPOSE,
  GENESIS_HASH,
  checkpointHash,
  sealCheckpoint,
  verifyChain,
  verifyCheckpoint,
  type CausalEdge,
  type Checkpoint,
  type CheckpointFields,
} from '../runtime/store/checkpoint.js';

const H1 = '1f'.repeat(32);
const H2 = 'c0'.repeat(32);

const fields = (epoch: number, edges: readonly CausalEdge[] = []): CheckpointFields => ({
  run: 'run-7',
  epoch,
  tick: 1000 * epoch,
  stateHash: epoch % 2 ? H1 : H2,
  edges,
  timestamp: 1_750_000_000_000 + epoch,
});

const allEdges: CausalEdge[] = [
  { kind: 'admin', command: 'pause', tick: 1200 },
  { kind: 'adaptation', ring: 2, coupling: 0.005, tick: 1999 },
  { kind: 'rollback', toEpoch: 0, tick: 1999 },
];

function chainOf(n: number): Checkpoint[] {
  const out: Checkpoint[] = [];
  for (let e = 0; e < n; e++) out.push(sealCheckpoint(fields(e, e === 1 ? allEdges : []), out.at(-1) ?? null));
  return out;
}

test('a first checkpoint links to genesis (64 zeros) and verifies', (t) => {
  const c = sealCheckpoint(fields(0), null);
  t.is(c.prevHash, GENESIS_HASH);
  t.is(GENESIS_HASH, '0'.repeat(64));
  t.regex(c.hash, /^[0-9a-f]{64}$/);
  t.is(verifyCheckpoint(c, null), null);
  t.is(checkpointHash(c), c.hash);
});

test('the hash is SHA-256 of exactly the documented layout', (t) => {
  const [, c] = chainOf(2) as [Checkpoint, Checkpoint];
  const parts: Buffer[] = [];
  const u32 = (v: number): void => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    parts.push(b);
  };
  const str = (s: string): void => {
    u32(Buffer.byteLength(s));
    parts.push(Buffer.from(s));
  };
  str(CHECKPOINT_PURPOSE);
  str(c.run);
  u32(c.epoch);
  u32(c.tick);
  parts.push(Buffer.from(c.stateHash, 'hex'));
  u32(3);
  str('admin');
  str('pause');
  u32(1200);
  str('adaptation');
  u32(2);
  const f = Buffer.alloc(8);
  f.writeDoubleLE(0.005);
  parts.push(f);
  u32(1999);
  str('rollback');
  u32(0);
  u32(1999);
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64LE(BigInt(c.timestamp));
  parts.push(ts);
  parts.push(Buffer.from(c.prevHash, 'hex'));
  t.is(c.hash, createHash('sha256').update(Buffer.concat(parts)).digest('hex'));
});

test('tampering with any field breaks the hash', (t) => {
  const [c0, c] = chainOf(2) as [Checkpoint, Checkpoint];
  const edges = c.edges as [Extract<CausalEdge, { kind: 'admin' }>, Extract<CausalEdge, { kind: 'adaptation' }>, Extract<CausalEdge, { kind: 'rollback' }>];
  const tampered: Array<[string, Checkpoint]> = [
    ['run', { ...c, run: 'run-8' }],
    ['epoch', { ...c, epoch: 2 }],
    ['tick', { ...c, tick: c.tick + 1 }],
    ['stateHash', { ...c, stateHash: H2 }],
    ['timestamp', { ...c, timestamp: c.timestamp + 1 }],
    ['prevHash', { ...c, prevHash: GENESIS_HASH }],
    ['hash', { ...c, hash: H1 }],
    ['edges removed', { ...c, edges: [] }],
    ['edges reordered', { ...c, edges: [edges[1], edges[0], edges[2]] }],
    ['edge dropped', { ...c, edges: [edges[0], edges[1]] }],
    ['admin.command', { ...c, edges: [{ ...edges[0], command: 'resume' }, edges[1], edges[2]] }],
    ['admin.tick', { ...c, edges: [{ ...edges[0], tick: 1201 }, edges[1], edges[2]] }],
    ['adaptation.ring', { ...c, edges: [edges[0], { ...edges[1], ring: 1 }, edges[2]] }],
    ['adaptation.coupling', { ...c, edges: [edges[0], { ...edges[1], coupling: 0.0050000001 }, edges[2]] }],
    ['adaptation.tick', { ...c, edges: [edges[0], { ...edges[1], tick: 1998 }, edges[2]] }],
    ['rollback.toEpoch', { ...c, edges: [edges[0], edges[1], { ...edges[2], toEpoch: 1 }] }],
    ['rollback.tick', { ...c, edges: [edges[0], edges[1], { ...edges[2], tick: 0 }] }],
  ];
  t.is(verifyCheckpoint(c, c0), null);
  for (const [label, x] of tampered) {
    const reason = verifyCheckpoint(x, c0);
    t.truthy(reason, label);
    if (label !== 'hash') t.regex(reason!, /^hash .* does not match/, label);
  }
  // -0 and 0 are different couplings, and so different checkpoints.
  const zero = sealCheckpoint({ ...fields(1), edges: [{ kind: 'adaptation', ring: 0, coupling: 0, tick: 1 }] }, c0);
  const negZero = sealCheckpoint({ ...fields(1), edges: [{ kind: 'adaptation', ring: 0, coupling: -0, tick: 1 }] }, c0);
  t.not(zero.hash, negZero.hash);
});

test('a chain verifies in order; reordering, dropping, duplicating or mixing runs breaks it', (t) => {
  const list = chainOf(5);
  t.is(verifyChain(list), null);
  t.is(verifyChain(list.slice(2), list[1]!), null, 'a suffix verifies from its predecessor');
  const swapped = [list[0]!, list[2]!, list[1]!, list[3]!, list[4]!];
  t.like(verifyChain(swapped), { index: 1, epoch: 2 });
  t.like(verifyChain([list[0]!, list[1]!, list[3]!, list[4]!]), { index: 2, epoch: 3 });
  t.like(verifyChain([list[0]!, list[1]!, list[1]!]), { index: 2 });
  t.like(verifyChain(list.slice(1)), { index: 0, epoch: 1 }, 'must start at genesis by default');
  t.like(verifyChain([...list].reverse()), { index: 0 });
  const other = sealCheckpoint({ ...fields(5), run: 'other' }, null);
  const mixed = verifyChain([...list, other]);
  t.like(mixed, { index: 5 });
  t.regex(mixed!.reason, /prevHash|run/);
  t.is(verifyChain([]), null);
});

test('a successor must be of the same run and a later epoch, and link to its predecessor', (t) => {
  const [c0, c1] = chainOf(2) as [Checkpoint, Checkpoint];
  t.regex(verifyCheckpoint(c1, null)!, /no previous checkpoint/);
  t.regex(verifyCheckpoint(c1, { ...c0, hash: H1 })!, /prevHash .* is not the hash of the previous checkpoint/);
  t.regex(verifyCheckpoint(c1, { ...c0, epoch: 1 })!, /epoch 1 does not follow/);
  t.regex(verifyCheckpoint(c1, { ...c0, run: 'x' })!, /previous checkpoint belongs to run "x"/);
  for (const [label, prev] of [
    ['same epoch', { ...c1 }],
    ['other run', { ...c1, run: 'x' }],
  ] as const) {
    const err = t.throws(() => sealCheckpoint({ ...fields(1) }, prev), undefined, label);
    t.true(isQallowError(err, 'BAD_PARAMETER'), label);
  }
});

test('sealCheckpoint refuses malformed fields with the field named, and owns its edges', (t) => {
  const bad: Array<[RegExp, CheckpointFields]> = [
    [/^checkpoint: run/, { ...fields(0), run: '' }],
    [/epoch/, { ...fields(0), epoch: -1 }],
    [/epoch/, { ...fields(0), epoch: 1.5 }],
    [/tick/, { ...fields(0), tick: Number.NaN }],
    [/stateHash/, { ...fields(0), stateHash: H1.toUpperCase() }],
    [/stateHash/, { ...fields(0), stateHash: 'abc' }],
    [/timestamp/, { ...fields(0), timestamp: -5 }],
    [/edges\[0\]\.coupling/, { ...fields(0), edges: [{ kind: 'adaptation', ring: 0, coupling: Number.NaN, tick: 0 }] }],
    [/edges\[0\]\.kind/, { ...fields(0), edges: [{ kind: 'meteor', tick: 0 } as unknown as CausalEdge] }],
    [/edges\[1\]\.command/, { ...fields(0), edges: [allEdges[0]!, { kind: 'admin', command: '', tick: 0 }] }],
  ];
  for (const [message, f] of bad) {
    const err = t.throws(() => sealCheckpoint(f, null));
    t.true(isQallowError(err, 'BAD_PARAMETER'), String(err));
    t.regex(err!.message, message);
  }
  const edges: CausalEdge[] = [{ kind: 'admin', command: 'pause', tick: 3 }];
  const c = sealCheckpoint(fields(0, edges), null);
  (edges[0] as { tick: number }).tick = 4;
  t.is(verifyCheckpoint(c, null), null);
});

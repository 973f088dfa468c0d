/**
 * Errors across hosts (issue 11 item 6): a failed reply whose error code
 * this host does not know (a newer peer's) is not dropped — the asker gets
 * INTERNAL with the peer's code in `details.remoteCode`, at once, not a
 * TIMEOUT — and an error's details cross the hop. Two hosts in one process
 * over the memory transport (the same codec as ZeroMQ), plus the decoder on
 * hand-packed frames from a "newer" sender.
 */
import test, { type ExecutionContext } from 'ava';
import { Packr } from 'msgpackr';
import * as zmq from 'zeromq';
import { nodeId } from '../runtime/actors/address.js';
import { createActorSystem, spawn, type ActorSystem, type ReplyTo } from '../runtime/actors/index.js';
import { replyError } from '../runtime/admin/client.js';
import { ClusterRouter, wireError } from '../runtime/cluster/router.js';
import { QallowError, isQallowError } from '../runtime/errors.js';
import { createLogger, memorySink } from '../runtime/logger.js';
import type { Transport } from '../runtime/transport/contract.js';
import { WIRE_VERSION, decodeFrame } from '../runtime/transport/envelope.js';
import { createMemoryNetwork, createMemoryTransport, type MemoryNetwork } from '../runtime/transport/memory.js';
import { waitFor } from './fixtures/transport-contract.js';

const packr = new Packr({ useRecords: false, moreTypes: false, structuredClone: false, bundleStrings: false });
const replyFrame = (error: unknown): Uint8Array => packr.pack([WIRE_VERSION, 3, 'node-b', 'qallow://node-a/cluster', 'actor.reply', { requestId: 1, ok: false, error }]);

test('decode: an unknown error code is INTERNAL with details.remoteCode; its details are kept', (t) => {
  const env = decodeFrame(replyFrame({ code: 'LEDGER_FROM_THE_FUTURE', message: 'newer peer', details: { run: 'r1', epoch: 4 } }));
  t.like(env, { type: 'actor.reply', body: { ok: false, error: { code: 'INTERNAL', message: 'newer peer', details: { run: 'r1', epoch: 4, remoteCode: 'LEDGER_FROM_THE_FUTURE' } } } });
  // A known code, with and without details, is as sent.
  t.like(decodeFrame(replyFrame({ code: 'MAILBOX_FULL', message: 'm', details: { actor: 'x', depth: 3, full: true, none: null } })), {
    body: { error: { code: 'MAILBOX_FULL', details: { actor: 'x', depth: 3, full: true, none: null } } },
  });
  t.deepEqual((decodeFrame(replyFrame({ code: 'TIMEOUT', message: '' })).body as { error: unknown }).error, { code: 'TIMEOUT', message: '' });
});

test('decode: an error that is not one (code not a code, bad details) is still BAD_FRAME naming the field', (t) => {
  const cases: Array<[unknown, string]> = [
    [{ code: 7, message: 'x' }, 'body.error.code'],
    [{ code: 'lower case', message: 'x' }, 'body.error.code'],
    [{ code: 'X'.repeat(65), message: 'x' }, 'body.error.code'],
    [{ code: 'TIMEOUT' }, 'body.error.message'],
    [{ code: 'TIMEOUT', message: 'x', extra: 1 }, 'body.error.extra'],
    [{ code: 'TIMEOUT', message: 'x', details: [1] }, 'body.error.details'],
    [{ code: 'TIMEOUT', message: 'x', details: { deep: { a: 1 } } }, 'body.error.details.deep'],
    [{ code: 'TIMEOUT', message: 'x', details: { long: 'y'.repeat(1025) } }, 'body.error.details.long'],
    [{ code: 'TIMEOUT', message: 'x', details: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i])) }, 'body.error.details'],
  ];
  for (const [error, field] of cases) {
    const e = t.throws(() => decodeFrame(replyFrame(error)), undefined, JSON.stringify(error).slice(0, 60));
    t.true(isQallowError(e, 'BAD_FRAME'));
    if (isQallowError(e)) t.is(e.details['field'], field);
  }
});

test('wireError carries details (bounded); a non-QallowError is INTERNAL without them', (t) => {
  t.deepEqual(wireError(new QallowError('ACTOR_NOT_FOUND', 'gone', { run: 'r', n: 2, inf: Infinity, long: 'z'.repeat(2000) })), {
    code: 'ACTOR_NOT_FOUND',
    message: 'gone',
    details: { run: 'r', n: 2, inf: 'Infinity', long: 'z'.repeat(1024) },
  });
  t.deepEqual(wireError(new Error('plain')), { code: 'INTERNAL', message: 'plain' });
});

// ------------------------------------------------------------------ two hosts

interface Side {
  readonly system: ActorSystem;
  readonly transport: Transport;
  readonly router: ClusterRouter;
}

async function side(t: ExecutionContext, network: MemoryNetwork, id: string): Promise<Side> {
  const logger = createLogger({ nodeId: id, destination: memorySink().stream, level: 'warn' });
  const system = createActorSystem({ nodeId: id }, { logger });
  await system.start();
  const transport = createMemoryTransport({ nodeId: nodeId(id), keys: zmq.curveKeyPair(), connectTimeoutMs: 200 }, { logger, network });
  await transport.start();
  const router = new ClusterRouter({}, { system, transport, logger });
  t.teardown(async () => {
    router.stop();
    await transport.stop();
    await system.stop();
  });
  return { system, transport, router };
}

async function connect(a: Side, b: Side): Promise<void> {
  a.transport.addPeer(b.transport.localPeer());
  b.transport.addPeer(a.transport.localPeer());
  await waitFor(() => a.transport.peers()[0]!.state === 'up' && b.transport.peers()[0]!.state === 'up', 'links up');
}

test('a remote actor failure arrives with its code, message and details, plus the node and actor asked', async (t) => {
  const network = createMemoryNetwork();
  const a = await side(t, network, 'node-a');
  const b = await side(t, network, 'node-b');
  for (const s of [a, b]) {
    s.router.start();
    s.transport.onMessage((env) => void s.router.receive(env));
  }
  spawn<{ type: 'get'; replyTo: ReplyTo<unknown> }, null>(b.system.root, {
    name: 'keeper',
    initialState: null,
    mailbox: { capacity: 16 },
    decode: (_raw, replyTo) => ({ type: 'get', replyTo: replyTo! }),
    handle: () => {
      throw new QallowError('CHECKPOINT_NOT_FOUND', 'no checkpoint 7 of run r1', { run: 'r1', epoch: 7, node: 'node-c' });
    },
  });
  await connect(a, b);
  const e = await t.throwsAsync(a.system.ask('qallow://node-b/keeper', { type: 'get' }, 10_000));
  t.true(isQallowError(e, 'CHECKPOINT_NOT_FOUND'), String(e));
  t.like((e as QallowError).details, { run: 'r1', epoch: 7, node: 'node-b', actor: 'qallow://node-b/keeper', remoteNode: 'node-c' });
});

test('a newer peer answering with an error code this host does not know: INTERNAL with remoteCode at once, not TIMEOUT', async (t) => {
  const network = createMemoryNetwork();
  const a = await side(t, network, 'node-a');
  const b = await side(t, network, 'node-b');
  a.router.start();
  a.transport.onMessage((env) => void a.router.receive(env));
  // node-b stands in for a newer release: it answers every ask with a code added after this one.
  b.transport.onMessage((env) => {
    if (env.type !== 'actor.ask') return;
    b.transport.send(env.from, {
      to: `qallow://${env.from}/cluster`,
      type: 'actor.reply',
      body: { requestId: env.body.requestId, ok: false, error: { code: 'QUOTA_EXCEEDED' as 'INTERNAL', message: 'over quota', details: { quota: 10 } } },
    });
  });
  await connect(a, b);
  const started = Date.now();
  const e = await t.throwsAsync(a.system.ask('qallow://node-b/anything', { type: 'get' }, 30_000));
  t.true(isQallowError(e, 'INTERNAL'), String(e));
  t.like((e as QallowError).details, { remoteCode: 'QUOTA_EXCEEDED', quota: 10, node: 'node-b' });
  t.is((e as QallowError).message, 'over quota');
  t.true(Date.now() - started < 30_000, 'answered, not timed out');
});

test('admin client: an error reply with a code this CLI does not know keeps its message, as INTERNAL with remoteCode', (t) => {
  const e = replyError({ name: 'QallowError', code: 'QUOTA_EXCEEDED', message: 'over quota', details: {} }, 'host-a');
  t.is(e.code, 'INTERNAL');
  t.is(e.message, 'over quota');
  t.like(e.details, { remoteCode: 'QUOTA_EXCEEDED', node: 'host-a' });
  t.is(replyError({ name: 'QallowError', code: 'TIMEOUT', message: 'slow', details: { a: 1 } }, 'host-a').code, 'TIMEOUT');
  t.is(replyError(7, 'host-a').code, 'INTERNAL');
});

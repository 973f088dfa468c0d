/**
 * Location transparency: two hosts in one process (actor systems wired
 * through the memory transport and the cluster router). The same
 * `system.send` / `system.ask` reaches a local or a remote actor; remote
 * failures arrive as typed errors.
 */
import test, { type ExecutionContext } from 'ava';
import * as zmq from 'zeromq';
import { nodeId } from '../runtime/actors/address.js';
import { createActorSystem, spawn, type ActorSystem, type ReplyTo } from '../runtime/actors/index.js';
import { ClusterRouter } from '../runtime/cluster/router.js';
import { QallowError } from '../runtime/errors.js';
import { createLogger, memorySink } from '../runtime/logger.js';
import type { Transport } from '../runtime/transport/contract.js';
import { createMemoryNetwork, createMemoryTransport, type MemoryNetwork } from '../runtime/transport/memory.js';
import { waitFor } from './fixtures/transport-contract.js';

type CounterMsg =
  | { readonly type: 'add'; readonly n: number }
  | { readonly type: 'get'; readonly replyTo: ReplyTo<unknown> }
  | { readonly type: 'slow'; readonly replyTo: ReplyTo<unknown> }
  | { readonly type: 'boom'; readonly replyTo: ReplyTo<unknown> };

/** Decode means validate: the remote message is untrusted data. */
function decodeCounter(raw: unknown, replyTo?: ReplyTo<unknown>): CounterMsg {
  const m = raw as { type?: unknown; n?: unknown };
  if (typeof m !== 'object' || m === null) throw new QallowError('BAD_PARAMETER', 'counter message must be a map', { field: 'message' });
  if (m.type === 'add' && typeof m.n === 'number') return { type: 'add', n: m.n };
  if ((m.type === 'get' || m.type === 'slow' || m.type === 'boom') && replyTo) return { type: m.type, replyTo };
  throw new QallowError('BAD_PARAMETER', `unknown counter message ${JSON.stringify(m.type)}`, { field: 'message.type' });
}

interface Side {
  readonly system: ActorSystem;
  readonly transport: Transport;
  readonly router: ClusterRouter;
  readonly seen: number[];
}

async function side(t: ExecutionContext, network: MemoryNetwork, id: string): Promise<Side> {
  const sink = memorySink();
  const logger = createLogger({ nodeId: id, destination: sink.stream, level: 'warn' });
  const system = createActorSystem({ nodeId: id }, { logger });
  await system.start();
  const transport = createMemoryTransport({ nodeId: nodeId(id), keys: zmq.curveKeyPair(), connectTimeoutMs: 200 }, { logger, network });
  await transport.start();
  const router = new ClusterRouter({ maxPendingAsks: 8 }, { system, transport, logger });
  router.start();
  transport.onMessage((env) => void router.receive(env));
  const seen: number[] = [];
  spawn<CounterMsg, number>(system.root, {
    name: 'counter',
    initialState: 0,
    mailbox: { capacity: 1024 },
    decode: decodeCounter,
    async handle(state, msg) {
      switch (msg.type) {
        case 'add':
          seen.push(msg.n);
          return state + msg.n;
        case 'get':
          msg.replyTo.reply({ total: state, node: id });
          return state;
        case 'slow':
          return state; // never answers: the asker times out
        case 'boom':
          throw new QallowError('CHECKPOINT_NOT_FOUND', 'no checkpoint here', {});
      }
    },
  });
  t.teardown(async () => {
    router.stop();
    await transport.stop();
    await system.stop();
  });
  return { system, transport, router, seen };
}

async function pair(t: ExecutionContext): Promise<{ a: Side; b: Side; network: MemoryNetwork }> {
  const network = createMemoryNetwork();
  const a = await side(t, network, 'node-a');
  const b = await side(t, network, 'node-b');
  a.transport.addPeer(b.transport.localPeer());
  b.transport.addPeer(a.transport.localPeer());
  await waitFor(() => a.transport.peers()[0]!.state === 'up' && b.transport.peers()[0]!.state === 'up', 'links up');
  return { a, b, network };
}

test('the same send and ask reach a local and a remote actor', async (t) => {
  const { a, b } = await pair(t);
  a.system.send('qallow://node-a/counter', { type: 'add', n: 1 });
  a.system.send('qallow://node-b/counter', { type: 'add', n: 2 });
  t.deepEqual(await a.system.ask('qallow://node-a/counter', { type: 'get' }, 1000), { total: 1, node: 'node-a' });
  t.deepEqual(await a.system.ask('qallow://node-b/counter', { type: 'get' }, 1000), { total: 2, node: 'node-b' });
  t.deepEqual(b.seen, [2]);
});

test('tells from one host to a remote actor arrive in order (FIFO per pair)', async (t) => {
  const { a, b } = await pair(t);
  const n = 2000;
  for (let i = 0; i < n; i++) a.system.send('qallow://node-b/counter', { type: 'add', n: i });
  // More than the mailbox holds (1024): the overflow waits in order instead of being dropped.
  await waitFor(() => b.seen.length === n, 'every tell delivered');
  t.deepEqual(b.seen, Array.from({ length: n }, (_, i) => i));
  t.is(b.router.stats().undeliverable, 0);
  t.is(b.router.stats().held, 0);
});

test('remote failures are typed: ACTOR_NOT_FOUND, TIMEOUT, the remote error, bad requests', async (t) => {
  const { a } = await pair(t);
  const notFound = await t.throwsAsync(a.system.ask('qallow://node-b/nobody', { type: 'get' }, 1000));
  t.is((notFound as QallowError).code, 'ACTOR_NOT_FOUND');
  t.is((notFound as QallowError).details['node'], 'node-b');
  const timeout = await t.throwsAsync(a.system.ask('qallow://node-b/counter', { type: 'slow' }, 50));
  t.is((timeout as QallowError).code, 'TIMEOUT');
  const remote = await t.throwsAsync(a.system.ask('qallow://node-b/counter', { type: 'boom' }, 1000));
  t.is((remote as QallowError).code, 'CHECKPOINT_NOT_FOUND');
  const undecodable = await t.throwsAsync(a.system.ask('qallow://node-b/counter', { type: 'nope' }, 1000));
  t.is((undecodable as QallowError).code, 'BAD_PARAMETER');
  // Not plain data: refused on this side before anything is sent.
  t.throws(() => a.system.send('qallow://node-b/counter', { type: 'add', n: new Float32Array(2) }), { instanceOf: QallowError, message: /Float32Array/ });
  t.throws(() => a.system.send('qallow://node-z/counter', { type: 'add', n: 1 }), { instanceOf: QallowError, message: /node-z/ });
});

test('an outstanding ask fails PEER_DOWN when the peer goes down, and telling a down peer throws PEER_DOWN', async (t) => {
  const { a, b, network } = await pair(t);
  const pending = a.system.ask('qallow://node-b/counter', { type: 'slow' }, 60_000);
  network.cut(a.transport.nodeId, b.transport.nodeId);
  const e = await t.throwsAsync(pending);
  t.is((e as QallowError).code, 'PEER_DOWN');
  const tell = t.throws(() => a.system.send('qallow://node-b/counter', { type: 'add', n: 1 }));
  t.is((tell as QallowError).code, 'PEER_DOWN');
  t.is(a.router.stats().pendingAsks, 0);
});

test('outstanding asks are bounded: beyond the limit ask rejects BACKPRESSURE', async (t) => {
  const { a } = await pair(t);
  const slow = Array.from({ length: 8 }, () => a.system.ask('qallow://node-b/counter', { type: 'slow' }, 300).catch((e: unknown) => e));
  const over = await t.throwsAsync(a.system.ask('qallow://node-b/counter', { type: 'get' }, 300));
  t.is((over as QallowError).code, 'BACKPRESSURE');
  for (const r of await Promise.all(slow)) t.is((r as QallowError).code, 'TIMEOUT');
  // Room again once they have settled.
  t.deepEqual(await a.system.ask('qallow://node-b/counter', { type: 'get' }, 1000), { total: 0, node: 'node-b' });
});

test('an undeliverable remote tell is counted on the receiving host, which keeps serving', async (t) => {
  const { a, b } = await pair(t);
  a.system.send('qallow://node-b/nobody', { type: 'add', n: 1 });
  a.system.send('qallow://node-b/counter', { type: 'bogus' });
  a.system.send('qallow://node-b/counter', { type: 'add', n: 5 });
  await waitFor(() => b.seen.length === 1, 'the good tell delivered');
  t.is(b.router.stats().undeliverable, 2);
  t.deepEqual(await a.system.ask('qallow://node-b/counter', { type: 'get' }, 1000), { total: 5, node: 'node-b' });
});

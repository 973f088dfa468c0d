import test from 'ava';
import * as zmq from 'zeromq';
import { nodeId } from '../runtime/actors/address.js';
import { createLogger, memorySink } from '../runtime/logger.js';
import type { Envelope } from '../runtime/transport/envelope.js';
import { createMemoryNetwork, createMemoryTransport } from '../runtime/transport/memory.js';
import { transportContract, waitFor } from './fixtures/transport-contract.js';
import { memoryHarness } from './fixtures/transport-harness.js';

transportContract('memory', memoryHarness);

test('memory: a cut link goes down after the timeout and comes back up when healed, in order', async (t) => {
  const network = createMemoryNetwork();
  const logger = createLogger({ nodeId: 'mem', destination: memorySink().stream });
  const [a, b] = ['a', 'b'].map((id) => createMemoryTransport({ nodeId: nodeId(id), keys: zmq.curveKeyPair(), connectTimeoutMs: 200 }, { logger, network }));
  t.teardown(async () => {
    await a!.stop();
    await b!.stop();
  });
  await Promise.all([a!.start(), b!.start()]);
  a!.addPeer(b!.localPeer());
  b!.addPeer(a!.localPeer());
  await waitFor(() => a!.peers()[0]!.state === 'up' && b!.peers()[0]!.state === 'up', 'links up');
  const got: Envelope[] = [];
  b!.onMessage((e) => got.push(e));

  network.cut(a!.nodeId, b!.nodeId);
  t.is(a!.peers()[0]!.state, 'connecting');
  a!.send(b!.nodeId, { to: 'qallow://b/x', type: 'actor.tell', body: { payload: 'held' } });
  network.heal(a!.nodeId, b!.nodeId);
  await waitFor(() => got.length === 1, 'the message held across a short cut');

  network.cut(a!.nodeId, b!.nodeId);
  a!.send(b!.nodeId, { to: 'qallow://b/x', type: 'actor.tell', body: { payload: 'lost' } });
  await waitFor(() => a!.peers()[0]!.state === 'down' && b!.peers()[0]!.state === 'down', 'both sides down');
  t.is(a!.stats().dropped.peerDown, 1);
  network.heal(a!.nodeId, b!.nodeId);
  await waitFor(() => a!.peers()[0]!.state === 'up', 'up after healing');
  a!.send(b!.nodeId, { to: 'qallow://b/x', type: 'actor.tell', body: { payload: 'after' } });
  await waitFor(() => got.length === 2, 'the message after healing');
  t.deepEqual(
    got.map((e) => (e.type === 'actor.tell' ? e.body.payload : null)),
    ['held', 'after'],
  );
});

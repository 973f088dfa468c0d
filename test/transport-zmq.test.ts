/**
 * What only the ZeroMQ transport has: CURVE handshakes that fail for other
 * reasons than an unknown key, key and listen checks before any socket
 * exists, port 0. The shared behaviour is in the contract suite.
 */
import { createServer, connect, type Socket } from 'node:net';
import test from 'ava';
import * as zmq from 'zeromq';
import { nodeId } from '../runtime/actors/address.js';
import { QallowError } from '../runtime/errors.js';
import { createLogger, memorySink } from '../runtime/logger.js';
import type { Transport } from '../runtime/transport/contract.js';
import { WIRE_VERSION, encodeEnvelope, type Envelope } from '../runtime/transport/envelope.js';
import { createZmqTransport, type ZmqTransportInit } from '../runtime/transport/zmq.js';
import { waitFor } from './fixtures/transport-contract.js';

const sink = memorySink();
const logger = createLogger({ nodeId: 'zmq-test', level: 'info', destination: sink.stream });

function make(t: { teardown(f: () => Promise<void>): void }, id: string, over: Partial<ZmqTransportInit> = {}): Transport {
  const tr = createZmqTransport({ nodeId: nodeId(id), keys: zmq.curveKeyPair(), listen: 'tcp://127.0.0.1:0', connectTimeoutMs: 500, reconnectIntervalMs: 20, reconnectMaxIntervalMs: 100, ...over }, { logger });
  t.teardown(() => tr.stop());
  return tr;
}

const hello = (from: string): Uint8Array =>
  encodeEnvelope({ version: WIRE_VERSION, id: 1, from: nodeId(from), to: 'qallow://b/inbox', type: 'actor.tell', body: { payload: 'hi' } } as Envelope);

test('port 0 resolves to a real port, kept across a restart', async (t) => {
  const b = make(t, 'b');
  await b.start();
  const address = b.localPeer().address;
  t.regex(address, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  t.not(address, 'tcp://127.0.0.1:0');
  await b.stop();
  await b.start();
  t.is(b.localPeer().address, address);
});

test('a restart waits for its address while the old listener lets go of it (libzmq closes sockets on its own thread)', async (t) => {
  const b = make(t, 'b');
  await b.start();
  const address = b.localPeer().address;
  await b.stop();
  // Something holds the address as the restart begins (as the old listener does until libzmq has closed it).
  const holder = new zmq.Router({ linger: 0 });
  t.teardown(() => holder.close());
  // The holder itself may meet b's old listener still closing.
  for (let deadline = Date.now() + 5000; ; ) {
    try {
      await holder.bind(address);
      break;
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'EADDRINUSE' || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const restarting = b.start();
  // Let go a little later: the restart's first try meets the address in use (a delay, not a wait
  // for some condition: any delay under the 2 s the restart allows gives the same result).
  setTimeout(() => holder.close(), 100);
  await restarting;
  t.is(b.localPeer().address, address);
});

test('a client with a known public key but the wrong secret key is refused and heard from never', async (t) => {
  const a = zmq.curveKeyPair();
  const b = make(t, 'b');
  await b.start();
  b.addPeer({ id: nodeId('a'), address: 'tcp://127.0.0.1:1', publicKey: a.publicKey });
  let got = 0;
  b.onMessage(() => got++);
  const forger = new zmq.Dealer({ routingId: 'a', curveServerKey: b.localPeer().publicKey, curvePublicKey: a.publicKey, curveSecretKey: zmq.curveKeyPair().secretKey, linger: 0 });
  t.teardown(() => forger.close());
  forger.connect(b.localPeer().address);
  void forger.send(hello('a')).catch(() => undefined);
  await waitFor(() => b.stats().refused >= 1, 'the forged handshake to be refused');
  t.is(got, 0);
  t.is(b.stats().framesReceived, 0);
});

test('a client without CURVE is refused', async (t) => {
  const b = make(t, 'b');
  await b.start();
  const plain = new zmq.Dealer({ routingId: 'a', linger: 0 });
  t.teardown(() => plain.close());
  plain.connect(b.localPeer().address);
  void plain.send(hello('a')).catch(() => undefined);
  await waitFor(() => b.stats().refused >= 1, 'the NULL-mechanism client to be refused');
  t.is(b.stats().framesReceived, 0);
});

test('a host that expects another server key never connects (it is not talking to who it thinks)', async (t) => {
  const a = make(t, 'a');
  const b = make(t, 'b');
  await Promise.all([a.start(), b.start()]);
  b.addPeer(a.localPeer());
  a.addPeer({ ...b.localPeer(), publicKey: zmq.curveKeyPair().publicKey });
  a.send(nodeId('b'), { to: 'qallow://b/inbox', type: 'actor.tell', body: { payload: 1 } });
  await waitFor(() => a.peers()[0]!.state === 'down', "a's link to the wrong key to be down");
  t.is(b.stats().received, 0);
  t.is(a.stats().dropped.peerDown, 1);
});

/**
 * A TCP relay to `target` that can go silent: it then swallows every byte in
 * both directions and passes on no close (what a partition looks like to the
 * two ends: a connection that stays open and carries nothing; a side that
 * gives up is not heard of by the other), and refuses new connections until
 * `resume()`.
 */
async function relay(t: { teardown(f: () => Promise<void> | void): void }, target: string): Promise<{ address: string; silence(): void; resume(): void; connections(): number }> {
  const [host, port] = target.replace('tcp://', '').split(':') as [string, string];
  let silent = false;
  let count = 0;
  const open = new Set<Socket>();
  const server = createServer((inbound) => {
    if (silent) return void inbound.destroy();
    count++;
    const outbound = connect(Number(port), host);
    for (const s of [inbound, outbound]) {
      open.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        open.delete(s);
        if (silent) return;
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.on('data', (b) => void (silent || outbound.write(b)));
    outbound.on('data', (b) => void (silent || inbound.write(b)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const s of open) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    address: `tcp://127.0.0.1:${(server.address() as { port: number }).port}`,
    silence: () => void (silent = true),
    resume: () => void (silent = false),
    connections: () => count,
  };
}

test('a connection that goes silent is dropped by the heartbeats and redialled; messages flow again over the new one', async (t) => {
  const fast = { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300, dialTimeoutMs: 250, connectTimeoutMs: 10_000 };
  const a = make(t, 'a', fast);
  const b = make(t, 'b', fast);
  await Promise.all([a.start(), b.start()]);
  const r = await relay(t, b.localPeer().address);
  b.addPeer(a.localPeer());
  a.addPeer({ ...b.localPeer(), address: r.address });
  const got: unknown[] = [];
  b.onMessage((env) => void (env.type === 'actor.tell' && got.push(env.body.payload)));
  const state = (): string => a.peers()[0]!.state;
  await waitFor(() => state() === 'up', "a's link to b up");
  a.send(nodeId('b'), { to: 'qallow://b/inbox', type: 'actor.tell', body: { payload: 'before' } });
  await waitFor(() => got.length === 1, 'the first message');

  r.silence();
  // Nothing closes the TCP connection: only the ZMTP heartbeats can tell it is dead.
  await waitFor(() => state() === 'connecting', "a's silent connection to b dropped", 5_000);
  r.resume();
  await waitFor(() => state() === 'up', "a's link to b up again", 5_000);
  t.true(r.connections() >= 2, 'a redialled');
  a.send(nodeId('b'), { to: 'qallow://b/inbox', type: 'actor.tell', body: { payload: 'after' } });
  // b's ROUTER let go of the silent connection first, so the new one is a's again (not refused as an id in use).
  await waitFor(() => got.length === 2, 'the message sent over the new connection');
  t.deepEqual(got, ['before', 'after']);
  t.is(b.stats().dropped.unauthorized, 0);
});

test('invalid keys and listen addresses fail before any socket exists', (t) => {
  const keys = zmq.curveKeyPair();
  const bad = [
    () => createZmqTransport({ nodeId: nodeId('a'), keys: { ...keys, secretKey: 'short' }, listen: 'tcp://127.0.0.1:0' }, { logger }),
    () => createZmqTransport({ nodeId: nodeId('a'), keys: { ...keys, publicKey: `${keys.publicKey.slice(0, 39)}~` }, listen: 'tcp://127.0.0.1:0' }, { logger }),
  ];
  for (const f of bad) t.is(t.throws(f, { instanceOf: QallowError })?.code, 'KEY_INVALID');
  t.is(t.throws(() => createZmqTransport({ nodeId: nodeId('a'), keys, listen: '127.0.0.1:5555' }, { logger }), { instanceOf: QallowError })?.code, 'CONFIG_INVALID');
  const tr = createZmqTransport({ nodeId: nodeId('a'), keys, listen: 'tcp://127.0.0.1:0' }, { logger });
  const e = t.throws(() => tr.addPeer({ id: nodeId('b'), address: 'tcp://127.0.0.1:1', publicKey: 'not-a-key' }), { instanceOf: QallowError });
  t.is(e?.code, 'KEY_INVALID');
  t.is(tr.peers().length, 0);
  t.is(t.throws(() => tr.addPeer({ id: nodeId('b'), address: 'http://x', publicKey: keys.publicKey }), { instanceOf: QallowError })?.code, 'BAD_PARAMETER');
});

test('heartbeat and redial options are checked before any socket exists', (t) => {
  const keys = zmq.curveKeyPair();
  const make = (over: Partial<ZmqTransportInit>) => () => createZmqTransport({ nodeId: nodeId('a'), keys, listen: 'tcp://127.0.0.1:0', ...over }, { logger });
  const cases: [Partial<ZmqTransportInit>, string][] = [
    [{ heartbeatIntervalMs: 0 }, 'heartbeatIntervalMs'],
    [{ heartbeatTimeoutMs: 50 }, 'heartbeatTimeoutMs'],
    [{ dialTimeoutMs: 1.5 }, 'dialTimeoutMs'],
    [{ heartbeatTimeoutMs: 2 ** 31 }, 'heartbeatTimeoutMs'],
    [{ reconnectIntervalMs: 500, reconnectMaxIntervalMs: 100 }, 'reconnectMaxIntervalMs'],
  ];
  for (const [over, field] of cases) {
    const e = t.throws(make(over), { instanceOf: QallowError });
    t.is(e?.code, 'CONFIG_INVALID');
    t.is(e?.details['field'], field);
  }
  t.notThrows(make({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 100, dialTimeoutMs: 250, reconnectIntervalMs: 100, reconnectMaxIntervalMs: 100 }));
});

test('very long heartbeat timeouts are capped to what libzmq takes (a C int of ms; a TTL of 16 bits of deciseconds)', async (t) => {
  const long = { heartbeatIntervalMs: 2 ** 31 - 1, heartbeatTimeoutMs: 2 ** 31 - 1, connectTimeoutMs: 500 };
  const a = make(t, 'a', long);
  const b = make(t, 'b', long);
  await Promise.all([a.start(), b.start()]);
  b.addPeer(a.localPeer());
  a.addPeer(b.localPeer());
  await waitFor(() => a.peers()[0]!.state === 'up', "a's link to b up");
  t.is(a.peers()[0]!.state, 'up');
});

test('listening on an address in use fails with IO_ERROR and leaves the transport stopped', async (t) => {
  const a = make(t, 'a');
  await a.start();
  const b = make(t, 'b', { listen: a.localPeer().address });
  const e = await t.throwsAsync(b.start(), { instanceOf: QallowError });
  t.is(e?.code, 'IO_ERROR');
  t.false(b.running);
});

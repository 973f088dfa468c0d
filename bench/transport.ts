/**
 * Transport throughput and latency (issue: cluster transport).
 *
 *   npm run bench -- transport [--count 1000000] [--rtts 20000] [--ipc] [--json]
 *
 * Two hosts: the sender in the main thread, the receiver in a worker thread
 * (own event loop, own ZeroMQ context), over tcp://127.0.0.1 (or ipc://
 * with --ipc), CURVE on every socket. Measured in the same run:
 * - one-way, small actor messages (`actor.tell` of {type, n}):
 *   the zmq transport (validated envelopes, batched per peer) against raw
 *   zeromq.js PUSH/PULL with msgpackr, one message per frame and batched
 *   (an array of `--batch` messages per frame, packed in one call);
 * - round trips, one at a time: the transport's actor.ask → actor.reply
 *   against raw DEALER/ROUTER with msgpackr, p50 and p99.
 * Targets: transport one-way ≥ 0.7× raw batched and ≥ 500k msgs/s;
 * round-trip p50 ≤ 1.2× raw.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Packr } from 'msgpackr';
import * as zmq from 'zeromq';
import { nodeId, type NodeId } from '../runtime/actors/address.js';
import { isQallowError } from '../runtime/errors.js';
import { createLogger } from '../runtime/logger.js';
import type { KeyPair, Outbound, PeerSpec, Transport } from '../runtime/transport/contract.js';
import { createZmqTransport } from '../runtime/transport/zmq.js';

type Scenario = 'raw-pull' | 'raw-router' | 'raw-pair' | 'transport-sink' | 'transport-echo';

interface WorkerInit {
  readonly qallowTransportBench: true;
  readonly scenario: Scenario;
  readonly listen: string;
  readonly keys: KeyPair;
  /** The client's public key (raw sockets) */
  readonly clientKey: string;
  readonly count: number;
}

type ToMain = { type: 'ready'; peer: PeerSpec } | { type: 'up' } | { type: 'done'; count: number };
type ToWorker = { type: 'peer'; peer: PeerSpec } | { type: 'stop' };

const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, bundleStrings: false, structuredClone: false });
const silent = createLogger({ nodeId: 'bench', level: 'warn', destination: { write() {} } });
const TO_B = 'qallow://b/runs/phase13-r1';
const TO_A = 'qallow://a/asker';

// ------------------------------------------------------------------ worker side

async function workerMain(init: WorkerInit): Promise<void> {
  const port = parentPort!;
  const post = (m: ToMain): void => port.postMessage(m);
  const stopped = new Promise<void>((resolve) => port.on('message', (m: ToWorker) => m.type === 'stop' && resolve()));

  if (init.scenario === 'raw-pull') {
    const pull = new zmq.Pull({ curveServer: true, curveSecretKey: init.keys.secretKey, linger: 0, receiveHighWaterMark: 1000 });
    await pull.bind(init.listen);
    post({ type: 'ready', peer: { id: nodeId('b'), address: pull.lastEndpoint!, publicKey: init.keys.publicKey } });
    let n = 0;
    while (n < init.count) {
      const [frame] = await pull.receive();
      const v = packr.unpack(frame!) as unknown;
      n += Array.isArray(v) ? v.length : 1;
    }
    post({ type: 'done', count: n });
    await stopped;
    pull.close();
    return;
  }

  if (init.scenario === 'raw-router') {
    const router = new zmq.Router({ curveServer: true, curveSecretKey: init.keys.secretKey, linger: 0 });
    await router.bind(init.listen);
    post({ type: 'ready', peer: { id: nodeId('b'), address: router.lastEndpoint!, publicKey: init.keys.publicKey } });
    void stopped.then(() => router.close());
    for (;;) {
      let parts: Buffer[];
      try {
        parts = await router.receive();
      } catch {
        return;
      }
      const q = packr.unpack(parts[1]!) as { requestId: number; payload: unknown };
      await router.send([parts[0]!, packr.pack({ to: TO_A, type: 'actor.reply', requestId: q.requestId, ok: true, payload: q.payload })]);
    }
  }

  if (init.scenario === 'raw-pair') {
    // The transport's topology without the transport: requests come in on a ROUTER, answers go out on a DEALER.
    const router = new zmq.Router({ curveServer: true, curveSecretKey: init.keys.secretKey, linger: 0 });
    await router.bind(init.listen);
    post({ type: 'ready', peer: { id: nodeId('b'), address: router.lastEndpoint!, publicKey: init.keys.publicKey } });
    const a = await new Promise<PeerSpec>((resolve) => port.once('message', (m: ToWorker) => m.type === 'peer' && resolve(m.peer)));
    const dealer = new zmq.Dealer({ routingId: 'b', curveServerKey: a.publicKey, curvePublicKey: init.keys.publicKey, curveSecretKey: init.keys.secretKey, linger: 0 });
    dealer.connect(a.address);
    void stopped.then(() => {
      router.close();
      dealer.close();
    });
    for (;;) {
      let parts: Buffer[];
      try {
        parts = await router.receive();
      } catch {
        return;
      }
      const q = packr.unpack(parts[1]!) as { requestId: number; payload: unknown };
      await dealer.send(packr.pack({ to: TO_A, type: 'actor.reply', requestId: q.requestId, ok: true, payload: q.payload }));
    }
  }

  const b = createZmqTransport({ nodeId: nodeId('b'), keys: init.keys, listen: init.listen }, { logger: silent });
  await b.start();
  post({ type: 'ready', peer: b.localPeer() });
  const a = await new Promise<PeerSpec>((resolve) => port.once('message', (m: ToWorker) => m.type === 'peer' && resolve(m.peer)));
  b.addPeer(a);
  await new Promise<void>((resolve) => {
    const check = (): void => (b.peers()[0]?.state === 'up' ? resolve() : void setTimeout(check, 2));
    check();
  });
  post({ type: 'up' });
  if (init.scenario === 'transport-sink') {
    let n = 0;
    b.onMessage(() => {
      if (++n === init.count) post({ type: 'done', count: n });
    });
  } else {
    b.onMessage((env) => {
      if (env.type !== 'actor.ask') return;
      b.send(env.from, { to: TO_A, type: 'actor.reply', body: { requestId: env.body.requestId, ok: true, payload: env.body.payload } });
    });
  }
  await stopped;
  await b.stop();
}

// ------------------------------------------------------------------ main side

class Peer {
  readonly worker: Worker;
  readonly #queue: ToMain[] = [];
  readonly #waiters: ((m: ToMain) => void)[] = [];

  constructor(init: Omit<WorkerInit, 'qallowTransportBench'>) {
    this.worker = new Worker(new URL(import.meta.url), { workerData: { ...init, qallowTransportBench: true } satisfies WorkerInit });
    this.worker.on('message', (m: ToMain) => {
      const w = this.#waiters.shift();
      if (w) w(m);
      else this.#queue.push(m);
    });
    this.worker.on('error', (e) => {
      process.stderr.write(`transport bench worker failed: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    });
  }

  next<T extends ToMain['type']>(type: T): Promise<Extract<ToMain, { type: T }>> {
    const take = (m: ToMain): Extract<ToMain, { type: T }> => {
      if (m.type !== type) throw new Error(`bench worker said ${m.type}, expected ${type}`);
      return m as Extract<ToMain, { type: T }>;
    };
    const m = this.#queue.shift();
    if (m) return Promise.resolve(take(m));
    return new Promise((resolve, reject) =>
      this.#waiters.push((x) => {
        try {
          resolve(take(x));
        } catch (e) {
          reject(e);
        }
      }),
    );
  }

  send(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  async stop(): Promise<void> {
    this.send({ type: 'stop' });
    await new Promise((r) => this.worker.once('exit', r));
  }
}

interface Ctx {
  readonly listen: () => string;
  readonly count: number;
  readonly batch: number;
  readonly rtts: number;
}

const message = (n: number): { to: string; type: 'actor.tell'; payload: { type: string; n: number } } => ({ to: TO_B, type: 'actor.tell', payload: { type: 'add', n } });

async function rawOneWay(ctx: Ctx, batch: number, count: number): Promise<number> {
  const server = zmq.curveKeyPair();
  const client = zmq.curveKeyPair();
  const peer = new Peer({ scenario: 'raw-pull', listen: ctx.listen(), keys: server, clientKey: client.publicKey, count });
  const { peer: b } = await peer.next('ready');
  const push = new zmq.Push({ curveServerKey: b.publicKey, curvePublicKey: client.publicKey, curveSecretKey: client.secretKey, linger: 0, sendHighWaterMark: batch > 1 ? 16 : 1000 });
  push.connect(b.address);
  const done = peer.next('done');
  const t0 = performance.now();
  if (batch === 1) {
    for (let i = 0; i < count; i++) await push.send(packr.pack(message(i)));
  } else {
    for (let i = 0; i < count; ) {
      const n = Math.min(batch, count - i);
      const msgs = new Array(n);
      for (let j = 0; j < n; j++) msgs[j] = message(i + j);
      await push.send(packr.pack(msgs));
      i += n;
    }
  }
  await done;
  const seconds = (performance.now() - t0) / 1000;
  push.close();
  await peer.stop();
  return count / seconds;
}

async function connectedPair(ctx: Ctx, scenario: 'transport-sink' | 'transport-echo', count: number): Promise<{ a: Transport; peer: Peer; b: NodeId }> {
  const peer = new Peer({ scenario, listen: ctx.listen(), keys: zmq.curveKeyPair(), clientKey: '', count });
  const { peer: b } = await peer.next('ready');
  const a = createZmqTransport({ nodeId: nodeId('a'), keys: zmq.curveKeyPair(), listen: ctx.listen() }, { logger: silent });
  await a.start();
  a.addPeer(b);
  peer.send({ type: 'peer', peer: a.localPeer() });
  await peer.next('up');
  await new Promise<void>((resolve) => {
    const check = (): void => (a.peers()[0]?.state === 'up' ? resolve() : void setTimeout(check, 2));
    check();
  });
  return { a, peer, b: b.id };
}

async function transportOneWay(ctx: Ctx, count: number): Promise<{ rate: number; perFrame: number }> {
  const { a, peer, b } = await connectedPair(ctx, 'transport-sink', count);
  const done = peer.next('done');
  const t0 = performance.now();
  for (let i = 0; i < count; ) {
    try {
      const m = message(i);
      a.send(b, { to: m.to, type: 'actor.tell', body: { payload: m.payload } });
      i++;
    } catch (e) {
      if (!isQallowError(e, 'BACKPRESSURE')) throw e;
      await a.whenWritable(b);
    }
  }
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const s = a.stats();
  await a.stop();
  await peer.stop();
  return { rate: count / seconds, perFrame: s.sent / s.framesSent };
}

function percentiles(samples: number[]): { p50: number; p99: number } {
  const s = [...samples].sort((x, y) => x - y);
  return { p50: s[Math.floor(s.length * 0.5)]!, p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]! };
}

async function rawRoundTrips(ctx: Ctx, n: number): Promise<{ p50: number; p99: number }> {
  const server = zmq.curveKeyPair();
  const client = zmq.curveKeyPair();
  const peer = new Peer({ scenario: 'raw-router', listen: ctx.listen(), keys: server, clientKey: client.publicKey, count: 0 });
  const { peer: b } = await peer.next('ready');
  const dealer = new zmq.Dealer({ curveServerKey: b.publicKey, curvePublicKey: client.publicKey, curveSecretKey: client.secretKey, linger: 0 });
  dealer.connect(b.address);
  const samples: number[] = [];
  const warm = Math.min(1000, n);
  for (let i = 0; i < n + warm; i++) {
    const t0 = performance.now();
    await dealer.send(packr.pack({ to: TO_B, type: 'actor.ask', requestId: i, timeoutMs: 1000, payload: { type: 'get', n: i } }));
    const [frame] = await dealer.receive();
    const r = packr.unpack(frame!) as { requestId: number };
    if (r.requestId !== i) throw new Error('raw round trip out of step');
    if (i >= warm) samples.push(performance.now() - t0);
  }
  dealer.close();
  await peer.stop();
  return percentiles(samples);
}

async function rawPairRoundTrips(ctx: Ctx, n: number): Promise<{ p50: number; p99: number }> {
  const server = zmq.curveKeyPair();
  const client = zmq.curveKeyPair();
  const peer = new Peer({ scenario: 'raw-pair', listen: ctx.listen(), keys: server, clientKey: client.publicKey, count: 0 });
  const { peer: b } = await peer.next('ready');
  const router = new zmq.Router({ curveServer: true, curveSecretKey: client.secretKey, linger: 0 });
  await router.bind(ctx.listen());
  peer.send({ type: 'peer', peer: { id: nodeId('a'), address: router.lastEndpoint!, publicKey: client.publicKey } });
  const dealer = new zmq.Dealer({ routingId: 'a', curveServerKey: b.publicKey, curvePublicKey: client.publicKey, curveSecretKey: client.secretKey, linger: 0 });
  dealer.connect(b.address);
  const samples: number[] = [];
  const warm = Math.min(1000, n);
  for (let i = 0; i < n + warm; i++) {
    const t0 = performance.now();
    await dealer.send(packr.pack({ to: TO_B, type: 'actor.ask', requestId: i, timeoutMs: 1000, payload: { type: 'get', n: i } }));
    const [, frame] = await router.receive();
    const r = packr.unpack(frame!) as { requestId: number };
    if (r.requestId !== i) throw new Error('raw pair round trip out of step');
    if (i >= warm) samples.push(performance.now() - t0);
  }
  dealer.close();
  router.close();
  await peer.stop();
  return percentiles(samples);
}

async function transportRoundTrips(ctx: Ctx, n: number): Promise<{ p50: number; p99: number }> {
  const { a, peer, b } = await connectedPair(ctx, 'transport-echo', 0);
  let answer: ((requestId: number) => void) | undefined;
  a.onMessage((env) => {
    if (env.type === 'actor.reply') answer?.(env.body.requestId);
  });
  const samples: number[] = [];
  const warm = Math.min(1000, n);
  for (let i = 0; i < n + warm; i++) {
    const t0 = performance.now();
    const got = new Promise<number>((resolve) => (answer = resolve));
    a.send(b, { to: TO_B, type: 'actor.ask', body: { requestId: i, timeoutMs: 1000, payload: { type: 'get', n: i } } } satisfies Outbound);
    if ((await got) !== i) throw new Error('transport round trip out of step');
    if (i >= warm) samples.push(performance.now() - t0);
  }
  await a.stop();
  await peer.stop();
  return percentiles(samples);
}

const num = (args: string[], flag: string, d: number): number => {
  const i = args.indexOf(flag);
  const v = i >= 0 ? Number(args[i + 1]) : d;
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`${flag} must be a positive integer`);
  return v;
};

const median = (xs: readonly number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

export async function transportBench(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const ipc = args.includes('--ipc');
  const onlyTransport = args.includes('--only-transport');
  const rounds = num(args, '--rounds', 3);
  const dir = await mkdtemp(join(tmpdir(), 'qallow-bench-tr-'));
  let k = 0;
  const ctx: Ctx = {
    listen: () => (ipc ? `ipc://${join(dir, `s${k++}.sock`)}` : 'tcp://127.0.0.1:0'),
    count: num(args, '--count', 1_000_000),
    batch: num(args, '--batch', 1000),
    rtts: num(args, '--rtts', 20_000),
  };
  const say = (s: string): void => {
    if (!json) process.stdout.write(`${s}\n`);
  };
  const k0 = (x: number): string => `${(x / 1000).toFixed(0)}k msgs/s`;
  const us = (ms: number): string => `${(ms * 1000).toFixed(0)} µs`;
  try {
    const wire = ipc ? 'ipc://' : 'tcp://127.0.0.1';
    say(`transport bench over ${wire}, CURVE on all sockets, receiver in a worker thread; ${rounds} rounds, medians; ratios are taken within a round`);
    const r = {
      rawBatched: [] as number[],
      transport: [] as number[],
      perFrame: [] as number[],
      oneWayRatio: [] as number[],
      rawP50: [] as number[],
      rawP99: [] as number[],
      pairP50: [] as number[],
      trP50: [] as number[],
      trP99: [] as number[],
      p50Ratio: [] as number[],
      p50RatioToPair: [] as number[],
    };
    const rawSingle = onlyTransport ? Number.NaN : await rawOneWay(ctx, 1, Math.max(1, Math.floor(ctx.count / 5)));
    for (let round = 0; round < rounds; round++) {
      // alternate the order so neither side always runs on a warmer machine
      const first = round % 2 === 0;
      const rawB = onlyTransport || !first ? undefined : await rawOneWay(ctx, ctx.batch, ctx.count);
      const tr = await transportOneWay(ctx, ctx.count);
      const rawBatched = rawB ?? (onlyTransport ? Number.NaN : await rawOneWay(ctx, ctx.batch, ctx.count));
      const rawRtt = onlyTransport ? { p50: Number.NaN, p99: Number.NaN } : await rawRoundTrips(ctx, ctx.rtts);
      const pairRtt = onlyTransport ? { p50: Number.NaN } : await rawPairRoundTrips(ctx, ctx.rtts);
      const trRtt = await transportRoundTrips(ctx, ctx.rtts);
      r.rawBatched.push(rawBatched);
      r.pairP50.push(pairRtt.p50);
      r.p50RatioToPair.push(trRtt.p50 / pairRtt.p50);
      r.transport.push(tr.rate);
      r.perFrame.push(tr.perFrame);
      r.oneWayRatio.push(tr.rate / rawBatched);
      r.rawP50.push(rawRtt.p50);
      r.rawP99.push(rawRtt.p99);
      r.trP50.push(trRtt.p50);
      r.trP99.push(trRtt.p99);
      r.p50Ratio.push(trRtt.p50 / rawRtt.p50);
      say(
        `  round ${round + 1}: one-way ${k0(tr.rate)} vs raw batched ${k0(rawBatched)} (${(tr.rate / rawBatched).toFixed(2)}×); round trip p50 ${us(trRtt.p50)} vs raw ${us(rawRtt.p50)} (${(trRtt.p50 / rawRtt.p50).toFixed(2)}×), raw same topology ${us(pairRtt.p50)}`,
      );
    }
    const m = Object.fromEntries(Object.entries(r).map(([key, xs]) => [key, median(xs)])) as Record<keyof typeof r, number>;
    say(`one-way  raw PUSH/PULL+msgpackr, 1 msg/frame:         ${k0(rawSingle)}`);
    say(`one-way  raw PUSH/PULL+msgpackr, ${ctx.batch} msgs/frame:    ${k0(m.rawBatched)}`);
    say(
      `one-way  qallow zmq transport (${m.perFrame.toFixed(0)} envelopes/frame): ${k0(m.transport)} = ${m.oneWayRatio.toFixed(2)}× raw batched, ${(m.transport / rawSingle).toFixed(1)}× raw unbatched (targets: ≥ 0.7× raw batched, ≥ 500k msgs/s)`,
    );
    say(`round trip  raw DEALER/ROUTER+msgpackr (one connection): p50 ${us(m.rawP50)}, p99 ${us(m.rawP99)}`);
    say(`round trip  raw, the transport's topology (request DEALER→ROUTER, answer on the peer's own DEALER→ROUTER): p50 ${us(m.pairP50)}`);
    say(
      `round trip  qallow ask/reply: p50 ${us(m.trP50)} = ${m.p50Ratio.toFixed(2)}× raw one-connection (target ≤ 1.2×), ${m.p50RatioToPair.toFixed(2)}× raw same topology; p99 ${us(m.trP99)} = ${(m.trP99 / m.rawP99).toFixed(2)}× raw`,
    );
    if (json) process.stdout.write(JSON.stringify({ bench: 'transport', wire, rounds, rawSingleMsgsPerSec: rawSingle, medians: m, perRound: r }) + '\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (!isMainThread && (workerData as Partial<WorkerInit> | null)?.qallowTransportBench === true) {
  try {
    await workerMain(workerData as WorkerInit);
  } finally {
    // The port's listener would keep the thread alive; sockets are closed by now.
    parentPort?.close();
  }
}

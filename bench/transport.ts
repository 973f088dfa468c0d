/**
 * Transport throughput and latency (issue 4, item 8).
 *
 *   npm run bench -- transport [--rounds 3] [--count 1000000] [--batch 4096] [--rtts 20000]
 *                              [--inflight 100] [--ipc] [--only-transport] [--json]
 *
 * Two hosts: the sender in the main thread, the receiver in a worker thread
 * (own event loop, own ZeroMQ context), over tcp://127.0.0.1 (or ipc://
 * with --ipc), CURVE on every socket. Every figure of the transport is
 * compared with raw zeromq.js measured in the same round, the same way:
 * - the same sockets: a DEALER (CURVE client) sending to a ROUTER (CURVE
 *   server), as the transport does, and one ZeroMQ context per host for
 *   raw sockets as for the transport (see `hostContext`);
 * - the same messages: an `actor.tell` of `{ type: 'add', n }`, an
 *   `actor.ask` of `{ type: 'get', n }` answered with the same payload;
 *   raw sends them as msgpackr maps `{ to, type, payload }` (no records),
 *   the transport as its envelopes (a few bytes more);
 * - one-way: raw packs `--batch` messages (default: the transport's
 *   maxBatch, 4096) into one frame with one msgpackr call, the
 *   transport batches what is queued (it reports its own envelopes per
 *   frame); the receiver unpacks (raw) or decodes, validates and delivers
 *   every envelope to a handler (transport);
 * - round trips: one request in flight for both, answered by the worker;
 *   raw answers on the same connection, and raw "same topology" answers
 *   on its own DEALER to the asker's ROUTER as the transport does. Raw and
 *   transport round trips run in interleaved blocks of 500 over
 *   connections set up side by side, so a change in machine load hits
 *   both alike;
 * - in flight: `--inflight` requests kept outstanding (raw DEALER/ROUTER
 *   and transport ask/reply), requests per second.
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
import { DEFAULT_FRAME_LIMITS } from '../runtime/transport/envelope.js';
import { createZmqTransport } from '../runtime/transport/zmq.js';

type Scenario = 'raw-sink' | 'raw-echo' | 'raw-pair' | 'transport-sink' | 'transport-echo';

interface WorkerInit {
  readonly qallowTransportBench: true;
  readonly scenario: Scenario;
  readonly listen: string;
  readonly keys: KeyPair;
  readonly count: number;
}

type ToMain = { type: 'ready'; peer: PeerSpec } | { type: 'up' } | { type: 'done'; count: number };
type ToWorker = { type: 'peer'; peer: PeerSpec } | { type: 'stop' };

// One ZeroMQ context per simulated host (this module is loaded once per thread), for raw sockets
// as for the transport (which makes its own): two hosts are two processes with a context each.
// zeromq.js's default context is one per process and shared by worker threads, so raw sockets on it
// would pass a round trip through one I/O thread where two real hosts use two — an unfair baseline
// (measured: raw p50 ≈ 140 µs on the shared default context, ≈ 160 µs with a context per side).
const hostContext = new zmq.Context();
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, bundleStrings: false, structuredClone: false });
const silent = createLogger({ nodeId: 'bench', level: 'warn', destination: { write() {} } });
const TO_B = 'qallow://b/runs/phase13-r1';
const TO_A = 'qallow://a/asker';
const BLOCK = 500;

const tellPayload = (n: number): { type: string; n: number } => ({ type: 'add', n });
const askPayload = (n: number): { type: string; n: number } => ({ type: 'get', n });
const rawTell = (n: number): unknown => ({ to: TO_B, type: 'actor.tell', payload: tellPayload(n) });
const rawAsk = (n: number): unknown => ({ to: TO_B, type: 'actor.ask', requestId: n, timeoutMs: 1000, payload: askPayload(n) });

// ------------------------------------------------------------------ worker side

function serverRouter(init: WorkerInit): zmq.Router {
  return new zmq.Router({ context: hostContext, curveServer: true, curvePublicKey: init.keys.publicKey, curveSecretKey: init.keys.secretKey, linger: 0, receiveHighWaterMark: 1000 });
}

async function workerMain(init: WorkerInit): Promise<void> {
  const port = parentPort!;
  const post = (m: ToMain): void => port.postMessage(m);
  const stopped = new Promise<void>((resolve) => port.on('message', (m: ToWorker) => m.type === 'stop' && resolve()));
  const peerOnce = (): Promise<PeerSpec> => new Promise<PeerSpec>((resolve) => port.once('message', (m: ToWorker) => m.type === 'peer' && resolve(m.peer)));

  if (init.scenario === 'raw-sink') {
    const router = serverRouter(init);
    await router.bind(init.listen);
    post({ type: 'ready', peer: { id: nodeId('b'), address: router.lastEndpoint!, publicKey: init.keys.publicKey } });
    let n = 0;
    while (n < init.count) {
      const [, frame] = await router.receive();
      const v = packr.unpack(frame!) as unknown;
      n += Array.isArray(v) ? v.length : 1;
    }
    post({ type: 'done', count: n });
    await stopped;
    router.close();
    return;
  }

  if (init.scenario === 'raw-echo' || init.scenario === 'raw-pair') {
    const router = serverRouter(init);
    await router.bind(init.listen);
    post({ type: 'ready', peer: { id: nodeId('b'), address: router.lastEndpoint!, publicKey: init.keys.publicKey } });
    let dealer: zmq.Dealer | undefined;
    if (init.scenario === 'raw-pair') {
      // The transport's topology without the transport: answers go out on this side's own DEALER.
      const a = await peerOnce();
      dealer = new zmq.Dealer({ context: hostContext, routingId: 'b', curveServerKey: a.publicKey, curvePublicKey: init.keys.publicKey, curveSecretKey: init.keys.secretKey, linger: 0 });
      dealer.connect(a.address);
    }
    void stopped.then(() => {
      router.close();
      dealer?.close();
    });
    for (;;) {
      let parts: Buffer[];
      try {
        parts = await router.receive();
      } catch {
        return;
      }
      const q = packr.unpack(parts[1]!) as { requestId: number; payload: unknown };
      const reply = packr.pack({ to: TO_A, type: 'actor.reply', requestId: q.requestId, ok: true, payload: q.payload });
      try {
        if (dealer) await dealer.send(reply);
        else await router.send([parts[0]!, reply]);
      } catch {
        return;
      }
    }
  }

  const b = createZmqTransport({ nodeId: nodeId('b'), keys: init.keys, listen: init.listen }, { logger: silent });
  await b.start();
  post({ type: 'ready', peer: b.localPeer() });
  b.addPeer(await peerOnce());
  await whenUp(b);
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

function whenUp(t: Transport): Promise<void> {
  return new Promise<void>((resolve) => {
    if (t.peers()[0]?.state === 'up') return resolve();
    const off = t.onPeerState((_, state) => {
      if (state !== 'up') return;
      off();
      resolve();
    });
  });
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
  readonly inflight: number;
}

/** A raw DEALER (CURVE client) connected to a worker's ROUTER. */
async function rawClient(ctx: Ctx, scenario: 'raw-sink' | 'raw-echo', count: number, sendHighWaterMark = 1000): Promise<{ dealer: zmq.Dealer; peer: Peer }> {
  const client = zmq.curveKeyPair();
  const peer = new Peer({ scenario, listen: ctx.listen(), keys: zmq.curveKeyPair(), count });
  const { peer: b } = await peer.next('ready');
  const dealer = new zmq.Dealer({ context: hostContext, curveServerKey: b.publicKey, curvePublicKey: client.publicKey, curveSecretKey: client.secretKey, linger: 0, sendHighWaterMark });
  dealer.connect(b.address);
  return { dealer, peer };
}

async function rawOneWay(ctx: Ctx, batch: number, count: number): Promise<number> {
  // The transport's DEALERs hold 16 frames; unbatched, that would measure the high-water mark instead.
  const { dealer, peer } = await rawClient(ctx, 'raw-sink', count, batch > 1 ? 16 : 1000);
  const done = peer.next('done');
  const t0 = performance.now();
  if (batch === 1) {
    for (let i = 0; i < count; i++) await dealer.send(packr.pack(rawTell(i)));
  } else {
    for (let i = 0; i < count; ) {
      const n = Math.min(batch, count - i);
      const msgs = new Array<unknown>(n);
      for (let j = 0; j < n; j++) msgs[j] = rawTell(i + j);
      await dealer.send(packr.pack(msgs));
      i += n;
    }
  }
  await done;
  const seconds = (performance.now() - t0) / 1000;
  dealer.close();
  await peer.stop();
  return count / seconds;
}

async function connectedPair(ctx: Ctx, scenario: 'transport-sink' | 'transport-echo', count: number): Promise<{ a: Transport; peer: Peer; b: NodeId }> {
  const peer = new Peer({ scenario, listen: ctx.listen(), keys: zmq.curveKeyPair(), count });
  const { peer: b } = await peer.next('ready');
  const a = createZmqTransport({ nodeId: nodeId('a'), keys: zmq.curveKeyPair(), listen: ctx.listen() }, { logger: silent });
  await a.start();
  a.addPeer(b);
  peer.send({ type: 'peer', peer: a.localPeer() });
  await peer.next('up');
  await whenUp(a);
  return { a, peer, b: b.id };
}

async function transportOneWay(ctx: Ctx, count: number): Promise<{ rate: number; perFrame: number }> {
  const { a, peer, b } = await connectedPair(ctx, 'transport-sink', count);
  const done = peer.next('done');
  const t0 = performance.now();
  for (let i = 0; i < count; ) {
    try {
      a.send(b, { to: TO_B, type: 'actor.tell', body: { payload: tellPayload(i) } });
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

/** One way of making round trips: `run(i)` completes request i and resolves with its requestId. */
interface Asker {
  ask(i: number): Promise<number>;
  close(): Promise<void>;
}

/** Raw asks on `dealer`, answered by frames that `next` receives (on the same socket or the asker's ROUTER). */
function rawReplies(dealer: zmq.Dealer, next: () => Promise<Buffer>): { loop: Promise<void>; ask: (i: number) => Promise<number> } {
  const replies = new Map<number, (id: number) => void>();
  const loop = (async () => {
    for (;;) {
      let frame: Buffer;
      try {
        frame = await next();
      } catch {
        return;
      }
      const r = packr.unpack(frame) as { requestId: number };
      replies.get(r.requestId)?.(r.requestId);
      replies.delete(r.requestId);
    }
  })();
  const ask = (i: number): Promise<number> => {
    const p = new Promise<number>((resolve) => replies.set(i, resolve));
    void dealer.send(packr.pack(rawAsk(i)));
    return p;
  };
  return { loop, ask };
}

async function rawAsker(ctx: Ctx): Promise<Asker> {
  const { dealer, peer } = await rawClient(ctx, 'raw-echo', 0);
  const { loop, ask } = rawReplies(dealer, () => dealer.receive().then(([frame]) => frame!));
  return {
    ask,
    close: async () => {
      dealer.close();
      await loop;
      await peer.stop();
    },
  };
}

async function rawPairAsker(ctx: Ctx): Promise<Asker> {
  const keys = zmq.curveKeyPair();
  const peer = new Peer({ scenario: 'raw-pair', listen: ctx.listen(), keys: zmq.curveKeyPair(), count: 0 });
  const { peer: b } = await peer.next('ready');
  const router = new zmq.Router({ context: hostContext, curveServer: true, curvePublicKey: keys.publicKey, curveSecretKey: keys.secretKey, linger: 0 });
  await router.bind(ctx.listen());
  peer.send({ type: 'peer', peer: { id: nodeId('a'), address: router.lastEndpoint!, publicKey: keys.publicKey } });
  const dealer = new zmq.Dealer({ context: hostContext, routingId: 'a', curveServerKey: b.publicKey, curvePublicKey: keys.publicKey, curveSecretKey: keys.secretKey, linger: 0 });
  dealer.connect(b.address);
  const { loop, ask } = rawReplies(dealer, () => router.receive().then(([, frame]) => frame!));
  return {
    ask,
    close: async () => {
      dealer.close();
      router.close();
      await loop;
      await peer.stop();
    },
  };
}

async function transportAsker(ctx: Ctx): Promise<Asker> {
  const { a, peer, b } = await connectedPair(ctx, 'transport-echo', 0);
  const replies = new Map<number, (id: number) => void>();
  a.onMessage((env) => {
    if (env.type !== 'actor.reply') return;
    const id = env.body.requestId;
    replies.get(id)?.(id);
    replies.delete(id);
  });
  return {
    ask: (i) => {
      const p = new Promise<number>((resolve) => replies.set(i, resolve));
      a.send(b, { to: TO_B, type: 'actor.ask', body: { requestId: i, timeoutMs: 1000, payload: askPayload(i) } } satisfies Outbound);
      return p;
    },
    close: async () => {
      await a.stop();
      await peer.stop();
    },
  };
}

function percentiles(samples: number[]): { p50: number; p99: number } {
  const s = [...samples].sort((x, y) => x - y);
  return { p50: s[Math.floor(s.length * 0.5)]!, p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]! };
}

/** Round trips one at a time, the askers taking turns in blocks of BLOCK; the first block of each is warm-up. */
async function interleavedRoundTrips(askers: readonly Asker[], n: number): Promise<{ p50: number; p99: number }[]> {
  const samples = askers.map(() => [] as number[]);
  const blocks = Math.ceil(n / BLOCK) + 1;
  let next = 0;
  for (let block = 0; block < blocks; block++) {
    for (let k = 0; k < askers.length; k++) {
      // rotate the order so no asker always follows the same one
      const j = (k + block) % askers.length;
      const asker = askers[j]!;
      for (let i = 0; i < BLOCK; i++) {
        const id = next++;
        const t0 = performance.now();
        if ((await asker.ask(id)) !== id) throw new Error('round trip out of step');
        if (block > 0) samples[j]!.push(performance.now() - t0);
      }
    }
  }
  return samples.map(percentiles);
}

/** Requests per second with `inflight` outstanding. */
async function inflightRate(asker: Asker, total: number, inflight: number, base: number): Promise<number> {
  let sent = 0;
  const t0 = performance.now();
  const lane = async (): Promise<void> => {
    while (sent < total) {
      const id = base + sent++;
      if ((await asker.ask(id)) !== id) throw new Error('in-flight reply out of step');
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  return total / ((performance.now() - t0) / 1000);
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
    batch: num(args, '--batch', DEFAULT_FRAME_LIMITS.maxBatch),
    rtts: num(args, '--rtts', 20_000),
    inflight: num(args, '--inflight', 100),
  };
  const say = (s: string): void => {
    if (!json) process.stdout.write(`${s}\n`);
  };
  const k0 = (x: number): string => `${(x / 1000).toFixed(0)}k msgs/s`;
  const us = (ms: number): string => `${(ms * 1000).toFixed(0)} µs`;
  const x = (r: number): string => `${r.toFixed(2)}×`;
  const NONE = { p50: Number.NaN, p99: Number.NaN };
  try {
    const wire = ipc ? 'ipc://' : 'tcp://127.0.0.1';
    say(`transport bench over ${wire}: DEALER → ROUTER with CURVE and one ZeroMQ context per host for raw and transport alike, receiver in a worker thread; ${rounds} rounds, medians; ratios are taken within a round`);
    say(`  raw = zeromq.js + msgpackr (maps, no records), no validation; transport = validated envelopes, bounded per-peer queue, counters`);
    say(`  one-way: raw packs ${ctx.batch} messages per frame in one call; round trips: 1 in flight each, raw and transport in interleaved blocks of ${BLOCK}; in flight: ${ctx.inflight} outstanding`);
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
      rawInflight: [] as number[],
      trInflight: [] as number[],
      inflightRatio: [] as number[],
    };
    const rawSingle = onlyTransport ? Number.NaN : await rawOneWay(ctx, 1, Math.max(1, Math.floor(ctx.count / 5)));
    for (let round = 0; round < rounds; round++) {
      // alternate the order so neither side always runs on a warmer machine
      const first = round % 2 === 0;
      const rawB = onlyTransport || !first ? undefined : await rawOneWay(ctx, ctx.batch, ctx.count);
      const tr = await transportOneWay(ctx, ctx.count);
      const rawBatched = rawB ?? (onlyTransport ? Number.NaN : await rawOneWay(ctx, ctx.batch, ctx.count));

      const trAsker = await transportAsker(ctx);
      const rawAskers = onlyTransport ? [] : [await rawAsker(ctx), await rawPairAsker(ctx)];
      const [trRtt, rawRtt, pairRtt] = await interleavedRoundTrips([trAsker, ...rawAskers], ctx.rtts);
      const total = Math.max(ctx.inflight, ctx.rtts * 5);
      const rawIn = rawAskers[0] === undefined || !first ? undefined : await inflightRate(rawAskers[0], total, ctx.inflight, 1e9);
      const trIn = await inflightRate(trAsker, total, ctx.inflight, 2e9);
      const rawInflight = rawIn ?? (rawAskers[0] === undefined ? Number.NaN : await inflightRate(rawAskers[0], total, ctx.inflight, 3e9));
      for (const a of [trAsker, ...rawAskers]) await a.close();

      const raw = rawRtt ?? NONE;
      const pair = pairRtt ?? NONE;
      r.rawBatched.push(rawBatched);
      r.transport.push(tr.rate);
      r.perFrame.push(tr.perFrame);
      r.oneWayRatio.push(tr.rate / rawBatched);
      r.rawP50.push(raw.p50);
      r.rawP99.push(raw.p99);
      r.pairP50.push(pair.p50);
      r.trP50.push(trRtt!.p50);
      r.trP99.push(trRtt!.p99);
      r.p50Ratio.push(trRtt!.p50 / raw.p50);
      r.p50RatioToPair.push(trRtt!.p50 / pair.p50);
      r.rawInflight.push(rawInflight);
      r.trInflight.push(trIn);
      r.inflightRatio.push(trIn / rawInflight);
      say(
        `  round ${round + 1}: one-way ${k0(tr.rate)} vs raw batched ${k0(rawBatched)} (${x(tr.rate / rawBatched)}); round trip p50 ${us(trRtt!.p50)} vs raw ${us(raw.p50)} (${x(trRtt!.p50 / raw.p50)}), raw same topology ${us(pair.p50)}; ${ctx.inflight} in flight ${(trIn / 1000).toFixed(0)}k vs raw ${(rawInflight / 1000).toFixed(0)}k req/s (${x(trIn / rawInflight)})`,
      );
    }
    const m = Object.fromEntries(Object.entries(r).map(([key, xs]) => [key, median(xs)])) as Record<keyof typeof r, number>;
    say(`one-way     raw DEALER→ROUTER + msgpackr, 1 msg/frame:      ${k0(rawSingle)}`);
    say(`one-way     raw DEALER→ROUTER + msgpackr, ${ctx.batch} msgs/frame:  ${k0(m.rawBatched)}`);
    say(
      `one-way     qallow transport (${m.perFrame.toFixed(0)} envelopes/frame): ${k0(m.transport)} = ${x(m.oneWayRatio)} raw batched, ${(m.transport / rawSingle).toFixed(1)}× raw unbatched (targets: ≥ 0.70× raw batched, ≥ 500k msgs/s)`,
    );
    say(`round trip  raw DEALER/ROUTER + msgpackr (answer on the same connection): p50 ${us(m.rawP50)}, p99 ${us(m.rawP99)}`);
    say(`round trip  raw, the transport's topology (answer on the peer's own DEALER→ROUTER): p50 ${us(m.pairP50)}`);
    say(
      `round trip  qallow ask/reply: p50 ${us(m.trP50)} = ${x(m.p50Ratio)} raw (target ≤ 1.20×), ${x(m.p50RatioToPair)} raw same topology; p99 ${us(m.trP99)} = ${x(m.trP99 / m.rawP99)} raw`,
    );
    say(`in flight   ${ctx.inflight} outstanding: qallow ask/reply ${(m.trInflight / 1000).toFixed(0)}k req/s = ${x(m.inflightRatio)} raw DEALER/ROUTER (${(m.rawInflight / 1000).toFixed(0)}k req/s); ${(m.trInflight / (1000 / m.trP50)).toFixed(0)}× its one-at-a-time rate`);
    if (json) process.stdout.write(JSON.stringify({ bench: 'transport', wire, rounds, batch: ctx.batch, inflight: ctx.inflight, rawSingleMsgsPerSec: rawSingle, medians: m, perRound: r }) + '\n');
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

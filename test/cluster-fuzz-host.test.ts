/**
 * Fuzzing a live host process over its real cluster socket: a peer it
 * trusts (its CURVE key is on the allow-list, so frames get past the
 * handshake to the decoder) throws 12,000 random, mutated, truncated and
 * oversized frames at it. The host counts and drops them, keeps serving
 * (its admin endpoint answers, a valid message from the same peer still
 * arrives) and its memory stays bounded.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import * as zmq from 'zeromq';
import { nodeId } from '../runtime/actors/address.js';
import { readNodeKeys } from '../runtime/identity/files.js';
import { encodeEnvelope, WIRE_VERSION } from '../runtime/transport/envelope.js';
import type { WireType } from '../runtime/transport/messages.js';
import { startCluster } from './helpers/cluster.js';
import { rng } from './fixtures/transport-fuzz.js';

interface Stats {
  readonly rssKb: number;
  readonly dropped: Record<string, number>;
  readonly received: number;
  readonly framesReceived: number;
}

test('a live host keeps serving through 12,000 random and mutated frames from a trusted peer, with memory bounded', async (t) => {
  const c = await startCluster(t, { names: ['target', 'fuzzer'], start: false, config: () => ({ cluster: { maxFrameBytes: 64 * 1024 } }) });
  const host = c.restart(0);
  await host.waitFor((l) => l.msg === 'host started', 'host started');
  const endpoint = JSON.parse(await readFile(join(c.dataDir('target'), 'endpoint.json'), 'utf8')) as { cluster: string; curvePublicKey: string; pid: number };
  const stats = async (): Promise<Stats> => {
    const r = await c.cli('target', ['status', '--json']);
    t.is(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { cluster: { transport: { dropped: Record<string, number>; received: number; framesReceived: number } } };
    const rss = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${endpoint.pid}/status`, 'utf8'));
    return { rssKb: Number(rss![1]), dropped: s.cluster.transport.dropped, received: s.cluster.transport.received, framesReceived: s.cluster.transport.framesReceived };
  };

  const keys = await readNodeKeys(join(c.dir, 'keys', 'fuzzer'));
  const dealer = new zmq.Dealer({
    routingId: 'fuzzer',
    curveServerKey: endpoint.curvePublicKey,
    curvePublicKey: keys.curve.publicKey,
    curveSecretKey: keys.curve.secretKey,
    linger: 0,
    sendHighWaterMark: 100_000,
  });
  t.teardown(() => dealer.close());
  dealer.connect(endpoint.cluster);

  const fuzzer = nodeId('fuzzer');
  const valid = (id: number, type: WireType, body: unknown): Uint8Array =>
    encodeEnvelope({ version: WIRE_VERSION, id, from: fuzzer, to: 'qallow://target/sync', type, body } as never);
  // A valid heartbeat first: the connection is up and the host hears us.
  await dealer.send(valid(0, 'heartbeat', { seq: 0, sentAt: Date.now(), incarnation: 1 }));
  await host.waitFor((l) => l.msg === 'membership change' && l['peer'] === 'fuzzer' && l['to'] === 'up', 'fuzzer up on target', 20_000);
  const before = await stats();

  const seeds: Uint8Array[] = [
    valid(1, 'heartbeat', { seq: 1, sentAt: Date.now(), incarnation: 1 }),
    valid(2, 'sync.pulse', { cycleMs: 1.5, tick: 10, runs: { r: 10 }, sentAt: Date.now() }),
    valid(3, 'actor.tell', { payload: { type: 'x', n: [1, 2, { a: 'b' }] } }),
    valid(4, 'actor.ask', { requestId: 7, timeoutMs: 1000, payload: 'hi' }),
    valid(5, 'actor.reply', { requestId: 7, ok: false, error: { code: 'TIMEOUT', message: 'late' } }),
  ];
  const rand = rng(0xc0ffee);
  const N = 12_000;
  for (let i = 0; i < N; i++) {
    const kind = i % 4;
    let frame: Uint8Array;
    if (kind === 0) {
      // Random bytes of random length.
      frame = new Uint8Array(1 + Math.floor(rand() * 512));
      for (let j = 0; j < frame.length; j++) frame[j] = Math.floor(rand() * 256);
    } else if (kind === 1) {
      // A valid frame with 1–8 bytes changed.
      frame = new Uint8Array(seeds[i % seeds.length]!);
      for (let k = 1 + Math.floor(rand() * 8); k > 0; k--) frame[Math.floor(rand() * frame.length)] = Math.floor(rand() * 256);
    } else if (kind === 2) {
      // A valid frame cut short.
      const s = seeds[i % seeds.length]!;
      frame = s.slice(0, Math.floor(rand() * s.length));
    } else {
      // Over the configured 64 KiB limit, every 200th; else a valid prefix with garbage after it.
      if (i % 200 === 3) frame = new Uint8Array(64 * 1024 + 1 + Math.floor(rand() * 1024));
      else {
        const s = seeds[i % seeds.length]!;
        frame = new Uint8Array(s.length + 1 + Math.floor(rand() * 32));
        frame.set(s);
        for (let j = s.length; j < frame.length; j++) frame[j] = Math.floor(rand() * 256);
      }
    }
    await dealer.send(frame);
  }
  // A valid message after the storm must still be delivered: the pipe is in order, so once it is counted every fuzz frame was handled.
  await dealer.send(valid(N + 10, 'heartbeat', { seq: 2, sentAt: Date.now(), incarnation: 1 }));
  let after = await stats();
  // Each status round trip gives the host time to work through the frames; no sleep needed.
  for (let i = 0; i < 5000 && after.framesReceived < before.framesReceived + N + 1; i++) after = await stats();
  const droppedBefore = Object.values(before.dropped).reduce((a, b) => a + b, 0);
  const droppedAfter = Object.values(after.dropped).reduce((a, b) => a + b, 0);
  t.log(`frames ${after.framesReceived - before.framesReceived}, dropped ${JSON.stringify(after.dropped)}, delivered ${after.received - before.received}, RSS ${before.rssKb} → ${after.rssKb} kB`);
  t.true(droppedAfter - droppedBefore > N / 2, 'most fuzz frames were counted and dropped');
  t.true(after.dropped['oversized']! >= 1, 'oversized frames counted');
  t.true(after.dropped['malformed']! >= 1, 'malformed frames counted');
  t.true(after.received > before.received, 'the valid heartbeat after the storm arrived');
  t.true(after.rssKb - before.rssKb < 150 * 1024, `memory bounded: RSS grew ${after.rssKb - before.rssKb} kB`);
  t.is(after.framesReceived - before.framesReceived, N + 1, 'every frame reached the decoder and was accounted for');
  // Still serving: the admin endpoint answers and the process is alive.
  const runs = await c.cli('target', ['runs', '--json']);
  t.is(runs.code, 0, runs.stderr);
  t.is(host.child.exitCode, null, 'the host is still running');
});

/**
 * Hosts in one process through the composition root (runtime/compose): four
 * hosts built by the same createHost that `qallow start` uses, on the
 * memory transport, run a governed phase 13 run and their ledgers agree;
 * one host's parts are stopped, the other three (still a quorum) certify a
 * second run, and the host built again on its data dir catches up. And a
 * host whose cluster transport cannot start stops, in reverse, the parts it
 * had started.
 */
import { join } from 'node:path';
import test from 'ava';
import { parseHostConfig } from '../config/schema.js';
import type { ComputePoolInit } from '../kernels/pool.js';
import { phase13Params } from '../kernels/params.js';
import { createHost } from '../runtime/compose/create-host.js';
import { productionFactories } from '../runtime/compose/factories.js';
import { QallowError } from '../runtime/errors.js';
import type { Host } from '../runtime/host.js';
import { writeKeyFiles } from '../runtime/identity/files.js';
import { generateAdminKey, generateIdentity } from '../runtime/identity/identity.js';
import type { LedgerStore } from '../runtime/ledger/contract.js';
import { createLogger, memorySink } from '../runtime/logger.js';
import { tempDir } from './helpers/cli.js';
import { memoryCluster } from './helpers/hosts.js';

const NAMES = ['host-a', 'host-b', 'host-c', 'host-d'];

function ledgerOf(h: Host): LedgerStore {
  const l = h.ledger;
  if (!l) throw new Error('governance has not started');
  return l;
}

/** Resolves once `store` holds `origin`'s chain up to `seq` (from its append notifications); rejects after `timeoutMs`. */
function heightReached(store: LedgerStore, origin: string, seq: number, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`never held ${origin}#${seq}`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      off();
      resolve();
    };
    const off = store.subscribe((r) => {
      if (r.entry.origin === origin && r.entry.seq >= seq) done();
    });
    void store.height(origin).then((h) => h >= seq && done(), reject);
  });
}

/** Every entry of `origin`'s chain on each store, as bytes: equal everywhere when the ledgers agree. */
async function chains(stores: readonly LedgerStore[], origin: string, seq: number): Promise<string[][]> {
  return Promise.all(stores.map(async (s) => (await s.entriesFrom(origin, 1, seq + 10)).map((r) => Buffer.from(r.bytes).toString('hex'))));
}

async function governedRun(h: Host, run: string): Promise<void> {
  await h.submit(run, phase13Params({ ticks: 600, pockets: 64, couplings: [0.002], rings: 4 }), 'js', 200);
  const s = await h.whenFinished(run);
  if (s.state !== 'done') throw new Error(`${run} ended ${s.state}: ${s.failure ?? ''}`);
}

test('four hosts in one process run a governed phase 13 run and their ledgers agree; with one stopped the others certify on, and it catches up when built again', async (t) => {
  const c = await memoryCluster(t, NAMES);
  const [a, d] = [c.hosts[0]!, c.hosts[3]!];
  await governedRun(a.host, 'ring-1');
  const height = await ledgerOf(a.host).height('host-a');
  t.true(height >= 3, `host-a recorded the run's epochs (height ${height})`);
  const stores = c.hosts.map((h) => ledgerOf(h.host));
  await Promise.all(stores.map((s) => heightReached(s, 'host-a', height)));
  const first = await chains(stores, 'host-a', height);
  t.is(first[0]!.length, height);
  for (const [i, chain] of first.entries()) t.deepEqual(chain, first[0], `${NAMES[i]} holds host-a's chain as host-a does`);

  // One host's parts stop; three of four are still a quorum (> 2/3).
  await d.host.stop();
  await governedRun(a.host, 'ring-2');
  const after = await ledgerOf(a.host).height('host-a');
  t.true(after > height, 'the second run was certified without host-d');
  t.log(`host-a's chain: ${height} entries after ring-1, ${after} after ring-2`);
  const live = stores.slice(0, 3);
  await Promise.all(live.map((s) => heightReached(s, 'host-a', after)));
  const second = await chains(live, 'host-a', after);
  for (const chain of second) t.deepEqual(chain, second[0]);

  // Built again on its data dir (one line, as in the helper), host-d catches up on what it missed.
  const again = c.rebuild(3).host;
  await again.start();
  await heightReached(ledgerOf(again), 'host-a', after);
  t.deepEqual((await chains([ledgerOf(again)], 'host-a', after))[0], second[0], 'host-d caught up to the same chain');
});

test('a host whose cluster transport fails to start stops, in reverse, the parts it had started, and start rejects with the failure', async (t) => {
  const dir = await tempDir(t);
  const keys = join(dir, 'keys');
  await writeKeyFiles(keys, { node: generateIdentity('solo'), admin: generateAdminKey() });
  const config = parseHostConfig({
    node: { id: 'solo' },
    dataDir: join(dir, 'data'),
    compute: { threads: 1 },
    metrics: { enabled: false },
    admin: { authorizedKeys: [join(keys, 'admin.json')] },
    cluster: { bind: 'tcp://solo.memory:7400', identityDir: keys },
  });
  const order: string[] = [];
  const prod = productionFactories();
  const factories = {
    store: (...args: Parameters<typeof prod.store>) => {
      const s = prod.store(...args);
      const stop = s.stop.bind(s);
      s.stop = async () => {
        order.push('store');
        await stop();
      };
      return s;
    },
    pool: (init: ComputePoolInit) => {
      const p = prod.pool(init);
      const stop = p.stop.bind(p);
      p.stop = async () => {
        order.push('compute pool');
        await stop();
      };
      return p;
    },
    transport: () => {
      throw new QallowError('IO_ERROR', 'cannot bind the cluster transport', { part: 'transport' });
    },
  };
  const logs = memorySink();
  const host = createHost(config, { logger: createLogger({ nodeId: 'solo', destination: logs.stream }), factories });
  const e = await t.throwsAsync(host.start(), { instanceOf: QallowError });
  t.is(e?.code, 'IO_ERROR');
  t.deepEqual(order, ['compute pool', 'store'], 'the pool, then the store, stopped');
  t.true(logs.lines.some((l) => l.msg === 'store closed'), 'the store was closed');
  // Nothing is left open: the same data dir serves a host built again.
  const again = createHost({ ...config, cluster: undefined }, { logger: createLogger({ nodeId: 'solo', destination: memorySink().stream }) });
  t.teardown(() => again.stop());
  await again.start();
  t.deepEqual(await again.runIds(), []);
});

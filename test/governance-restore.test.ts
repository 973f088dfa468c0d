/**
 * A host restored from an older copy of its data dir (LMDB and vote log,
 * copied while it was stopped) is behind what the cluster already certified
 * for it as an origin. It must not propose a different entry for a seq the
 * cluster certified (every validator would refuse it, LEDGER_CONFLICT, for
 * ever): before proposing it fetches its own certified entries from its
 * peers, says so, and goes on from the cluster's height. Four hosts in one
 * process (memory transport, real LMDB files and vote logs, real
 * signatures).
 */
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import type { NodeId } from '../runtime/actors/address.js';
import { createMemoryNetwork } from '../runtime/transport/memory.js';
import { cluster, tempDir } from './helpers/ledger.js';
import { heightReached, linkAll, passing, startGovHost, until, type GovHost } from './helpers/governance-hosts.js';

const C = cluster(4, 9);
const [A] = C.ids as [NodeId, NodeId, NodeId, NodeId];

function allUp(h: GovHost): Promise<void> {
  return until(() => C.ids.every((id) => id === h.id || h.transport.peers().some((p) => p.id === id && p.state === 'up')), `every peer up on ${h.id}`);
}

test('a host restored from an older backup fetches its own certified entries from its peers before proposing, and goes on from there', async (t) => {
  const network = createMemoryNetwork();
  const root = await tempDir(t);
  const dir = (id: NodeId): string => join(root, id);
  const others = await Promise.all(C.ids.slice(1).map((id) => startGovHost(t, C, network, id, dir(id))));
  let a = await startGovHost(t, C, network, A, dir(A));
  linkAll([a, ...others]);
  await allUp(a);
  for (let epoch = 1; epoch <= 3; epoch++) await a.gov.record(passing('r', epoch));
  await Promise.all(others.map((h) => heightReached(h, A, 3)));

  // The backup: A's whole data dir (LMDB + vote log), copied while A is stopped.
  await a.stop();
  await cp(dir(A), join(root, 'backup'), { recursive: true });

  // A goes on: three more entries certified by the cluster.
  a = await startGovHost(t, C, network, A, dir(A));
  linkAll([a, ...others]);
  await allUp(a);
  for (let epoch = 4; epoch <= 6; epoch++) await a.gov.record(passing('r', epoch));
  await Promise.all(others.map((h) => heightReached(h, A, 6)));
  await a.stop();

  // A is restored from the backup: its chain ends at 3, the cluster's copy of it at 6.
  await cp(join(root, 'backup'), join(root, 'restored'), { recursive: true });
  a = await startGovHost(t, C, network, A, join(root, 'restored'));
  linkAll([a, ...others]);
  const synced = a.waitForLine((l) => l['msg'] === "this host's own chain was behind what the cluster certified for it (restored from an older copy?): fetched its certified entries from peers before proposing");
  // A run re-records the events of the checkpoint it recovers from (at least once), then goes on.
  await a.gov.record(passing('r', 5));
  await a.gov.record(passing('r', 7));
  const line = await synced;
  t.like(line, { from: 3, to: 6 });
  t.is(await a.gov.ledgerStore.height(A), 7, 'epoch 5 was recorded already; epoch 7 is seq 7');
  t.true(a.gov.status().ledger.ownChainSynced);
  const chain = await a.gov.ledgerStore.entriesFrom(A, 1, 100);
  t.deepEqual(chain.map((r) => r.entry.epoch), [1, 2, 3, 4, 5, 6, 7]);
  await Promise.all(others.map((h) => heightReached(h, A, 7)));
  for (const h of others) {
    const theirs = await h.gov.ledgerStore.entriesFrom(A, 1, 100);
    t.deepEqual(theirs.map((r) => r.hash), chain.map((r) => r.hash), `${h.id} holds the same chain`);
    t.is(h.gov.status().validator.refused, 0, `${h.id} was never asked to sign a different entry for a certified seq`);
  }
});

/**
 * When the quorum is there and when it is not, as the origin sees it:
 * a validator set of one (a host without peers, quorum 1 of 1) certifies
 * every record with its own vote; an origin whose membership already shows
 * the quorum gone answers `record` at once with QUORUM_UNAVAILABLE instead
 * of waiting out the round timeout, and still certifies the entry when the
 * quorum returns. In-process hosts (memory transport, real LMDB, real
 * signatures).
 */
import { join } from 'node:path';
import test from 'ava';
import type { NodeId } from '../runtime/actors/address.js';
import { isQallowError } from '../runtime/errors.js';
import { createMemoryNetwork } from '../runtime/transport/memory.js';
import { cluster, tempDir } from './helpers/ledger.js';
import { heightReached, linkAll, passing, startGovHost, until } from './helpers/governance-hosts.js';

test('a validator set of one (quorum 1 of 1) certifies each record with its own vote', async (t) => {
  const one = cluster(1, 7);
  const [solo] = one.ids as [NodeId];
  const host = await startGovHost(t, one, createMemoryNetwork(), solo, join(await tempDir(t), 'solo'), { roundTimeoutMs: 5000 });
  for (let epoch = 1; epoch <= 3; epoch++) await host.gov.record(passing('r', epoch));
  t.is(await host.gov.ledgerStore.height(solo), 3, 'three certified entries in its own chain');
  const first = await host.gov.ledgerStore.get(solo, 1);
  t.deepEqual(first?.certificate.votes.map((v) => v.validator), [solo], 'certified by its own vote alone');
  t.is(host.gov.status().ledger.committed, 3);
});

test('with the quorum known gone, record answers QUORUM_UNAVAILABLE at once (not after the round timeout) and the entries are certified when it returns', async (t) => {
  const four = cluster(4, 8);
  const [A, , Cc, D] = four.ids as [NodeId, NodeId, NodeId, NodeId];
  const network = createMemoryNetwork();
  const root = await tempDir(t);
  const hosts = await Promise.all(four.ids.map((id) => startGovHost(t, four, network, id, join(root, id), { roundTimeoutMs: 10_000 })));
  linkAll(hosts);
  const a = hosts[0]!;
  await until(() => four.ids.every((id) => id === A || a.transport.peers().some((p) => p.id === id && p.state === 'up')), 'every peer up on the origin');
  await a.gov.record(passing('r', 1));

  // Two of four unreachable: a record already waiting for votes is answered when membership sees it.
  network.cut(A, Cc);
  network.cut(A, D);
  const cutAt = Date.now();
  const waiting = a.gov.record(passing('r', 2));
  const e1 = await t.throwsAsync(waiting);
  t.true(isQallowError(e1, 'QUORUM_UNAVAILABLE'), String(e1));
  t.true(Date.now() - cutAt < 8000, `answered when the quorum was lost (${Date.now() - cutAt} ms), before the 10 s round timeout`);
  t.false(a.gov.quorumAvailable());

  // Each further record is answered at once: a run with onQuorumLoss 'continue' is not held up.
  const started = Date.now();
  for (let epoch = 3; epoch <= 8; epoch++) {
    const e = await t.throwsAsync(a.gov.record(passing('r', epoch)));
    t.true(isQallowError(e, 'QUORUM_UNAVAILABLE'), String(e));
  }
  const took = Date.now() - started;
  t.true(took < 1000, `six records without a quorum answered in ${took} ms`);
  t.is(await a.gov.ledgerStore.height(A), 1, 'nothing was certified without the quorum');

  // The quorum returns: what was queued is certified, in order, and replicated.
  network.heal(A, Cc);
  network.heal(A, D);
  await heightReached(a, A, 8);
  await heightReached(hosts[1]!, A, 8);
  const epochs = (await a.gov.ledgerStore.entriesFrom(A, 1, 100)).map((r) => r.entry.epoch);
  t.deepEqual(epochs, [1, 2, 3, 4, 5, 6, 7, 8]);
});

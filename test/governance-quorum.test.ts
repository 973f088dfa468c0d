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

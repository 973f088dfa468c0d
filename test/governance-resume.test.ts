/**
 * An origin that stops with rounds in flight proposes them again, unchanged
 * and in order, when it starts: `record` resolves at the quorum (the votes
 * durable at the validators, the batch in the origin's vote log), before the
 * batch is in the origin's LMDB chain, so a stop in between must lose
 * nothing. Four hosts in one process (actor systems, the cluster router,
 * the memory transport), each with its own LMDB store and vote log; the
 * origin's state at the stop is made exactly: two own rounds in its vote log
 * (the second proposed while the first was appending), the first already
 * voted for by two validators, nothing in its chain.
 */
import { join } from 'node:path';
import test from 'ava';
import type { NodeId } from '../runtime/actors/address.js';
import { encodePropose, decodeVoteReply } from '../runtime/governance/wire.js';
import { buildBatch } from '../runtime/ledger/batch.js';
import { entryHash, type LedgerEntry } from '../runtime/ledger/entry.js';
import { createLmdbLedgerStore } from '../runtime/ledger/lmdb-store.js';
import { createLmdbStore } from '../runtime/store/lmdb.js';
import { createMemoryNetwork } from '../runtime/transport/memory.js';
import { ETHICS, heightReached, linkAll, passing, startGovHost, type GovHostOptions } from './helpers/governance-hosts.js';
import { cluster, entryOf, tempDir } from './helpers/ledger.js';

const C = cluster(4);
const [A, B, Cc, D] = C.ids as [NodeId, NodeId, NodeId, NodeId];
/** Hosts as these tests have always run them: quiet, started by the test once linked, no membership notifications. */
const HOST: GovHostOptions = { start: false, logLevel: 'warn', membership: false };

test('rounds in flight when the origin stopped are proposed again, unchanged and in order, and committed everywhere', async (t) => {
  const network = createMemoryNetwork();
  const root = await tempDir(t);
  const dirs = new Map(C.ids.map((id) => [id, join(root, id)]));
  const others = await Promise.all([B, Cc, D].map((id) => startGovHost(t, C, network, id, dirs.get(id)!, HOST)));
  linkAll(others);
  for (const h of others) await h.gov.start();

  // The origin's state at the stop, made exactly: two own rounds in its vote log, nothing in its chain.
  const e1 = entryOf('ethics_check', A, 1, '0'.repeat(64)) as LedgerEntry;
  const e2 = entryOf('ethics_check', A, 2, entryHash(e1)) as LedgerEntry;
  const r1 = buildBatch([e1], C.secrets.get(A)!);
  const r2 = buildBatch([e2], C.secrets.get(A)!);
  {
    const store = createLmdbStore({ dataDir: dirs.get(A)! });
    await store.start();
    const ledger = createLmdbLedgerStore({ validators: C.set }, { store, voteLogDir: join(dirs.get(A)!, 'votes') });
    await ledger.start();
    t.true(await ledger.recordRound({ header: r1.header, originSignature: r1.originSignature, entries: r1.bytes }, r1.hashes));
    t.true(await ledger.recordRound({ header: r2.header, originSignature: r2.originSignature, entries: r2.bytes }, r2.hashes));
    await ledger.stop();
    await store.stop();
  }
  // Two validators voted for the first round before the stop (asked from B's system).
  const propose1 = encodePropose({ type: 'propose', header: r1.header, originSignature: r1.originSignature, entries: r1.bytes });
  for (const v of [B, Cc]) t.is(decodeVoteReply(await others[0]!.system.ask(`qallow://${v}/validator`, propose1, 5000)).validator, v);

  // The origin starts: it proposes both rounds again, and every host appends them.
  const a = await startGovHost(t, C, network, A, dirs.get(A)!, HOST);
  const hosts = [a, ...others];
  linkAll(hosts);
  await a.gov.start();
  await Promise.all(hosts.map((h) => heightReached(h, A, 2)));
  for (const h of hosts) {
    t.deepEqual(Buffer.from((await h.gov.ledgerStore.get(A, 1))!.bytes), Buffer.from(r1.bytes[0]!), `${h.id} holds round 1 as it was`);
    t.deepEqual(Buffer.from((await h.gov.ledgerStore.get(A, 2))!.bytes), Buffer.from(r2.bytes[0]!), `${h.id} holds round 2 as it was`);
  }
  // Nobody refused anything: the validators that had voted signed the same entries again.
  for (const h of hosts) t.is((await h.gov.status()).validator.refused, 0, `${h.id} refused nothing`);
  // The next record follows on from them.
  await a.gov.record({ kind: 'ethics_check', run: 'ring-1m', epoch: 3, tick: 3000, stateHash: 'ab'.repeat(32), figures: { minTotal: 2.96, maxEntropy: 0.0004, passed: 4, lanes: 4 }, decision: 'pass', detail: { ...ETHICS } });
  t.is(await a.gov.ledgerStore.height(A), 3);
});

test('what record() committed reads back on the origin at once: reads wait for the append still in flight', async (t) => {
  const network = createMemoryNetwork();
  const root = await tempDir(t);
  const hosts = await Promise.all(C.ids.map((id) => startGovHost(t, C, network, id, join(root, id), HOST)));
  linkAll(hosts);
  for (const h of hosts) await h.gov.start();
  const a = hosts[0]!;
  const store = a.gov.ledgerStore;
  let durable = 0;
  const off = store.subscribe(() => durable++);
  t.teardown(off);
  let notYetDurable = 0;
  for (let epoch = 1; epoch <= 20; epoch++) {
    await a.gov.record(passing('ring', epoch));
    // record() resolves at the commit; the append to this host's chain may still be syncing.
    if (durable < epoch) notYetDurable++;
    const [height, got, from] = await Promise.all([store.height(A), store.get(A, epoch), store.entriesFrom(A, epoch, 10)]);
    t.is(height, epoch);
    t.is(got?.entry.seq, epoch);
    t.deepEqual(from.map((r) => r.entry.seq), [epoch]);
    t.true((await store.heads()).some((h) => h.origin === A && h.seq === epoch));
  }
  // The case this test is about happened (the append was still in flight when record() resolved).
  t.true(notYetDurable > 0, 'some record() resolved before its append was durable');
  t.log(`${notYetDurable} of 20 records resolved before their append was durable`);
});

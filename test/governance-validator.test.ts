/**
 * The ethics validator against a Byzantine origin (a test double that signs
 * what an honest host never would): four validators with their own LMDB
 * ledgers check proposals from node-3. Conflicting entries for one seq,
 * figures that contradict the decision, and another host's signature reused
 * all get no certificate, and the refusals name the origin in the logs.
 */
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { NodeId } from '../runtime/actors/address.js';
import { QallowError } from '../runtime/errors.js';
import { decisionProblem, EthicsValidator } from '../runtime/governance/validator.js';
import type { ProposeMsg } from '../runtime/governance/wire.js';
import { decodePropose, encodePropose } from '../runtime/governance/wire.js';
import { buildBatch, type Batch } from '../runtime/ledger/batch.js';
import { CertificateBuilder } from '../runtime/ledger/certificate.js';
import { createLmdbLedgerStore } from '../runtime/ledger/lmdb-store.js';
import type { LedgerEntry } from '../runtime/ledger/entry.js';
import { ZERO_HASH } from '../runtime/ledger/entry.js';
import { createLogger, memorySink } from '../runtime/logger.js';
import { createLmdbStore } from '../runtime/store/lmdb.js';
import { tempDir } from './helpers/cli.js';
import { cluster, entryOf } from './helpers/ledger.js';

const RULE = { threshold: 2.9, entropyMax: 0.001 };

async function validators(t: ExecutionContext) {
  const c = cluster(4);
  const sink = memorySink();
  const logger = createLogger({ nodeId: 'test', destination: sink.stream, level: 'info' });
  const vs = await Promise.all(
    c.ids.map(async (id) => {
      const dir = await tempDir(t);
      const store = createLmdbStore({ dataDir: dir }, { logger });
      await store.start();
      const ledger = createLmdbLedgerStore({ validators: c.set }, { store, voteLogDir: join(dir, 'votes') });
      await ledger.start();
      t.teardown(async () => {
        await ledger.stop();
        await store.stop();
      });
      return new EthicsValidator({ node: id, secretKey: c.secrets.get(id)!, validators: c.set, ethics: RULE, adaptationFactor: 0.5 }, { store: ledger, logger });
    }),
  );
  return { c, vs, sink, byz: c.ids[3]! };
}

function propose(b: Batch): ProposeMsg {
  // Through the wire codec, as a proposal arrives from the network.
  return decodePropose(encodePropose({ type: 'propose', header: b.header, originSignature: b.originSignature, entries: b.bytes }));
}

/** Ask all four; what would the origin's certificate hold? */
async function round(vs: EthicsValidator[], b: Batch, set: ReturnType<typeof cluster>['set']) {
  const builder = new CertificateBuilder(b.header, set);
  const refusals: QallowError[] = [];
  for (const v of vs) {
    try {
      builder.add(await v.vote(propose(b)));
    } catch (e) {
      refusals.push(e as QallowError);
    }
  }
  return { certified: builder.complete, votes: builder.count, refusals };
}

const ethics = (origin: NodeId, seq: number, prev: string, extra: Partial<LedgerEntry> = {}): LedgerEntry => entryOf('ethics_check', origin, seq, prev, extra as never);

test('an honest batch is certified by all four; asking again (a retried round) gives the same votes', async (t) => {
  const { c, vs } = await validators(t);
  const b = buildBatch([ethics(c.ids[0]!, 1, ZERO_HASH)], c.secrets.get(c.ids[0]!)!);
  const r = await round(vs, b, c.set);
  t.true(r.certified);
  t.is(r.votes, 4);
  // Asking again for the same batch is fine (the same vote): a retried round after a crash.
  t.true((await round(vs, b, c.set)).certified);
});

test('equivocation: a second, different entry for a signed seq gets no vote and no certificate; the origin is named', async (t) => {
  const { c, vs, sink, byz } = await validators(t);
  const secret = c.secrets.get(byz)!;
  const first = buildBatch([ethics(byz, 1, ZERO_HASH)], secret);
  t.true((await round(vs, first, c.set)).certified);
  const conflicting = buildBatch([ethics(byz, 1, ZERO_HASH, { figures: { minTotal: 3.5, maxEntropy: 0.0001, passed: 4, lanes: 4 } })], secret);
  const r = await round(vs, conflicting, c.set);
  t.false(r.certified);
  t.is(r.votes, 0);
  t.true(r.refusals.every((e) => e.code === 'LEDGER_CONFLICT'));
  const logged = await sink.waitFor((l) => l['msg'] === 'proposal refused' && l['origin'] === byz && l['problem'] === 'equivocation');
  t.is(logged['code'], 'LEDGER_CONFLICT');
});

test('forged figures: a decision that does not follow from the figures gets no certificate', async (t) => {
  const { c, vs, sink, byz } = await validators(t);
  const secret = c.secrets.get(byz)!;
  // E below the threshold, yet "pass".
  const forged = buildBatch([ethics(byz, 1, ZERO_HASH, { figures: { minTotal: 1.2, maxEntropy: 0.0004, passed: 4, lanes: 4 }, decision: 'pass' })], secret);
  const r = await round(vs, forged, c.set);
  t.false(r.certified);
  t.true(r.refusals.every((e) => e.code === 'LEDGER_BAD_ENTRY' && e.details['problem'] === 'decision'));
  await sink.waitFor((l) => l['msg'] === 'proposal refused' && l['origin'] === byz && l['problem'] === 'decision');
  // NaN fails: a diverged run cannot be declared passing.
  const nan = buildBatch([ethics(byz, 1, ZERO_HASH, { figures: { minTotal: Number.NaN, maxEntropy: Number.NaN, passed: 0, lanes: 4 }, decision: 'pass' })], secret);
  t.false((await round(vs, nan, c.set)).certified);
  // Thresholds other than the configured ones are refused too.
  const lax = buildBatch([ethics(byz, 1, ZERO_HASH, { detail: { threshold: 1, entropyMax: 1 }, figures: { minTotal: 1.2, maxEntropy: 0.5, passed: 4, lanes: 4 } } as never)], secret);
  t.false((await round(vs, lax, c.set)).certified);
});

test("reusing another host's signature: a proposal signed with someone else's batch signature is refused", async (t) => {
  const { c, vs, sink, byz } = await validators(t);
  const honest = c.ids[0]!;
  const real = buildBatch([ethics(honest, 1, ZERO_HASH)], c.secrets.get(honest)!);
  // The Byzantine host makes its own batch in node-0's name and pastes node-0's real signature on it.
  const mine = buildBatch([ethics(honest, 1, ZERO_HASH, { figures: { minTotal: 3.7, maxEntropy: 0.0001, passed: 4, lanes: 4 } })], c.secrets.get(byz)!);
  const pasted: Batch = { ...mine, originSignature: real.originSignature };
  const r = await round(vs, pasted, c.set);
  t.false(r.certified);
  t.true(r.refusals.every((e) => e.code === 'LEDGER_BAD_SIGNATURE'));
  await sink.waitFor((l) => l['msg'] === 'proposal refused' && l['origin'] === honest && l['problem'] === 'origin-signature');
  // Its own batch signed by itself but claiming node-0's origin fails the same way.
  t.false((await round(vs, mine, c.set)).certified);
});

test('a proposal that skips a seq or breaks the chain link is refused', async (t) => {
  const { c, vs, byz } = await validators(t);
  const secret = c.secrets.get(byz)!;
  const one = buildBatch([ethics(byz, 1, ZERO_HASH)], secret);
  t.true((await round(vs, one, c.set)).certified);
  const badLink = buildBatch([ethics(byz, 2, 'cd'.repeat(32))], secret);
  const r = await round(vs, badLink, c.set);
  t.false(r.certified);
  t.true(r.refusals.every((e) => e.code === 'LEDGER_BAD_CHAIN'));
  // seq 3 with seq 2 unknown: every validator is "behind" it and refuses.
  const skip = buildBatch([ethics(byz, 3, one.hashes[0]!)], secret);
  t.false((await round(vs, skip, c.set)).certified);
});

test('decision rules per kind', (t) => {
  const c = cluster(1);
  const id = c.ids[0]!;
  t.is(decisionProblem(ethics(id, 1, ZERO_HASH), RULE, 0.5), null);
  t.regex(decisionProblem(ethics(id, 1, ZERO_HASH, { decision: 'fail' }), RULE, 0.5) ?? '', /expected "pass"/);
  t.regex(decisionProblem(ethics(id, 1, ZERO_HASH, { figures: { minTotal: 3, maxEntropy: 0.0001, passed: 3, lanes: 4 } }), RULE, 0.5) ?? '', /contradict/);
  t.is(decisionProblem(ethics(id, 1, ZERO_HASH, { figures: { minTotal: 2.0, maxEntropy: 0.0001, passed: 0, lanes: 4 }, decision: 'fail' }), RULE, 0.5), null);
  t.is(decisionProblem(entryOf('adaptation', id, 1, ZERO_HASH), RULE, 0.5), null);
  t.regex(decisionProblem(entryOf('adaptation', id, 1, ZERO_HASH, { detail: { rings: [1], fromCoupling: [0.01], toCoupling: [0.009] } }), RULE, 0.5) ?? '', /not × 0.5/);
  t.regex(decisionProblem(entryOf('rollback', id, 5, ZERO_HASH, { detail: { toEpoch: 7, reason: 'x' } }), RULE, 0.5) ?? '', /does not go back/);
  t.regex(decisionProblem(entryOf('admin', id, 1, ZERO_HASH, { detail: { command: 'format-disk', actorOrRun: 'x' } }), RULE, 0.5) ?? '', /not one qallow has/);
  // An admin entry says what came of the command: done, refused:CODE, or (earlier versions) accepted.
  for (const decision of ['done', 'refused:ACTOR_NOT_FOUND', 'accepted']) t.is(decisionProblem(entryOf('admin', id, 1, ZERO_HASH, { decision }), RULE, 0.5), null, decision);
  for (const decision of ['admin', 'refused:', 'refused:not a code', 'ok']) t.regex(decisionProblem(entryOf('admin', id, 1, ZERO_HASH, { decision }), RULE, 0.5) ?? '', /must be "done" or "refused:CODE"/, decision);
});

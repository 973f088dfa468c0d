/**
 * Governance messages from the network are untrusted: each decoder returns
 * the typed message or throws BAD_FRAME naming the field.
 */
import test from 'ava';
import { isQallowError } from '../runtime/errors.js';
import { decodeFetchReply, decodeHeadsReply, decodeLedgerMsg, decodePropose, decodeVoteReply, encodePropose } from '../runtime/governance/wire.js';

const header = { origin: 'node-a', firstSeq: 1, count: 1, root: 'ab'.repeat(32) };
const good = { type: 'propose', header, originSignature: new Uint8Array(64), entries: [new Uint8Array(10)] };

function refused(t: import('ava').ExecutionContext, f: () => unknown, field: string): void {
  const e = t.throws(f);
  t.true(isQallowError(e, 'BAD_FRAME'), String(e));
  t.is((e as unknown as { details: Record<string, unknown> }).details['field'], field);
}

test('a proposal round-trips through the wire form', (t) => {
  const m = decodePropose(encodePropose(decodePropose(good)));
  t.deepEqual(m.header, header);
  t.is(m.entries.length, 1);
});

test('malformed proposals are refused naming the field', (t) => {
  refused(t, () => decodePropose(null), 'propose');
  refused(t, () => decodePropose({ ...good, extra: 1 }), 'propose.extra');
  refused(t, () => decodePropose({ ...good, header: { ...header, origin: 'Not A Node' } }), 'propose.header.origin');
  refused(t, () => decodePropose({ ...good, header: { ...header, firstSeq: 0 } }), 'propose.header.firstSeq');
  refused(t, () => decodePropose({ ...good, header: { ...header, root: 'xyz' } }), 'propose.header.root');
  refused(t, () => decodePropose({ ...good, header: { ...header, count: 2 } }), 'propose.entries');
  refused(t, () => decodePropose({ ...good, originSignature: new Uint8Array(63) }), 'propose.originSignature');
  refused(t, () => decodePropose({ ...good, entries: ['text'] }), 'propose.entries[0]');
  refused(t, () => decodePropose({ ...good, entries: [] }), 'propose.entries');
});

test('malformed votes, ledger messages and replies are refused naming the field', (t) => {
  refused(t, () => decodeVoteReply({ validator: 'node-b', signature: new Uint8Array(12) }), 'vote.signature');
  refused(t, () => decodeVoteReply({ validator: 'node-b' }), 'vote.signature');
  refused(t, () => decodeLedgerMsg({ type: 'gossip' }), 'type');
  refused(t, () => decodeLedgerMsg({ type: 'fetch', origin: 'node-a', from: 0, limit: 5 }), 'fetch.from');
  refused(t, () => decodeLedgerMsg({ type: 'fetch', origin: 'node-a', from: 1, limit: 100_000 }), 'fetch.limit');
  refused(t, () => decodeLedgerMsg({ type: 'commit', records: [] }), 'commit.records');
  refused(t, () => decodeLedgerMsg({ type: 'heads', more: 1 }), 'heads.more');
  refused(t, () => decodeHeadsReply({ heads: { 'node-a': -1 } }), 'heads reply.heads.node-a');
  refused(t, () => decodeFetchReply({ records: [1] }), 'fetch reply.records[0]');
  t.deepEqual(decodeFetchReply({ records: [] }), { records: [] });
  t.deepEqual(decodeLedgerMsg({ type: 'heads' }), { type: 'heads' });
});

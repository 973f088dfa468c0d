/**
 * Typed admin replies (runtime/admin/replies.ts): every reply type round
 * trips through the wire envelope and the one decoder; a malformed reply is
 * BAD_FRAME naming the field; undeclared fields a newer host sends are kept.
 * The compile-time half: the fixtures are typed over every command type, and
 * the `@ts-expect-error` lines below fail the build if a renamed field were
 * still accepted.
 */
import test from 'ava';
import * as zmq from 'zeromq';
import { sendAdminCommand } from '../runtime/admin/client.js';
import { generateAdminKey } from '../runtime/identity/identity.js';
import { ADMIN_COMMAND_TYPES, type AdminCommandType } from '../runtime/admin/command.js';
import { decodeReply, encodeReply } from '../runtime/admin/endpoint.js';
import { decodeAdminReply, isLiveRun, type AdminReplies } from '../runtime/admin/replies.js';
import { isQallowError, type QallowError } from '../runtime/errors.js';
import { LIVE_RUN, REPLY_FIXTURES, STATUS } from './helpers/admin-replies.js';

function overWire(result: unknown): unknown {
  const back = decodeReply(encodeReply({ ok: true, result }));
  if (!back.ok) throw new Error('an ok reply came back as an error');
  return back.result;
}

function refused(t: import('ava').ExecutionContext, type: AdminCommandType, value: unknown, field: string): void {
  const e = t.throws(() => decodeAdminReply(type, value));
  t.true(isQallowError(e, 'BAD_FRAME'), String(e));
  t.is((e as QallowError).details['field'], field, (e as QallowError).message);
}

/** A deep copy with `edit` applied. */
function edited<T>(value: T, edit: (copy: Record<string, unknown>) => void): unknown {
  const copy = structuredClone(value) as Record<string, unknown>;
  edit(copy);
  return copy;
}

for (const type of ADMIN_COMMAND_TYPES) {
  test(`${type}: its reply round trips through the envelope and the decoder`, (t) => {
    const fixture = REPLY_FIXTURES[type];
    const decoded: AdminReplies[typeof type] = decodeAdminReply(type, overWire(fixture));
    t.deepEqual(decoded, fixture);
  });
  test(`${type}: a reply that is not a map of its fields is refused, naming it`, (t) => {
    refused(t, type, 'nonsense', type);
    refused(t, type, null, type);
  });
}

test('status: a missing or mistyped field is refused, naming the field', (t) => {
  refused(t, 'status', edited(STATUS, (s) => delete s['node']), 'status.node');
  refused(t, 'status', edited(STATUS, (s) => (s['uptimeMs'] = -1)), 'status.uptimeMs');
  refused(t, 'status', edited(STATUS, (s) => ((s['runs'] as Record<string, unknown>[])[0]!['tick'] = '400')), 'status.runs[0].tick');
  refused(t, 'status', edited(STATUS, (s) => ((s['runs'] as Record<string, unknown>[])[1]!['ticks'] = 'x')), 'status.runs[1].ticks');
  refused(t, 'status', edited(STATUS, (s) => ((s['runs'] as Record<string, unknown>[])[0]!['lastAction'] = { type: 'explode' })), 'status.runs[0].lastAction.type');
  refused(t, 'status', edited(STATUS, (s) => ((s['runs'] as Record<string, unknown>[])[0]!['pauseReason'] = 'bored')), 'status.runs[0].pauseReason');
  refused(t, 'status', edited(STATUS, (s) => ((s['cluster'] as { members: Record<string, unknown>[] }).members[1]!['status'] = 'gone')), 'status.cluster.members[1].status');
  refused(t, 'status', edited(STATUS, (s) => ((s['governance'] as { heads: Record<string, unknown> }).heads['n-b'] = 1.5)), 'status.governance.heads.n-b');
  refused(t, 'status', edited(STATUS, (s) => ((s['tree'] as { children: Record<string, unknown>[] }).children[0]!['restarts'] = null)), 'status.tree.children[0].restarts');
  refused(t, 'status', edited(STATUS, (s) => (s['actors'] = {})), 'status.actors');
});

test('run, pause, resume, cancel: the reply is a live run (a stored run has no executor)', (t) => {
  for (const type of ['run', 'pause', 'resume', 'cancel'] as const) {
    refused(t, type, edited(LIVE_RUN, (r) => delete r['executor']), `${type}.executor`);
    refused(t, type, edited(LIVE_RUN, (r) => (r['couplings'] = [0.5, 'k'])), `${type}.couplings[1]`);
  }
});

test('the other replies: a wrong field is refused, naming it', (t) => {
  refused(t, 'ledger.tail', edited(REPLY_FIXTURES['ledger.tail'], (r) => ((r['heads'] as Record<string, unknown>)['n-a'] = -3)), 'ledger.tail.heads.n-a');
  refused(t, 'ledger.tail', edited(REPLY_FIXTURES['ledger.tail'], (r) => (r['records'] = [1])), 'ledger.tail.records[0]');
  refused(t, 'ledger.tail', edited(REPLY_FIXTURES['ledger.tail'], (r) => delete r['more']), 'ledger.tail.more');
  refused(t, 'checkpoint.take', edited(REPLY_FIXTURES['checkpoint.take'], (r) => (r['stateHash'] = 7)), 'checkpoint.take.stateHash');
  refused(t, 'actor.stop', edited(REPLY_FIXTURES['actor.stop'], (r) => delete r['action']), 'actor.stop.action');
  refused(t, 'shutdown', edited(REPLY_FIXTURES.shutdown, (r) => (r['ledger'] = undefined)), 'shutdown.ledger');
  refused(t, 'runs', [LIVE_RUN, 'x'], 'runs[1]');
});

test('fields a newer host adds are kept; integers in any exact encoding come back as numbers', (t) => {
  const s = decodeAdminReply('status', overWire({ ...STATUS, cluster: { ...STATUS.cluster, transport: { sent: 3 } }, extra: 'new', uptimeMs: 3_723_000n }));
  t.is(s.uptimeMs, 3_723_000);
  t.deepEqual((s.cluster as unknown as Record<string, unknown>)['transport'], { sent: 3 });
  t.is((s as unknown as Record<string, unknown>)['extra'], 'new');
  // Key order as the host sent it: `--json` prints the reply as it came.
  t.deepEqual(Object.keys(s).slice(0, 3), ['node', 'uptimeMs', 'cluster']);
});

test('a decoded run tells live from stored apart, typed', (t) => {
  const runs = decodeAdminReply('runs', overWire(REPLY_FIXTURES.runs));
  const [live, stored] = runs;
  t.true(live !== undefined && isLiveRun(live) && live.lastDecision?.minTotal === 2.5);
  t.true(stored !== undefined && !isLiveRun(stored) && stored.ticks === null);
});

test('compile time: a renamed field is a type error, not a run-time surprise', (t) => {
  const s = decodeAdminReply('status', overWire(STATUS));
  const c = decodeAdminReply('checkpoint.take', overWire(REPLY_FIXTURES['checkpoint.take']));
  // @ts-expect-error `uptime` is not a field: it is `uptimeMs`
  const uptime: unknown = s.uptime;
  // @ts-expect-error `hash` is not a field: it is `stateHash`
  const hash: unknown = c.hash;
  // @ts-expect-error the reply of `checkpoint.take` is not the reply of `status`
  const wrong: AdminReplies['status'] = c;
  t.is(uptime, undefined);
  t.is(hash, undefined);
  t.truthy(wrong);
});

test('sendAdminCommand decodes the reply once: a host answering a malformed status is BAD_FRAME naming the field', async (t) => {
  const server = zmq.curveKeyPair();
  const router = new zmq.Router({ curveServer: true, curveSecretKey: server.secretKey, linger: 0 });
  t.teardown(() => router.close());
  await router.bind('tcp://127.0.0.1:*');
  const target = { endpoint: router.lastEndpoint!, node: 'n-a', curvePublicKey: server.publicKey };
  // One fake host answering each frame with the next canned result.
  const answers: unknown[] = [{ ...STATUS, pid: 'four' }, STATUS];
  const served = (async () => {
    for (const result of answers) {
      const [id] = await router.receive();
      await router.send([id!, encodeReply({ ok: true, result })]);
    }
  })();
  const admin = generateAdminKey();
  const e = await t.throwsAsync(sendAdminCommand(target, { type: 'status' }, admin.secretKey, 10_000));
  t.true(isQallowError(e, 'BAD_FRAME'), String(e));
  t.is((e as QallowError).details['field'], 'status.pid');
  const ok = await sendAdminCommand(target, { type: 'status' }, admin.secretKey, 10_000);
  t.is(ok.node, 'n-a');
  await served;
});

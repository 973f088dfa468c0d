import test, { type ExecutionContext } from 'ava';
import { pino, type Logger } from 'pino';
import { QallowError, isQallowError } from '../runtime/errors.js';
import {
  ManualClock,
  createActorSystem,
  isEvent,
  spawn,
  type ActorRef,
  type ActorSystem,
  type ActorSystemComponents,
  type Clock,
  type ReplyTo,
} from '../runtime/actors/index.js';
import { pinoNactLogger } from '../runtime/actors/nact.js';

// ---- a test actor ---------------------------------------------------------

interface State {
  readonly seen: readonly number[];
}

type Msg =
  | { readonly type: 'add'; readonly n: number }
  | { readonly type: 'get'; readonly replyTo: ReplyTo<State> }
  | { readonly type: 'ignore'; readonly replyTo: ReplyTo<State> }
  | { readonly type: 'wait'; readonly until: Promise<void>; readonly started?: () => void }
  | { readonly type: 'work'; readonly ms: number }
  | { readonly type: 'fail'; readonly replyTo: ReplyTo<State> }
  | { readonly type: 'say'; readonly text: string };

function handler(clock: ManualClock | undefined) {
  return async (s: State, m: Msg, ctx: { log: Logger }): Promise<State> => {
    switch (m.type) {
      case 'add':
        return { seen: [...s.seen, m.n] };
      case 'get':
        m.replyTo.reply(s);
        return s;
      case 'ignore':
        return s;
      case 'wait':
        m.started?.();
        await m.until;
        return s;
      case 'work':
        // Handler time is measured on the injected clock: "work" moves it.
        clock?.advance(m.ms);
        return s;
      case 'fail':
        throw new QallowError('BAD_PARAMETER', 'refused on purpose', { field: 'x' });
      case 'say':
        ctx.log.info({ said: m.text }, 'said');
        return s;
    }
  };
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

interface Harness {
  readonly system: ActorSystem;
  readonly lines: Array<Record<string, unknown>>;
}

async function harness(t: ExecutionContext, extra: Partial<ActorSystemComponents> = {}): Promise<Harness> {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'trace' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const system = createActorSystem({ nodeId: 'node-t', root: { backoff: { baseMs: 0, maxMs: 0, jitter: 0 } } }, { logger, ...extra });
  await system.start();
  t.teardown(() => system.stop());
  return { system, lines };
}

function recorder(system: ActorSystem, name: string, capacity = 100, clock?: ManualClock): ActorRef<Msg> {
  return spawn<Msg, State>(system.root, { name, initialState: { seen: [] }, handle: handler(clock), mailbox: { capacity } });
}

const get = (ref: ActorRef<Msg>): Promise<State> => ref.ask<State>((replyTo) => ({ type: 'get', replyTo }), 60_000);

// ---- tests ----------------------------------------------------------------

test('tell is handled in order and ask gets a typed answer', async (t) => {
  const { system } = await harness(t);
  const ref = recorder(system, 'rec');
  for (let i = 0; i < 50; i++) ref.tell({ type: 'add', n: i });
  const s = await get(ref);
  t.deepEqual(s.seen, Array.from({ length: 50 }, (_, i) => i));
  t.is(ref.id, 'qallow://node-t/rec');
  t.is(ref.address.path[0] as string, 'rec');
});

test('a mismatched ask does not compile', (t) => {
  const typecheck = (ref: ActorRef<Msg>): void => {
    // @ts-expect-error the request carries ReplyTo<State>, not ReplyTo<number>
    void ref.ask<number>((replyTo) => ({ type: 'get', replyTo }), 10);
    // @ts-expect-error the answer type must be named; it is not inferred as unknown
    void ref.ask((replyTo) => ({ type: 'get', replyTo }), 10);
    // @ts-expect-error unknown message types do not compile
    ref.tell({ type: 'nope' });
  };
  void typecheck;
  t.pass();
});

test('MAILBOX_FULL when the bounded mailbox is full, never silent loss, and recovery when it drains', async (t) => {
  const { system } = await harness(t);
  const ref = recorder(system, 'small', 3);
  const g = gate();
  ref.tell({ type: 'wait', until: g.promise });
  ref.tell({ type: 'add', n: 1 });
  ref.tell({ type: 'add', n: 2 });
  const e = t.throws(() => ref.tell({ type: 'add', n: 3 }), { instanceOf: QallowError });
  t.is(e?.code, 'MAILBOX_FULL');
  t.is(e?.details['capacity'], 3);
  const r = ref.tryTell({ type: 'add', n: 4 });
  t.false(r.ok);
  if (!r.ok) t.is(r.error.code, 'MAILBOX_FULL');
  await t.throwsAsync(get(ref), { instanceOf: QallowError, message: /is full/ });
  const m = system.metrics().actors.find((a) => a.actor === ref.id);
  t.is(m?.mailboxDepth, 3);
  t.is(m?.mailboxFull, 3);

  let writable = false;
  const w = ref.whenWritable().then(() => {
    writable = true;
  });
  await Promise.resolve();
  t.false(writable, 'still full while the handler is blocked');
  g.open();
  await w;
  t.true(ref.tryTell({ type: 'add', n: 5 }).ok);
  await ref.whenWritable();
  const s = await get(ref);
  t.deepEqual(s.seen, [1, 2, 5], 'refused messages are not delivered; accepted ones all are');
  t.is(system.metrics().actors.find((a) => a.actor === ref.id)?.mailboxDepth, 0);
});

test('ask times out with TIMEOUT on the injected clock; a late reply is ignored', async (t) => {
  const clock = new ManualClock();
  const { system } = await harness(t, { clock });
  const ref = recorder(system, 'slow', 10, clock);
  let late: ReplyTo<State> | undefined;
  const asked = ref.ask<State>((replyTo) => {
    late = replyTo;
    return { type: 'ignore', replyTo };
  }, 250);
  // The handler has run (the next ask is answered) and never replied.
  const answered = await get(ref);
  t.deepEqual(answered.seen, []);
  clock.advance(249);
  t.false(late?.settled);
  clock.advance(1);
  const e = await t.throwsAsync(asked, { instanceOf: QallowError });
  t.is(e?.code, 'TIMEOUT');
  t.is(e?.details['timeoutMs'], 250);
  t.is(e?.details['messageType'], 'ignore');
  t.true(late?.settled);
  t.notThrows(() => late?.reply({ seen: [99] }));
  await t.throwsAsync(ref.ask<State>((replyTo) => ({ type: 'get', replyTo }), 0), { instanceOf: QallowError, message: /timeoutMs/ });
});

test('ask of a request whose handler throws rejects with that error', async (t) => {
  const { system } = await harness(t);
  const ref = recorder(system, 'failing');
  const restarted = system.events.waitFor(isEvent('actor-restarted', (e) => e.actor === ref.id));
  const e = await t.throwsAsync(ref.ask<State>((replyTo) => ({ type: 'fail', replyTo }), 60_000), { instanceOf: QallowError });
  t.is(e?.code, 'BAD_PARAMETER');
  await restarted;
});

test('dead letters: tells to a stopped actor and messages still queued when it stopped', async (t) => {
  const { system } = await harness(t);
  const ref = recorder(system, 'mortal');
  const g = gate();
  const began = gate();
  ref.tell({ type: 'wait', until: g.promise, started: began.open });
  ref.tell({ type: 'add', n: 1 });
  const queuedAsk = get(ref);
  await began.promise;
  const stopping = system.root.stopChild('mortal');
  g.open();
  await stopping;
  const e1 = await t.throwsAsync(queuedAsk, { instanceOf: QallowError });
  t.is(e1?.code, 'ACTOR_STOPPED');
  const e2 = t.throws(() => ref.tell({ type: 'add', n: 2 }), { instanceOf: QallowError });
  t.is(e2?.code, 'ACTOR_STOPPED');
  const r = ref.tryTell({ type: 'add', n: 3 });
  t.false(r.ok);
  if (!r.ok) t.is(r.error.code, 'ACTOR_STOPPED');
  const e3 = await t.throwsAsync(get(ref), { instanceOf: QallowError });
  t.is(e3?.code, 'ACTOR_STOPPED');
  await t.throwsAsync(ref.whenWritable(), { instanceOf: QallowError, message: /stopped/ });
  const m = system.metrics().actors.find((a) => a.actor === ref.id);
  // The in-flight "wait" finished; 2 were queued at stop (add 1, the ask) + 3 sent after.
  t.is(m?.processed, 1);
  t.is(m?.deadLetters, 5);
  t.is(m?.state, 'stopped');
  t.is(m?.mailboxDepth, 0);
  t.is(system.status().children[0]?.state, 'stopped');
});

test('dead letters: a stop before anything was handled loses nothing silently', async (t) => {
  const { system } = await harness(t);
  const ref = recorder(system, 'brief');
  const letters: string[] = [];
  const off = system.events.on((e) => {
    if (e.type === 'dead-letter' && e.actor === ref.id) letters.push(e.messageType);
  });
  t.teardown(off);
  ref.tell({ type: 'add', n: 1 });
  ref.tell({ type: 'add', n: 2 });
  const asked = get(ref);
  await system.root.stopChild('brief');
  t.is((await t.throwsAsync(asked, { instanceOf: QallowError }))?.code, 'ACTOR_STOPPED');
  const m = system.metrics().actors.find((a) => a.actor === ref.id);
  // stop() came before nact's first setImmediate: none was handled, all three are dead letters, in order.
  t.is(m?.processed, 0);
  t.is(m?.deadLetters, 3);
  t.deepEqual(letters, ['add', 'add', 'get']);
  t.is(m?.mailboxDepth, 0);
});

test('messages by address: decode validates, unknown actors are ACTOR_NOT_FOUND and counted', async (t) => {
  const { system } = await harness(t);
  const typed = recorder(system, 'typed-only');
  const open = spawn<Msg, State>(system.root, {
    name: 'open',
    initialState: { seen: [] },
    handle: handler(undefined),
    mailbox: { capacity: 10 },
    decode: (raw) => {
      const r = raw as { type?: unknown; n?: unknown };
      if (r?.type !== 'add' || typeof r.n !== 'number') {
        throw new QallowError('BAD_PARAMETER', 'only {type:"add", n:number} crosses hosts', { field: 'type' });
      }
      return { type: 'add', n: r.n };
    },
  });
  system.send('qallow://node-t/open', { type: 'add', n: 7 });
  system.send(open.address, { type: 'add', n: 8 });
  t.is(t.throws(() => system.send(open.id, { type: 'get' }), { instanceOf: QallowError })?.code, 'BAD_PARAMETER');
  t.is(t.throws(() => system.send(typed.id, { type: 'add', n: 1 }), { instanceOf: QallowError })?.code, 'BAD_PARAMETER');
  const dead = system.events.waitFor(isEvent('dead-letter', (e) => e.reason === 'unknown'));
  t.is(t.throws(() => system.send('qallow://node-t/nobody', { type: 'add', n: 1 }), { instanceOf: QallowError })?.code, 'ACTOR_NOT_FOUND');
  t.is((await dead).messageType, 'add');
  t.is(t.throws(() => system.send('qallow://other-node/open', { type: 'add', n: 1 }), { instanceOf: QallowError })?.code, 'ACTOR_NOT_FOUND');
  t.is(t.throws(() => system.send('qallow://node-t', {}), { instanceOf: QallowError })?.code, 'BAD_PARAMETER');
  t.deepEqual((await get(open)).seen, [7, 8]);
  t.is(system.metrics().unroutable, 2);
});

test('metrics snapshot: processed, depth, p50/p99 from the latency window, restarts, crashes', async (t) => {
  const clock = new ManualClock();
  const { system } = await harness(t, { clock });
  const ref = recorder(system, 'measured', 1000, clock);
  for (let ms = 1; ms <= 100; ms++) ref.tell({ type: 'work', ms });
  await get(ref);
  const restarted = system.events.waitFor(isEvent('actor-restarted', (e) => e.actor === ref.id));
  await t.throwsAsync(ref.ask<State>((replyTo) => ({ type: 'fail', replyTo }), 60_000));
  await restarted;
  await get(ref);
  const m = system.metrics();
  t.is(m.node, 'node-t');
  t.is(m.unroutable, 0);
  const a = m.actors.find((x) => x.actor === ref.id);
  t.truthy(a);
  t.deepEqual(Object.keys(a ?? {}).sort(), [
    'actor',
    'crashes',
    'deadLetters',
    'incarnation',
    'mailboxCapacity',
    'mailboxDepth',
    'mailboxFull',
    'processed',
    'processingP50Ms',
    'processingP99Ms',
    'processingSamples',
    'restarts',
    'state',
  ]);
  // 100 work + 2 get (one per incarnation, the last still counted once it returned).
  t.is(a?.processed, 102);
  t.is(a?.processingSamples, 102);
  // Durations: 100 x 1..100 ms plus two 0 ms gets; nearest rank over 102 samples.
  t.is(a?.processingP50Ms, 49);
  t.is(a?.processingP99Ms, 99);
  t.is(a?.mailboxDepth, 0);
  t.is(a?.mailboxCapacity, 1000);
  t.is(a?.restarts, 1);
  t.is(a?.crashes, 1);
  t.is(a?.incarnation, 1);
  t.is(a?.state, 'running');
  t.is(a?.deadLetters, 0);
  t.is(a?.mailboxFull, 0);
});

test('logs go to pino: actor logs under component "actors", nact logging hook too', async (t) => {
  const { system, lines } = await harness(t);
  const ref = recorder(system, 'talker');
  ref.tell({ type: 'say', text: 'hello' });
  await get(ref);
  const said = lines.find((l) => l['said'] === 'hello');
  t.is(said?.['component'], 'actors');
  t.is(said?.['actor'], ref.id);
  t.truthy(lines.find((l) => l['msg'] === 'actor system started' && l['component'] === 'actors'));

  const hookLines: Array<Record<string, unknown>> = [];
  const hookLogger = pino({ level: 'trace' }, { write: (s: string) => void hookLines.push(JSON.parse(s) as Record<string, unknown>) });
  const nactLog = pinoNactLogger(hookLogger, 'sys://root/x');
  nactLog.warn('careful');
  nactLog.metric('m', { v: 1 });
  nactLog.critical('bad');
  t.deepEqual(
    hookLines.map((l) => [l['level'], l['nactActor'], l['msg']]),
    [
      [40, 'sys://root/x', 'careful'],
      [30, 'sys://root/x', 'metric'],
      [60, 'sys://root/x', 'bad'],
    ],
  );
});

test('specs and the system are validated at the boundary', async (t) => {
  const logger = pino({ level: 'silent' });
  t.is(t.throws(() => createActorSystem({ nodeId: 'Bad_Node' }, { logger }), { instanceOf: QallowError })?.details['field'], 'nodeId');
  t.is(
    t.throws(() => createActorSystem({ nodeId: 'n', root: { backoff: { jitter: 2 } } }, { logger }), { instanceOf: QallowError })?.details['field'],
    'backoff.jitter',
  );
  const idle = createActorSystem({ nodeId: 'n' }, { logger });
  t.is(t.throws(() => idle.root, { instanceOf: QallowError })?.code, 'ACTOR_STOPPED');

  const { system } = await harness(t);
  const base = { initialState: { seen: [] }, handle: handler(undefined) };
  const bad = (f: () => unknown): QallowError | undefined => t.throws(f, { instanceOf: QallowError });
  t.is(bad(() => spawn<Msg, State>(system.root, { ...base, name: 'x', mailbox: { capacity: 0 } }))?.details['field'], 'mailbox.capacity');
  t.is(bad(() => spawn<Msg, State>(system.root, { ...base, name: 'x', mailbox: { capacity: 1.5 } }))?.details['field'], 'mailbox.capacity');
  t.is(bad(() => spawn<Msg, State>(system.root, { ...base, name: 'a/b', mailbox: { capacity: 1 } }))?.code, 'BAD_PARAMETER');
  spawn<Msg, State>(system.root, { ...base, name: 'dup', mailbox: { capacity: 1 } });
  t.is(bad(() => spawn<Msg, State>(system.root, { ...base, name: 'dup', mailbox: { capacity: 1 } }))?.details['field'], 'name');
  await system.root.stopChild('dup');
  // A name held by a child stopped for good can be reused.
  const again = spawn<Msg, State>(system.root, { ...base, name: 'dup', mailbox: { capacity: 1 } });
  t.deepEqual((await get(again)).seen, []);
  t.is((await t.throwsAsync(system.root.stopChild('ghost'), { instanceOf: QallowError }))?.code, 'ACTOR_NOT_FOUND');
});

test('stop() stops every actor, runs onStop with the last state, and is idempotent', async (t) => {
  const logger = pino({ level: 'silent' });
  const system = createActorSystem({ nodeId: 'n' }, { logger });
  await system.start();
  const finals: number[][] = [];
  const ref = spawn<Msg, State>(system.root, {
    name: 'keeper',
    initialState: { seen: [] },
    handle: handler(undefined),
    mailbox: { capacity: 5 },
    onStop: (s) => void finals.push([...s.seen]),
  });
  ref.tell({ type: 'add', n: 1 });
  await get(ref);
  t.true(system.running);
  await Promise.all([system.stop(), system.stop()]);
  t.false(system.running);
  t.deepEqual(finals, [[1]]);
  t.is(t.throws(() => ref.tell({ type: 'add', n: 2 }), { instanceOf: QallowError })?.code, 'ACTOR_STOPPED');
  t.is(t.throws(() => system.root, { instanceOf: QallowError })?.code, 'ACTOR_STOPPED');
  t.is(system.status().state, 'stopped');
  t.true(isQallowError(await get(ref).catch((e: unknown) => e), 'ACTOR_STOPPED'));
});

// Keep the Clock type honest: the system clock and a manual clock are interchangeable.
const clocks: Clock[] = [new ManualClock()];
void clocks;

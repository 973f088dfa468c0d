/**
 * The mailbox against a self-driven actor (issue 11, item 1): an ask that
 * times out while queued leaves the mailbox (its place is freed and it is
 * never handled), and an actor's own loop message (ActorSpec.loop) comes
 * through a reserved slot that outside traffic cannot take, coalesced to one
 * pending, and told again after a restart.
 */
import test, { type ExecutionContext } from 'ava';
import { pino } from 'pino';
import { ManualClock, createActorSystem, isEvent, spawn, type ActorSystem, type ReplyTo } from '../runtime/actors/index.js';
import { QallowError, isQallowError } from '../runtime/errors.js';

type Msg =
  | { readonly type: 'loop' }
  | { readonly type: 'block'; readonly until: Promise<void>; readonly started: () => void }
  | { readonly type: 'note'; readonly n: number }
  | { readonly type: 'get'; readonly replyTo: ReplyTo<State> }
  | { readonly type: 'fail' };

interface State {
  readonly loops: number;
  readonly notes: readonly number[];
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** `p`, or a rejection naming what did not happen within `ms` (a guard, not a wait). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer!: NodeJS.Timeout;
  const guard = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

async function system(t: ExecutionContext, clock?: ManualClock): Promise<ActorSystem> {
  const s = createActorSystem({ nodeId: 'loop-t', root: { backoff: { baseMs: 0, maxMs: 0, jitter: 0 } } }, { logger: pino({ level: 'silent' }), ...(clock ? { clock } : {}) });
  await s.start();
  t.teardown(() => s.stop());
  return s;
}

test('an ask that times out while queued frees its mailbox place and is never handled', async (t) => {
  const clock = new ManualClock();
  const sys = await system(t, clock);
  const handled: string[] = [];
  const ref = spawn<Msg, State>(sys.root, {
    name: 'busy',
    initialState: { loops: 0, notes: [] },
    mailbox: { capacity: 2 },
    async handle(s, m) {
      handled.push(m.type);
      if (m.type === 'block') {
        m.started();
        await m.until;
      }
      if (m.type === 'get') m.replyTo.reply(s);
      if (m.type === 'note') return { ...s, notes: [...s.notes, m.n] };
      return s;
    },
  });
  const g = gate();
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  ref.tell({ type: 'block', until: g.promise, started });
  await running;
  const queued = ref.ask<State>((replyTo) => ({ type: 'get', replyTo }), 100);
  t.is(ref.tryTell({ type: 'note', n: 1 }).ok, false, 'the mailbox is full: the blocked message and the queued ask');
  clock.advance(100);
  const e = await t.throwsAsync(queued, { instanceOf: QallowError });
  t.is(e?.code, 'TIMEOUT');
  t.true(ref.tryTell({ type: 'note', n: 2 }).ok, 'the timed-out ask gave its place back');
  g.open();
  await ref.whenWritable();
  const s = await ref.ask<State>((replyTo) => ({ type: 'get', replyTo }), 60_000);
  t.deepEqual(s.notes, [2]);
  t.deepEqual(handled, ['block', 'note', 'get'], 'the withdrawn ask was never handled');
  t.is(sys.metrics().actors.find((a) => a.actor === ref.id)?.mailboxDepth, 0);
});

test("an actor's own loop is never crowded out by outside traffic, and takes one place at most", async (t) => {
  const sys = await system(t);
  const target = 50;
  let reached!: () => void;
  const done = new Promise<void>((r) => (reached = r));
  let accepted = 0;
  let refused = 0;
  let maxDepth = 0;
  const ref = spawn<Msg, State>(sys.root, {
    name: 'driver',
    initialState: { loops: 0, notes: [] },
    mailbox: { capacity: 4 },
    loop: { message: { type: 'loop' } },
    handle(s, m, ctx) {
      if (m.type === 'note') return { ...s, notes: [...s.notes, m.n] };
      if (m.type === 'get') m.replyTo.reply(s);
      if (m.type !== 'loop') return s;
      // Outside traffic arriving during this step takes every place there is ...
      while (ref.tryTell({ type: 'note', n: s.loops }).ok) accepted++;
      refused++;
      maxDepth = Math.max(maxDepth, sys.metrics().actors.find((a) => a.actor === ref.id)?.mailboxDepth ?? 0);
      const loops = s.loops + 1;
      // ... and the loop's own next message still gets through (twice asked: one pending at most).
      if (loops < target) {
        ctx.continueLoop();
        ctx.continueLoop();
      } else reached();
      return { ...s, loops };
    },
  });
  await within(done, 20_000, `${target} loop steps`);
  t.is(refused, target, 'every step met a full mailbox');
  t.true(accepted >= target, `outside messages were accepted too (${accepted})`);
  t.true(maxDepth <= 4 + 1, `depth ${maxDepth}: the capacity plus the loop message being handled`);
  const s = await ref.ask<State>((replyTo) => ({ type: 'get', replyTo }), 60_000).catch(async () => {
    await ref.whenWritable();
    return ref.ask<State>((replyTo) => ({ type: 'get', replyTo }), 60_000);
  });
  t.is(s.loops, target);
});

test('a restarted self-driven actor is told its loop message again; a spec without loop cannot continueLoop', async (t) => {
  const sys = await system(t);
  let loops = 0;
  let second!: () => void;
  const again = new Promise<void>((r) => (second = r));
  const ref = spawn<Msg, State>(sys.root, {
    name: 'restarts',
    initialState: { loops: 0, notes: [] },
    mailbox: { capacity: 4 },
    loop: { message: { type: 'loop' } },
    handle(s, m) {
      if (m.type === 'fail') throw new QallowError('INTERNAL', 'on purpose');
      if (m.type === 'loop' && ++loops === 2) second();
      return s; // the loop does not continue by itself: only a start or restart tells it
    },
  });
  const restarted = sys.events.waitFor(isEvent('actor-restarted', (e) => e.actor === ref.id));
  ref.tell({ type: 'fail' });
  await restarted;
  await again;
  t.is(loops, 2, 'once at start, once after the restart');

  let thrown: unknown;
  const plain = spawn<Msg, State>(sys.root, {
    name: 'plain',
    initialState: { loops: 0, notes: [] },
    mailbox: { capacity: 4 },
    handle(s, m, ctx) {
      if (m.type === 'get') {
        try {
          ctx.continueLoop();
        } catch (e) {
          thrown = e;
        }
        m.replyTo.reply(s);
      }
      return s;
    },
  });
  await plain.ask<State>((replyTo) => ({ type: 'get', replyTo }), 60_000);
  t.true(isQallowError(thrown, 'BAD_USAGE'), String(thrown));
});

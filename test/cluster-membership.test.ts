/**
 * Failure detection and sync pulses as pure state machines (the transport
 * feeds them in the host; see the cluster tests for real processes).
 */
import test from 'ava';
import { Membership, type MembershipChange } from '../runtime/cluster/membership.js';
import { PhiAccrualDetector } from '../runtime/cluster/phi.js';
import { SyncState } from '../runtime/cluster/sync.js';

function steady(m: Membership, node: string, until: number, every = 200, incarnation = 1): number {
  let t = 0;
  for (; t <= until; t += every) m.heartbeat(node, incarnation, t);
  return t - every;
}

test('phi grows with silence and is low while heartbeats keep their rhythm', (t) => {
  const d = new PhiAccrualDetector();
  for (let now = 0; now <= 2000; now += 200) d.heartbeat(now);
  t.true(d.phi(2100) < 0.5);
  t.true(d.phi(2600) > d.phi(2400));
  t.true(d.phi(4000) > 8);
});

test('up → suspect → down on silence, within the documented times', (t) => {
  const m = new Membership(['b']);
  const changes: MembershipChange[] = [];
  m.on('change', (c) => changes.push(c));
  const last = steady(m, 'b', 4000);
  for (let now = last; now <= last + 3000; now += 10) m.evaluate(now);
  t.deepEqual(changes.map((c) => c.to), ['up', 'suspect', 'down']);
  const suspectAfter = changes[1]!.at - last;
  const downAfter = changes[2]!.at - last;
  t.true(suspectAfter >= 500 && suspectAfter <= 800, `suspect after ${suspectAfter} ms`);
  t.true(downAfter > suspectAfter && downAfter <= 1000, `down after ${downAfter} ms`);
});

test('a returning peer is up again at once; a restarted one (new incarnation) starts a fresh history', (t) => {
  const m = new Membership(['b', 'c']);
  const last = steady(m, 'b', 2000);
  m.evaluate(last + 5000);
  t.is(m.status('b'), 'down');
  m.heartbeat('b', 2, last + 6000);
  t.is(m.status('b'), 'up');
  const v = m.view(last + 6000).find((p) => p.node === 'b')!;
  t.is(v.incarnation, 2);
  t.is(v.silentMs, 0);
  t.is(m.status('c'), 'down', 'a peer never heard from stays down');
  t.false(m.heartbeat('zz', 1, 0), 'unknown peers are ignored');
});

/** Heartbeats every `every` ms from `from` to `until` (inclusive); returns the last one's time. */
function beats(d: { heartbeat(now: number): unknown }, from: number, until: number, every = 200): number {
  let t = from;
  for (; t <= until; t += every) d.heartbeat(t);
  return t - every;
}

/** The first time after `from` (10 ms steps, up to `limit` ms later) at which phi reaches `level`; null if never. */
function reaches(d: PhiAccrualDetector, from: number, level: number, limit = 60_000): number | null {
  for (let now = from; now <= from + limit; now += 10) if (d.phi(now) >= level) return now - from;
  return null;
}

test('phi: one long pause does not blunt the detector (the window is bounded against outliers)', (t) => {
  const d = new PhiAccrualDetector();
  let last = beats(d, 0, 10_000);
  // A 40 s freeze (a stopped VM), then the peer's normal rhythm again.
  last = beats(d, last + 40_000, last + 50_000);
  const down = reaches(d, last, 8);
  const suspect = reaches(d, last, 3);
  // The same ≈0.66 s / ≈0.77 s as on a link that never paused (unbounded, the 40 s sample put phi 8 at ~21 s).
  t.true(suspect !== null && suspect <= 800, `suspect after ${suspect} ms`);
  t.true(down !== null && down <= 1000, `down after ${down} ms`);
  t.true(d.maxSampleMs < 600, `largest admitted interval ${d.maxSampleMs} ms`);
});

test('a peer frozen for 40 s, back, then frozen for 20 s is marked down again within the documented time', (t) => {
  const m = new Membership(['b']);
  const changes: MembershipChange[] = [];
  m.on('change', (c) => changes.push(c));
  const tick = (from: number, until: number, f?: (now: number) => void): void => {
    for (let now = from; now <= until; now += 10) {
      if (f && now % 200 === 0) f(now);
      m.evaluate(now);
    }
  };
  const hb = (now: number): void => void m.heartbeat('b', 1, now);
  tick(0, 10_000, hb);
  tick(10_010, 50_000); // frozen 40 s (same incarnation: the process was stopped, not restarted)
  tick(50_000, 60_000, hb);
  // Back from down, its detector started afresh: it judges as one that only saw the heartbeats since.
  const fresh = new PhiAccrualDetector();
  beats(fresh, 50_000, 60_000);
  t.is(m.view(60_500)[0]!.phi, fresh.phi(60_500));
  tick(60_010, 80_000); // frozen 20 s
  t.deepEqual(changes.map((c) => c.to), ['up', 'suspect', 'down', 'up', 'suspect', 'down']);
  const [, s1, d1, , s2, d2] = changes.map((c) => c.at);
  t.true(s1! - 10_000 <= 800 && d1! - 10_000 <= 1000, `first freeze: suspect after ${s1! - 10_000} ms, down after ${d1! - 10_000} ms`);
  t.true(s2! - 60_000 <= 800, `second freeze: suspect after ${s2! - 60_000} ms`);
  t.true(d2! - 60_000 <= 1000, `second freeze: down after ${d2! - 60_000} ms`);
});

test('a slow but regular peer is not suspected', (t) => {
  const m = new Membership(['b']);
  const last = steady(m, 'b', 20_000, 500);
  for (let now = last; now < last + 500; now += 10) m.evaluate(now);
  t.is(m.status('b'), 'up');
});

test('sync: harmonic-mean cycle time, slowdown factor and tick allowance', (t) => {
  const s = new SyncState('a');
  s.receive({ node: 'b', cycleMs: 2, ticks: { r: 100 }, sentAt: 1000 });
  s.receive({ node: 'c', cycleMs: 4, ticks: { r: 90 }, sentAt: 1000 });
  // own 1 ms: H = 3 / (1 + 1/2 + 1/4) = 12/7
  t.is(s.harmonicMeanCycleMs(1, 1050), 3 / (1 + 0.5 + 0.25));
  t.is(s.slowdownFactor(1, 1050), 3 / 1.75);
  t.is(s.allowance('r', 95, 10, 1050), 5, 'may lead the slowest (90) by 10');
  t.is(s.allowance('r', 120, 10, 1050), 0);
  t.is(s.allowance('other', 5, 10, 1050), Infinity);
  // stale pulses are ignored; an older pulse never replaces a newer one
  s.receive({ node: 'c', cycleMs: 8, ticks: { r: 10 }, sentAt: 900 });
  t.is(s.allowance('r', 95, 10, 1050), 5);
  t.is(s.allowance('r', 95, 10, 5000), Infinity);
  t.is(s.harmonicMeanCycleMs(0, 5000), null);
  t.is(s.slowdownFactor(0, 5000), 1);
});

test('sync: with a liveness judge, a silent but live peer still holds a paced run back; a down one does not', (t) => {
  const s = new SyncState('a');
  const down = new Set<string>();
  s.alive = (node) => !down.has(node);
  s.receive({ node: 'b', cycleMs: 2, ticks: { r: 100 }, sentAt: 1000 });
  // b has been silent for a minute, but membership has not marked it down: its old pulse still binds
  t.is(s.allowance('r', 150, 100, 61_000), 50);
  t.deepEqual(s.peers(61_000), [{ node: 'b', runs: { r: 100 }, ageMs: 60_000 }]);
  down.add('b');
  t.is(s.allowance('r', 150, 100, 61_000), Infinity);
  t.deepEqual(s.peers(61_000), []);
  // back up: its latest pulse counts again
  down.delete('b');
  t.is(s.allowance('r', 190, 100, 61_000), 10);
});

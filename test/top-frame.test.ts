/**
 * The `qallow top` frame without a host: status decoding (the node id is
 * required, other figures read as unknown), msgs/s and new ledger entries as
 * differences between two samples, peers in the hosts table, and fitting a
 * frame to the screen's width and height.
 */
import test from 'ava';
import { isQallowError, type QallowError } from '../runtime/errors.js';
import { renderFrame, type TopSample } from '../runtime/cli/top/frame.js';
import { decodeHostStatus, type HostView } from '../runtime/cli/top/status.js';
import { duration, fit, table } from '../runtime/cli/top/table.js';

function status(processed: number, height: number, tick: number): Record<string, unknown> {
  return {
    node: 'n-a',
    uptimeMs: 3_723_000,
    cluster: { members: [{ node: 'n-b', status: 'suspect', phi: 3.5, silentMs: 700 }, { node: 'n-c', status: 'up', phi: 0.1, silentMs: 90 }] },
    governance: { validators: ['n-a', 'n-b', 'n-c'], quorum: 3, quorumAvailable: false, heads: { 'n-a': height, 'n-b': 4 }, ledger: { committed: height, commitLatencyMs: { p50: 12, p99: 80.25, last: 15, samples: 9 } } },
    pool: { threads: 2, running: 1, queued: 0, utilization: 0.5 },
    actors: [{ actor: 'qallow://n-a/runs/r1', state: 'running', processed, mailboxDepth: 2, mailboxCapacity: 64, processingP50Ms: 1.25, processingP99Ms: 9, restarts: 1 }],
    runs: [
      {
        run: 'r1', phase: 'phase13', state: 'running', tick, ticks: 1000, epoch: tick / 100,
        lastDecision: { pass: false, passed: 0, lanes: 2, minTotal: 2.5 }, lastAction: { type: 'rollback', toEpoch: 3 }, adaptations: 1, pauseReason: null,
      },
    ],
  };
}

const sample = (at: number, s: Record<string, unknown>, peers: TopSample['peers'] = new Map()): TopSample => ({ at, host: decodeHostStatus(s), peers });
const WIDE = { width: Infinity, height: Infinity };

test('a status without a node id is refused, naming the field; missing figures read as unknown', (t) => {
  const e = t.throws(() => decodeHostStatus({ runs: [] }));
  t.true(isQallowError(e, 'BAD_FRAME'));
  t.is((e as QallowError).details['field'], 'status.node');
  const v = decodeHostStatus({ node: 'old', runs: [{ run: 'x' }], actors: 'nonsense' });
  t.like(v, { node: 'old', uptimeMs: null, members: null, ledger: null, pool: null, actors: [] });
  t.like(v.runs[0], { run: 'x', tick: null, action: null, pass: null });
  const lines = renderFrame(sample(0, { node: 'old', runs: [{ run: 'x' }] }), undefined, WIDE);
  t.true(lines.some((l) => /^x\s+-\s+\?\s+\?\/\?\s+-\s+-\s+-\s+-$/.test(l)), lines.join('\n'));
});

test('rates and new ledger entries are differences between samples; runs, hosts and header carry their figures', (t) => {
  const before = sample(10_000, status(100, 7, 300));
  const now = sample(10_500, status(350, 10, 400), new Map<string, HostView | { error: string }>([['n-c', decodeHostStatus({ node: 'n-c', runs: [{ run: 'rc', state: 'running', tick: 5, ticks: 9 }] })], ['n-b', { error: 'TIMEOUT' }]]));
  const first = renderFrame(before, undefined, WIDE);
  const lines = renderFrame(now, before, WIDE);
  const find = (re: RegExp): string => lines.find((l) => re.test(l)) ?? `(no line like ${re})`;
  t.regex(lines[0]!, /^qallow top — n-a {3}up 1h02m {3}quorum 3\/3 LOST {3}pool 2 threads 1 running 0 queued 50% /);
  t.regex(find(/^qallow:\/\/n-a\/runs\/r1/), /^qallow:\/\/n-a\/runs\/r1\s+running\s+2\/64\s+500\.0\s+1\.3\s+9\.0\s+1$/, '250 messages in 0.5 s');
  t.regex(first.find((l) => l.startsWith('qallow://n-a/runs/r1'))!, /\s+-\s+1\.3/, 'no rate from a single sample');
  t.regex(find(/^r1 /), /^r1\s+phase13\s+running\s+400\/1000\s+4\s+2\.5\s+fail 0\/2\s+rollback→e3\s+1 adaptation$/);
  t.regex(find(/^n-a {2}/), /^n-a\s+self\s+-\s+-\s+1 run: r1 running 400\/1000$/);
  t.regex(find(/^n-b /), /^n-b\s+suspect\s+3\.50\s+700 ms\s+unreachable: TIMEOUT$/);
  t.regex(find(/^n-c /), /^n-c\s+up\s+0\.10\s+90 ms\s+1 run: rc running 5\/9$/);
  t.regex(find(/^LEDGER/), /10 committed by this host {3}commit latency p50 12\.0 ms {2}p99 80\.3 ms {2}last 15\.0 ms/);
  t.regex(find(/^n-a\s+10\s/), /^n-a\s+10\s+\+3$/, '3 new entries of n-a since the last frame');
  t.regex(find(/^n-b\s+4\s/), /^n-b\s+4\s+\+0$/);
});

test('a frame fits the screen: lines cut with …, and a short screen drops the tail with a note', (t) => {
  const s = sample(0, status(1, 1, 100));
  const all = renderFrame(s, undefined, WIDE);
  const narrow = renderFrame(s, undefined, { width: 30, height: Infinity });
  t.is(narrow.length, all.length);
  for (const l of narrow) t.true([...l].length <= 30, l);
  t.true(narrow[0]!.endsWith('…'));
  const short = renderFrame(s, undefined, { width: 200, height: 8 });
  t.is(short.length, 8);
  t.deepEqual(short.slice(0, 7), all.slice(0, 7));
  t.is(short[7], `… ${all.length - 7} more lines (a taller terminal shows them)`);
  t.is(fit('abcdef', 3), 'ab…');
  t.is(fit('abc', 3), 'abc');
  t.deepEqual(table([{ title: 'A' }, { title: 'N', align: 'right' }, { title: 'Z' }], [['x', '5', 'last'], ['yy', '10', '']]), ['A    N  Z', 'x    5  last', 'yy  10']);
  t.deepEqual([45_000, 725_000, 11_220_000, 190_000_000].map(duration), ['45s', '12m05s', '3h07m', '2d04h']);
});

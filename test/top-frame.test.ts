/**
 * The `qallow top` frame without a host: status decoding (through the
 * admin client's decoder: a malformed reply is refused naming the field;
 * figures a stored run lacks read as unknown), msgs/s and new ledger entries as
 * differences between two samples, peers in the hosts table, and fitting a
 * frame to the screen's width and height.
 */
import test from 'ava';
import { isQallowError, type QallowError } from '../runtime/errors.js';
import { renderFrame, type TopSample } from '../runtime/cli/top/frame.js';
import { decodeHostStatus, type HostView } from '../runtime/cli/top/status.js';
import { duration, fit, table } from '../runtime/cli/top/table.js';
import type { StatusReply } from '../runtime/admin/replies.js';
import { LIVE_RUN, STATUS, STORED_RUN } from './helpers/admin-replies.js';

function status(processed: number, height: number, tick: number): StatusReply {
  const gov = STATUS.governance!;
  return {
    ...STATUS,
    governance: { ...gov, heads: { 'n-a': height, 'n-b': 4 }, ledger: { ...gov.ledger, committed: height } },
    actors: [{ ...STATUS.actors[0]!, processed }],
    runs: [{ ...LIVE_RUN, tick, epoch: tick / 100 }],
  };
}

/** A host without cluster, ledger or pool figures. */
const BARE: StatusReply = { ...STATUS, cluster: null, governance: null, pool: null, tree: null, actors: [], runs: [] };

const sample = (at: number, s: unknown, peers: TopSample['peers'] = new Map()): TopSample => ({ at, host: decodeHostStatus(s), peers });
const WIDE = { width: Infinity, height: Infinity };

test('a status without a node id is refused, naming the field; figures a stored run lacks read as unknown', (t) => {
  const e = t.throws(() => decodeHostStatus({ runs: [] }));
  t.true(isQallowError(e, 'BAD_FRAME'));
  t.is((e as QallowError).details['field'], 'status.node');
  const bad = t.throws(() => decodeHostStatus({ ...BARE, actors: 'nonsense' }));
  t.is((bad as QallowError).details['field'], 'status.actors');
  const old = { ...BARE, node: 'old', runs: [{ ...STORED_RUN, run: 'x' }] };
  const v = decodeHostStatus(old);
  t.like(v, { node: 'old', members: null, ledger: null, pool: null, actors: [] });
  t.like(v.runs[0], { run: 'x', phase: '-', ticks: null, action: null, pass: null, minTotal: null });
  const lines = renderFrame(sample(0, old), undefined, WIDE);
  t.true(lines.some((l) => /^x\s+-\s+done\s+90\/\?\s+9\s+-\s+-\s+-$/.test(l)), lines.join('\n'));
});

test('rates and new ledger entries are differences between samples; runs, hosts and header carry their figures', (t) => {
  const before = sample(10_000, status(100, 7, 300));
  const now = sample(10_500, status(350, 10, 400), new Map<string, HostView | { error: string }>([['n-c', decodeHostStatus({ ...BARE, node: 'n-c', runs: [{ ...LIVE_RUN, run: 'rc', state: 'running', tick: 5, ticks: 9 }] })], ['n-b', { error: 'TIMEOUT' }]]));
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

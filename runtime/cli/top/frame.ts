/**
 * One frame of `qallow top`, from the newest sample and the one before it
 * (rates are differences between the two): a pure function of its inputs,
 * so the terminal side only decides where the lines go.
 *
 *   qallow top — gov-a  up 3m12s  quorum 3/4 available  pool 1 threads 0 running 0 queued 12%   12:00:01
 *   hosts       node, membership state, phi, silence, its runs (peers: when --peer-data reaches them)
 *   runs        run, phase, state, tick/ticks, epoch, E, last decision, governor action
 *   ledger      height per origin (+ new since the last frame), commit latency p50/p99/last
 *   actors      actor, state, mailbox depth/capacity, msgs/s, p50/p99 ms, restarts
 *
 * Actors come last because they are the longest table: on a short screen it
 * is their tail that is cut (with a line saying how much), not the runs.
 */
import { formatG } from '../../format.js';
import type { HostView, RunView } from './status.js';
import { duration, fit, fixed, table } from './table.js';

export interface TopSample {
  /** When the status arrived (ms, the CLI's clock): rates divide by differences of this. */
  readonly at: number;
  readonly host: HostView;
  /** Peer statuses by node id (from --peer-data), or why one could not be read. */
  readonly peers: ReadonlyMap<string, HostView | { readonly error: string }>;
  /** The newest refresh failed (the frame shows the last good sample and this). */
  readonly error?: string | undefined;
}

export interface FrameOptions {
  /** Screen width; lines longer are cut. Infinity: never cut (a pipe). */
  readonly width: number;
  /** Screen height; later lines are dropped. Infinity: keep all. */
  readonly height: number;
  /** Shown in the header: how to leave. */
  readonly hint?: string | undefined;
}

function runsSummary(runs: readonly RunView[]): string {
  if (runs.length === 0) return 'no runs';
  const live = runs.filter((r) => r.state !== 'done' && r.state !== 'cancelled' && r.state !== 'halted');
  const shown = (live.length > 0 ? live : runs).slice(0, 3).map((r) => `${r.run} ${r.state} ${r.tick ?? '?'}/${r.ticks ?? '?'}`);
  const rest = runs.length - shown.length;
  return `${runs.length} run${runs.length === 1 ? '' : 's'}: ${shown.join(', ')}${rest > 0 ? ` (+${rest})` : ''}`;
}

function header(s: TopSample, o: FrameOptions): string {
  const h = s.host;
  const parts = [`qallow top — ${h.node}`];
  if (h.uptimeMs !== null) parts.push(`up ${duration(h.uptimeMs)}`);
  // A host without a cluster still keeps a ledger of its own (quorum 1/1).
  if (h.members === null) parts.push('no cluster');
  if (h.ledger) parts.push(`quorum ${h.ledger.quorum}/${h.ledger.validators} ${h.ledger.quorumAvailable ? 'available' : 'LOST'}`);
  if (h.pool) parts.push(`pool ${h.pool.threads ?? '?'} threads ${h.pool.running ?? '?'} running ${h.pool.queued ?? '?'} queued ${fixed((h.pool.utilization ?? NaN) * 100, 0)}%`);
  parts.push(new Date(s.at).toISOString().slice(11, 19));
  if (o.hint) parts.push(o.hint);
  return parts.join('   ');
}

function hosts(s: TopSample): string[] {
  const rows: string[][] = [[s.host.node, 'self', '-', '-', runsSummary(s.host.runs)]];
  for (const m of s.host.members ?? []) {
    const peer = s.peers.get(m.node);
    const runs = peer === undefined ? '' : 'error' in peer ? `unreachable: ${peer.error}` : runsSummary(peer.runs);
    rows.push([m.node, m.status, fixed(m.phi, 2), m.silentMs === null ? '-' : `${m.silentMs} ms`, runs]);
  }
  // Hosts named with --peer-data that this host does not count as members (or that could not be read).
  const members = new Set((s.host.members ?? []).map((m) => m.node));
  for (const [node, peer] of s.peers) {
    if (members.has(node) || node === s.host.node) continue;
    // A peer that could not be read is known only by its directory: show the path's end, which names it.
    const name = node.includes('/') && node.length > 24 ? `…${node.slice(-23)}` : node;
    rows.push([name, 'not a member', '-', '-', 'error' in peer ? `unreachable: ${peer.error}` : runsSummary(peer.runs)]);
  }
  return table([{ title: 'HOST', max: 24 }, { title: 'STATE' }, { title: 'PHI', align: 'right' }, { title: 'SILENT', align: 'right' }, { title: 'RUNS' }], rows);
}

function actors(s: TopSample, prev: TopSample | undefined): string[] {
  const dt = prev ? (s.at - prev.at) / 1000 : 0;
  const before = new Map(prev?.host.actors.map((a) => [a.actor, a.processed]) ?? []);
  const rows = s.host.actors.map((a) => {
    const p0 = before.get(a.actor);
    const rate = dt > 0 && p0 !== undefined && p0 !== null && a.processed !== null && a.processed >= p0 ? (a.processed - p0) / dt : null;
    return [
      a.actor,
      a.state,
      `${a.mailboxDepth ?? '?'}/${a.mailboxCapacity ?? '?'}`,
      fixed(rate, 1),
      fixed(a.p50Ms, 1),
      fixed(a.p99Ms, 1),
      String(a.restarts ?? '-'),
    ];
  });
  return table(
    [
      { title: 'ACTOR', max: 40 },
      { title: 'STATE' },
      { title: 'MAILBOX', align: 'right' },
      { title: 'MSG/S', align: 'right' },
      { title: 'P50 MS', align: 'right' },
      { title: 'P99 MS', align: 'right' },
      { title: 'RESTARTS', align: 'right' },
    ],
    rows,
  );
}

function runs(s: TopSample): string[] {
  const rows = s.host.runs.map((r) => [
    r.run,
    r.phase,
    r.pauseReason ? `${r.state} (${r.pauseReason})` : r.state,
    `${r.tick ?? '?'}/${r.ticks ?? '?'}`,
    r.epoch === null ? '-' : String(r.epoch),
    r.minTotal === null ? '-' : formatG(r.minTotal, 6),
    r.pass === null ? '-' : `${r.pass ? 'pass' : 'fail'} ${r.passed}/${r.lanes}`,
    r.action ?? '-',
    r.adaptations ? `${r.adaptations} adaptation${r.adaptations === 1 ? '' : 's'}` : '',
  ]);
  if (rows.length === 0) return ['RUN', '(no runs)'];
  return table(
    [
      { title: 'RUN', max: 28 },
      { title: 'PHASE' },
      { title: 'STATE' },
      { title: 'TICK/TICKS', align: 'right' },
      { title: 'EPOCH', align: 'right' },
      { title: 'E', align: 'right' },
      { title: 'DECISION' },
      { title: 'ACTION' },
      { title: '' },
    ],
    rows,
  );
}

function ledger(s: TopSample, prev: TopSample | undefined): string[] {
  const l = s.host.ledger;
  if (!l) return ['LEDGER  (this host keeps no ledger)'];
  const lat = l.latency;
  const latency = lat ? `commit latency p50 ${fixed(lat.p50, 1)} ms  p99 ${fixed(lat.p99, 1)} ms  last ${fixed(lat.last, 1)} ms` : 'commit latency -';
  const out = [`LEDGER  ${l.committed ?? '?'} committed by this host   ${latency}`];
  const before = prev?.host.ledger?.heads;
  const rows = Object.entries(l.heads).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([origin, h]) => {
    const was = before?.[origin];
    return [origin, String(h), was === undefined ? '' : `+${h - was}`];
  });
  out.push(...table([{ title: 'ORIGIN', max: 24 }, { title: 'HEIGHT', align: 'right' }, { title: 'NEW', align: 'right' }], rows));
  return out;
}

export function renderFrame(s: TopSample, prev: TopSample | undefined, o: FrameOptions): string[] {
  const lines = [header(s, o)];
  if (s.error) lines.push(`! ${s.error} (showing the last good refresh)`);
  lines.push('', ...hosts(s), '', ...runs(s), '', ...ledger(s, prev), '', ...actors(s, prev));
  if (lines.length > o.height) {
    const keep = Math.max(1, o.height - 1);
    lines.splice(keep, lines.length - keep, `… ${lines.length - keep} more lines (a taller terminal shows them)`);
  }
  return lines.map((l) => (Number.isFinite(o.width) ? fit(l, o.width) : l));
}

/** `qallow status`: the host's runs, actor tree with restarts, mailbox depths and pool. */
import { Command } from '@commander-js/extra-typings';
import { adminCall, withTarget } from '../target.js';
import { writeLine, type CliIO } from '../io.js';
import { runsTable } from './runs.js';

interface TreeNode {
  name?: string;
  kind?: string;
  state?: string;
  restarts?: number;
  children?: TreeNode[];
}

function renderTree(n: TreeNode, depth: number, out: string[]): void {
  out.push(`${'  '.repeat(depth)}${n.name ?? '?'}${n.kind ? ` [${n.kind}]` : ''} ${n.state ?? ''}${n.restarts ? ` restarts=${n.restarts}` : ''}`);
  for (const c of n.children ?? []) renderTree(c, depth + 1, out);
}

export function statusCommand(io: CliIO): Command {
  return withTarget(new Command('status').description('members, actor tree, mailbox depths, restarts, runs')).action(async (o) => {
    const s = (await adminCall(o, { type: 'status' })) as Record<string, unknown>;
    if (o.json) return writeLine(io.stdout, JSON.stringify(s));
    writeLine(io.stdout, `node ${String(s['node'])} (pid ${String(s['pid'])}), admin ${String(s['admin'])}`);
    const cluster = s['cluster'] as {
      endpoint: string;
      members: Array<Record<string, unknown>>;
      harmonicMeanCycleMs: number | null;
      slowdownFactor: number;
      paced?: Array<{ node: string; runs: Record<string, number>; ageMs: number }>;
    } | null;
    if (cluster) {
      writeLine(io.stdout, `cluster ${cluster.endpoint}: harmonic-mean cycle ${cluster.harmonicMeanCycleMs === null ? '-' : `${cluster.harmonicMeanCycleMs.toFixed(3)} ms/tick`}, slowdown ×${cluster.slowdownFactor.toFixed(2)}`);
      for (const m of cluster.members) {
        writeLine(io.stdout, `  member ${String(m['node']).padEnd(16)} ${String(m['status']).padEnd(8)} phi ${Number(m['phi']).toFixed(2).padStart(6)}  silent ${m['silentMs'] === null ? '-' : `${String(m['silentMs'])} ms`}`);
      }
      // The paced runs each live peer's pulses name: the runs that hold this host's paced runs of the same id back.
      for (const p of cluster.paced ?? []) {
        const runs = Object.entries(p.runs);
        if (runs.length > 0) writeLine(io.stdout, `  paced on ${p.node}: ${runs.map(([r, tick]) => `${r} at tick ${tick}`).join(', ')} (pulse ${p.ageMs} ms ago)`);
      }
    }
    const gov = s['governance'] as {
      validators: string[];
      quorum: number;
      quorumAvailable: boolean;
      heads: Record<string, number>;
      ledger: { committed: number; queued: number; inFlight: number; commitLatencyMs: { p50: number; p99: number } | null };
      validator: { votes: number; refused: number; refusedBy: Record<string, number> };
    } | null;
    if (gov) {
      const lat = gov.ledger.commitLatencyMs;
      writeLine(io.stdout, `governance: quorum ${gov.quorum} of ${gov.validators.length} validators (${gov.validators.join(', ')}), ${gov.quorumAvailable ? 'available' : 'UNAVAILABLE: runs pause at their next epoch'}`);
      writeLine(io.stdout, `  ledger heads ${Object.entries(gov.heads).map(([o, h]) => `${o}#${h}`).join(' ') || '(empty)'}; this origin: ${gov.ledger.committed} committed, ${gov.ledger.inFlight} in flight, ${gov.ledger.queued} queued${lat ? `; commit p50 ${lat.p50.toFixed(1)} ms p99 ${lat.p99.toFixed(1)} ms` : ''}`);
      const refused = Object.entries(gov.validator.refusedBy).map(([o, n]) => `${o}×${n}`).join(' ');
      writeLine(io.stdout, `  validator: ${gov.validator.votes} votes given, ${gov.validator.refused} proposals refused${refused ? ` (${refused})` : ''}`);
    }
    const pool = s['pool'] as Record<string, number> | null;
    if (pool) writeLine(io.stdout, `pool: ${pool['threads']} threads, ${pool['running']} running, ${pool['queued']} queued, ${pool['completed']} done, ${pool['crashed']} crashed, utilisation ${(100 * (pool['utilization'] ?? 0)).toFixed(0)}%`);
    writeLine(io.stdout, 'actors:');
    for (const a of (s['actors'] as Array<Record<string, unknown>>) ?? []) {
      writeLine(io.stdout, `  ${String(a['actor']).padEnd(40)} ${String(a['state']).padEnd(10)} mailbox ${a['mailboxDepth']}/${a['mailboxCapacity']}  processed ${a['processed']}  p99 ${Number(a['processingP99Ms']).toFixed(1)} ms  restarts ${a['restarts']}`);
    }
    const tree = s['tree'] as TreeNode | null;
    if (tree) {
      const lines: string[] = [];
      renderTree(tree, 1, lines);
      writeLine(io.stdout, 'supervision tree:');
      for (const l of lines) writeLine(io.stdout, l);
    }
    writeLine(io.stdout, 'runs:');
    for (const l of runsTable(s['runs'] as Array<Record<string, unknown>>)) writeLine(io.stdout, `  ${l}`);
  });
}

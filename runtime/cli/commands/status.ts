/** `qallow status`: the host's runs, actor tree with restarts, mailbox depths and pool. */
import { Command } from '@commander-js/extra-typings';
import { adminCall, withTarget } from '../target.js';
import { writeLine, type CliIO } from '../io.js';
import { runsTable } from './runs.js';
import type { TreeReport } from '../../admin/replies.js';

function renderTree(n: TreeReport, depth: number, out: string[]): void {
  out.push(`${'  '.repeat(depth)}${n.name} [${n.kind}] ${n.state}${n.restarts ? ` restarts=${n.restarts}` : ''}`);
  if (n.kind === 'supervisor') for (const c of n.children) renderTree(c, depth + 1, out);
}

export function statusCommand(io: CliIO): Command {
  return withTarget(new Command('status').description('members, actor tree, mailbox depths, restarts, runs')).action(async (o) => {
    const s = await adminCall(o, { type: 'status' });
    if (o.json) return writeLine(io.stdout, JSON.stringify(s));
    writeLine(io.stdout, `node ${s.node} (pid ${s.pid}), admin ${String(s.admin)}`);
    const cluster = s.cluster;
    if (cluster) {
      writeLine(io.stdout, `cluster ${cluster.endpoint}: harmonic-mean cycle ${cluster.harmonicMeanCycleMs === null ? '-' : `${cluster.harmonicMeanCycleMs.toFixed(3)} ms/tick`}, slowdown ×${cluster.slowdownFactor.toFixed(2)}`);
      for (const m of cluster.members) {
        writeLine(io.stdout, `  member ${m.node.padEnd(16)} ${m.status.padEnd(8)} phi ${m.phi.toFixed(2).padStart(6)}  silent ${m.silentMs === null ? '-' : `${m.silentMs} ms`}`);
      }
      // The paced runs each live peer's pulses name: the runs that hold this host's paced runs of the same id back.
      for (const p of cluster.paced) {
        const runs = Object.entries(p.runs);
        if (runs.length > 0) writeLine(io.stdout, `  paced on ${p.node}: ${runs.map(([r, tick]) => `${r} at tick ${tick}`).join(', ')} (pulse ${p.ageMs} ms ago)`);
      }
    }
    const gov = s.governance;
    if (gov) {
      const lat = gov.ledger.commitLatencyMs;
      writeLine(io.stdout, `governance: quorum ${gov.quorum} of ${gov.validators.length} validators (${gov.validators.join(', ')}), ${gov.quorumAvailable ? 'available' : 'UNAVAILABLE: runs pause at their next epoch'}`);
      writeLine(io.stdout, `  ledger heads ${Object.entries(gov.heads).map(([o, h]) => `${o}#${h}`).join(' ') || '(empty)'}; this origin: ${gov.ledger.committed} committed, ${gov.ledger.inFlight} in flight, ${gov.ledger.queued} queued${lat ? `; commit p50 ${lat.p50.toFixed(1)} ms p99 ${lat.p99.toFixed(1)} ms` : ''}`);
      const refused = Object.entries(gov.validator.refusedBy).map(([o, n]) => `${o}×${n}`).join(' ');
      writeLine(io.stdout, `  validator: ${gov.validator.votes} votes given, ${gov.validator.refused} proposals refused${refused ? ` (${refused})` : ''}`);
    }
    const pool = s.pool;
    if (pool) writeLine(io.stdout, `pool: ${pool.threads} threads, ${pool.running} running, ${pool.queued} queued, ${pool.completed} done, ${pool.crashed} crashed, utilisation ${(100 * pool.utilization).toFixed(0)}%`);
    writeLine(io.stdout, 'actors:');
    for (const a of s.actors) {
      writeLine(io.stdout, `  ${a.actor.padEnd(40)} ${a.state.padEnd(10)} mailbox ${a.mailboxDepth}/${a.mailboxCapacity}  processed ${a.processed}  p99 ${a.processingP99Ms.toFixed(1)} ms  restarts ${a.restarts}`);
    }
    if (s.tree) {
      const lines: string[] = [];
      renderTree(s.tree, 1, lines);
      writeLine(io.stdout, 'supervision tree:');
      for (const l of lines) writeLine(io.stdout, l);
    }
    writeLine(io.stdout, 'runs:');
    for (const l of runsTable(s.runs)) writeLine(io.stdout, `  ${l}`);
  });
}

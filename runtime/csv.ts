/**
 * CSV output of the phases, with the original's column names (SPEC §2). One
 * strand or ring: exactly the original's columns. Several: a leading 0-based
 * `strand` or `ring` column, rows ordered by tick then strand or ring.
 */
import type { RowBlock } from '../kernels/rows.js';
import { formatG9 } from './format.js';

export const PHASE12_COLUMNS = ['tick', 'coherence', 'entropy', 'decoherence', 'sustainability', 'compassion', 'harmony', 'ethics_total', 'audit_tag'] as const;
export const PHASE13_COLUMNS = ['tick', 'avg_coherence', 'phase_drift', 'phase_energy', 'sustainability', 'compassion', 'harmony', 'ethics_total', 'audit_tag'] as const;

export function csvHeader(phase: 'phase12' | 'phase13', lanes: number): string {
  const cols: readonly string[] = phase === 'phase12' ? PHASE12_COLUMNS : PHASE13_COLUMNS;
  const lead = lanes > 1 ? [phase === 'phase12' ? 'strand' : 'ring'] : [];
  return [...lead, ...cols].join(',') + '\n';
}

/** The audit tag is written quoted, as the original did; embedded quotes are doubled. */
export function quoteTag(tag: string): string {
  return `"${tag.replace(/"/g, '""')}"`;
}

/** CSV lines for every row of an epoch block; `firstTick` is the 1-based tick of its first row. */
export function csvRows(rows: RowBlock, firstTick: number, auditTag: string): string {
  const tag = quoteTag(auditTag);
  const multi = rows.lanes > 1;
  const out: string[] = [];
  const v = rows.values;
  for (let t = 0; t < rows.ticks; t++) {
    for (let j = 0; j < rows.lanes; j++) {
      const o = rows.offset(t, j);
      const total = v[o + 3]! + v[o + 4]! + v[o + 5]!;
      const cells = [
        String(firstTick + t),
        formatG9(v[o]!),
        formatG9(v[o + 1]!),
        formatG9(v[o + 2]!),
        formatG9(v[o + 3]!),
        formatG9(v[o + 4]!),
        formatG9(v[o + 5]!),
        formatG9(total),
        tag,
      ];
      out.push((multi ? `${j},` : '') + cells.join(','));
    }
  }
  return out.length ? out.join('\n') + '\n' : '';
}

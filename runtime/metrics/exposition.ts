/**
 * A reader of the Prometheus text exposition format (version 0.0.4), enough
 * for what /metrics serves: `# HELP`/`# TYPE` comments, `name{l="v",...} value`
 * samples with escaped label values, and NaN/+Inf/-Inf. For tests and tools
 * that scrape a host; malformed lines throw, naming the line.
 */
import { QallowError } from '../errors.js';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

/** Prometheus reads values with Go's ParseFloat: NaN and Inf in any case (prom-client writes `Nan`). */
function number(text: string): number | undefined {
  if (/^[+-]?nan$/i.test(text)) return NaN;
  if (/^[+-]?inf(inity)?$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : undefined;
}

export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const bad = (why: string): QallowError => new QallowError('BAD_ENCODING', `exposition line ${i + 1}: ${why}: ${line.slice(0, 120)}`, { line: i + 1 });
    const name = NAME.exec(line)?.[0];
    if (!name) throw bad('no metric name');
    let pos = name.length;
    const labels: Record<string, string> = {};
    if (line[pos] === '{') {
      pos++;
      while (line[pos] !== '}') {
        const key = NAME.exec(line.slice(pos))?.[0];
        if (!key || line[pos + key.length] !== '=' || line[pos + key.length + 1] !== '"') throw bad('bad label');
        pos += key.length + 2;
        let v = '';
        for (;;) {
          const ch = line[pos++];
          if (ch === undefined) throw bad('unterminated label value');
          if (ch === '"') break;
          if (ch === '\\') {
            const esc = line[pos++];
            v += esc === 'n' ? '\n' : esc === '\\' ? '\\' : esc === '"' ? '"' : `\\${esc ?? ''}`;
          } else v += ch;
        }
        labels[key] = v;
        if (line[pos] === ',') pos++;
        else if (line[pos] !== '}') throw bad('expected , or }');
      }
      pos++;
    }
    const rest = line.slice(pos).trim().split(/\s+/);
    const valueText = rest[0] ?? '';
    const value = number(valueText);
    if (value === undefined) throw bad(`bad value "${valueText}"`);
    out.push({ name, labels, value });
  });
  return out;
}

/** The value of the one sample of `name` whose labels include `labels`; undefined if none. */
export function sampleValue(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length > 1) throw new QallowError('BAD_USAGE', `${hits.length} samples of ${name} match ${JSON.stringify(labels)}; name more labels`, { name });
  return hits[0]?.value;
}

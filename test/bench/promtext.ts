// Counters from the Prometheus text format, summed by chosen labels, and the difference of two scrapes. Used for the
// apiserver's apiserver_request_total and each controller's own request counter.

export type Counts = Map<string, number>;

export function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) out[m[1] ?? ''] = (m[2] ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  return out;
}

/** Sums the samples of `metric`, keyed by `key(labels)`; a sample whose key is undefined is skipped. */
export function sumBy(text: string, metric: string, key: (labels: Record<string, string>) => string | undefined): Counts {
  const out: Counts = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric) || (line[metric.length] !== '{' && line[metric.length] !== ' ')) continue;
    const close = line.lastIndexOf('}');
    const labels = line[metric.length] === '{' ? parseLabels(line.slice(metric.length + 1, close)) : {};
    const value = Number(line.slice((close >= 0 ? close : metric.length) + 1).trim().split(' ')[0]);
    const k = key(labels);
    if (k === undefined || !Number.isFinite(value)) continue;
    out.set(k, (out.get(k) ?? 0) + value);
  }
  return out;
}

export function diff(after: Counts, before: Counts): Counts {
  const out: Counts = new Map();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d !== 0) out.set(k, d);
  }
  return out;
}

export const total = (c: Counts, keep: (k: string) => boolean = () => true): number => [...c].filter(([k]) => keep(k)).reduce((s, [, v]) => s + v, 0);

/** Write verbs as the apiserver labels them (APPLY is server-side apply) and as client-go's metrics name them. */
export const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION', 'CREATE', 'UPDATE']);

/** apiserver_request_total keyed "<resource>[/<subresource>] <VERB>", writes only. */
export function apiserverWrites(text: string): Counts {
  return sumBy(text, 'apiserver_request_total', (l) => {
    const verb = (l.verb ?? '').toUpperCase();
    if (!WRITE_VERBS.has(verb)) return undefined;
    const group = l.group === undefined || l.group === '' ? '' : `.${l.group}`;
    return `${l.resource ?? '?'}${group}${l.subresource ? `/${l.subresource}` : ''} ${verb}`;
  });
}

// Which histogram bucket edge the latency judge counts "slow" requests above: the edge at or above stable's observed
// p99 (read from the buckets, no interpolation), or an SLO edge the user names, which must be a real bucket edge so
// the counts are exact. Pure.
import { JudgeSettingsError } from './errors.ts';

/**
 * The smallest finite edge whose cumulative count reaches q of the total: the bucket holding stable's q-quantile,
 * read as its upper bound. `edges` ascending (finite `le` values), `cumulative` the counts per edge plus +Inf last.
 * Undefined with no observations, or when the quantile lies in the +Inf bucket (no finite edge above it).
 */
export function edgeAtOrAboveQuantile(edges: readonly number[], cumulative: readonly number[], q = 0.99): number | undefined {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (!(total > 0) || cumulative.length !== edges.length + 1) return undefined;
  const i = edges.findIndex((_, k) => (cumulative[k] ?? 0) >= q * total);
  return i < 0 ? undefined : edges[i];
}

/** A user-named SLO edge, checked against the histogram's edges (error naming the field and the edges it could be). */
export function checkedEdge(edges: readonly number[], edge: number, field = 'latency.edge'): number {
  const hit = edges.find((e) => Math.abs(e - edge) <= 1e-9 * Math.max(1, Math.abs(e)));
  if (hit === undefined) {
    throw new JudgeSettingsError([`${field} ${edge} is not a bucket edge of the histogram (its edges: ${edges.join(', ')})`]);
  }
  return hit;
}

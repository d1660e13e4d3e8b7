// The AnalysisRun history of a Rollout, bounded as Argo bounds it (spec.analysis.successfulRunHistoryLimit and
// unsuccessfulRunHistoryLimit, 5 each by default): the finished runs of past revisions beyond the limits, oldest first
// to go. Without it every revision left its runs behind for good, and the operator's cache of them (and its memory,
// as the soak in test/chaos/soak showed) grew with every rollout. Pure.
import { ROLLOUT_DEFAULTS, type RolloutSpec } from '../api/rollout/schema.ts';
import type { AnalysisRunObject } from './analysis.ts';
import { POD_TEMPLATE_HASH_LABEL } from './hash.ts';

const UNSUCCESSFUL = new Set(['Failed', 'Error', 'Inconclusive']);

/**
 * The runs to delete: owned by the Rollout (`rolloutUid`), finished, of a revision other than the current one (the
 * engines read the current revision's runs; those are retried or replaced through the engines), not already being
 * deleted, and beyond the newest `limit` of their class (by creation time, then name).
 */
export function runsBeyondHistory(runs: readonly AnalysisRunObject[], rolloutUid: string, templateHash: string, limits: RolloutSpec['analysis']): { name: string; uid: string }[] {
  const keep = { successful: limits?.successfulRunHistoryLimit ?? ROLLOUT_DEFAULTS.successfulRunHistoryLimit, unsuccessful: limits?.unsuccessfulRunHistoryLimit ?? ROLLOUT_DEFAULTS.unsuccessfulRunHistoryLimit };
  const finished = runs.filter((r) => {
    const m = r.metadata;
    if (m?.ownerReferences?.some((o) => o.uid === rolloutUid) !== true || m.deletionTimestamp !== undefined) return false;
    if (m.labels?.[POD_TEMPLATE_HASH_LABEL] === templateHash || m.name === undefined || m.uid === undefined) return false;
    return r.status?.phase === 'Successful' || UNSUCCESSFUL.has(r.status?.phase ?? '');
  });
  const newestFirst = [...finished].sort((a, b) => (b.metadata?.creationTimestamp ?? '').localeCompare(a.metadata?.creationTimestamp ?? '') || (b.metadata?.name ?? '').localeCompare(a.metadata?.name ?? ''));
  const seen = { successful: 0, unsuccessful: 0 };
  const out: { name: string; uid: string }[] = [];
  for (const r of newestFirst) {
    const cls = r.status?.phase === 'Successful' ? 'successful' : 'unsuccessful';
    if (++seen[cls] > keep[cls]) out.push({ name: r.metadata!.name!, uid: r.metadata!.uid! });
  }
  return out;
}

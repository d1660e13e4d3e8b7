// Revision numbers of a Rollout's ReplicaSets: Argo's `rollout.argoproj.io/revision` annotation, stamped by the
// operator when it creates a ReplicaSet (one more than the highest of the Rollout's ReplicaSets), read by
// `kubectl sluice get rollout` and `undo --to-revision`. Stable: deleting old ReplicaSets (revisionHistoryLimit)
// renumbers nothing. Pure.

/** Argo Rollouts' name, so Argo tooling reads the same numbers. */
export const REVISION_ANNOTATION = 'rollout.argoproj.io/revision';

interface Revisioned {
  metadata?: { annotations?: Record<string, string>; creationTimestamp?: string; name?: string };
}

/** The annotation's number, if it carries a positive integer. */
export function annotatedRevision(rs: Revisioned): number | undefined {
  const v = rs.metadata?.annotations?.[REVISION_ANNOTATION];
  return v !== undefined && /^[1-9]\d*$/.test(v) ? Number(v) : undefined;
}

/** Oldest first; a stable sort, so ReplicaSets created in the same second keep the order they were given in. */
const byCreation = (a: Revisioned, b: Revisioned): number => (a.metadata?.creationTimestamp ?? '').localeCompare(b.metadata?.creationTimestamp ?? '');

/**
 * Each ReplicaSet's revision, by name: the annotation when it has one; a ReplicaSet without it (created before the
 * operator stamped revisions) gets its position among the Rollout's ReplicaSets by creation, oldest = 1.
 */
export function revisionsOf(replicaSets: readonly Revisioned[]): Map<string, number> {
  return new Map([...replicaSets].sort(byCreation).map((rs, i) => [rs.metadata?.name ?? '', annotatedRevision(rs) ?? i + 1]));
}

/** The revision of a ReplicaSet created now: one more than the highest of the Rollout's existing ones. */
export function nextRevision(replicaSets: readonly Revisioned[]): number {
  return Math.max(0, ...revisionsOf(replicaSets).values()) + 1;
}

// ReplicaSet housekeeping both strategies share: retiring old revisions after their scale-down delay, keeping
// revisionHistoryLimit of them, restartAt's evictions, and Kubernetes' surge rule. Pure.
import { resolveIntOrPercent, type IntOrString } from '../../api/common/int-or-string.ts';
import { ROLLOUT_DEFAULTS, type RolloutStatus } from '../../api/rollout/schema.ts';
import type { Action, ObservedBase, ReplicaSetView } from './types.ts';

/** A finder for the ReplicaSet of a revision hash. */
export const byHashIn =
  (replicaSets: readonly ReplicaSetView[]) =>
  (h: string | undefined): ReplicaSetView | undefined =>
    h === undefined ? undefined : replicaSets.find((r) => r.hash === h);

/** The earliest of the delays a decision asks to be reconciled again after (`next()` undefined: none asked). */
export function wakeups(): { wake: (ms: number) => void; next: () => number | undefined } {
  let earliest: number | undefined;
  return {
    wake: (ms) => {
      earliest = earliest === undefined ? Math.max(0, ms) : Math.min(earliest, Math.max(0, ms));
    },
    next: () => earliest,
  };
}

/** Newest revision first: by revision number, then by creation time (whole seconds, so it only breaks ties). */
export const newestFirst = (a: ReplicaSetView, b: ReplicaSetView): number => (b.revision ?? 0) - (a.revision ?? 0) || (b.createdAt ?? 0) - (a.createdAt ?? 0);

/**
 * The current revision's ReplicaSet reused (a rollback, an undo): like Argo, it takes the next revision number, so
 * the numbers say in which order revisions were last rolled out (and `undo` goes back to the one before).
 */
export function bumpRevision(o: ObservedBase, current: ReplicaSetView, actions: Action[]): void {
  if (current.revision === undefined) return;
  const highest = Math.max(0, ...o.replicaSets.filter((r) => r.name !== current.name).map((r) => r.revision ?? 0));
  if (highest >= current.revision) actions.push({ kind: 'setRevision', name: current.name, revision: highest + 1 });
}

/** Revision hashes some Service (or router subset) points at now: traffic may reach them. */
export type Pinned = readonly (string | undefined)[];

/**
 * Retired ReplicaSets (neither the new revision nor stable, and behind no Service) get a scale-down deadline of
 * `delayS` (persisted on the ReplicaSet, so a restart keeps it) and go to zero once it passes.
 */
export function scaleDownRetired(o: ObservedBase, hash: string, stableHash: string, pinned: Pinned, delayS: number, actions: Action[], wake: (ms: number) => void): void {
  for (const rs of o.replicaSets) {
    if (rs.hash === hash || rs.hash === stableHash || rs.replicas === 0) continue;
    // Still behind a Service selector: traffic may reach it; wait until nothing points there.
    if (pinned.includes(rs.hash)) continue;
    if (rs.scaleDownAt === undefined) {
      if (delayS === 0) actions.push({ kind: 'scaleReplicaSet', name: rs.name, replicas: 0 });
      else {
        actions.push({ kind: 'markScaleDown', name: rs.name, at: o.now + delayS * 1000 });
        wake(delayS * 1000);
      }
    } else if (o.now >= rs.scaleDownAt) actions.push({ kind: 'scaleReplicaSet', name: rs.name, replicas: 0 });
    else wake(rs.scaleDownAt - o.now);
  }
}

/** Keeps revisionHistoryLimit old ReplicaSets (scaled to zero) for rollbacks; deletes older ones. */
export function pruneHistory(o: ObservedBase, hash: string, stableHash: string, pinned: Pinned, actions: Action[]): void {
  const limit = o.spec.revisionHistoryLimit ?? ROLLOUT_DEFAULTS.revisionHistoryLimit;
  const old = o.replicaSets
    .filter((r) => r.hash !== hash && r.hash !== stableHash && r.replicas === 0 && r.available === 0)
    .filter((r) => !pinned.includes(r.hash))
    .sort(newestFirst);
  for (const r of old.slice(limit)) actions.push({ kind: 'deleteReplicaSet', name: r.name });
}

/** Kubernetes' rule for maxSurge/maxUnavailable: surge rounds up, unavailable down, and both zero means surge 1. */
export function surgeAndUnavailable(maxSurge: IntOrString | undefined, maxUnavailable: IntOrString | undefined, replicas: number): { surge: number; unavailable: number } {
  const surge = resolveIntOrPercent(maxSurge ?? ROLLOUT_DEFAULTS.maxSurge, replicas, true) ?? 0;
  const unavailable = resolveIntOrPercent(maxUnavailable ?? ROLLOUT_DEFAULTS.maxUnavailable, replicas, false) ?? 0;
  return surge === 0 && unavailable === 0 ? { surge: 1, unavailable: 0 } : { surge, unavailable };
}

/**
 * restartAt: pods created before it are evicted a few at a time (maxUnavailable, at least one), and only while every
 * ReplicaSet is fully available, so a restart never costs more capacity than a rolling update would. Done when none
 * is left: status.restartedAt records the request honoured. Returns a timer for a restart scheduled later.
 */
export function restart(o: ObservedBase, s: RolloutStatus, replicas: number, actions: Action[]): number | undefined {
  const at = o.spec.restartAt;
  if (at === undefined || o.restartPending === undefined) return undefined;
  if (s.restartedAt !== undefined && Date.parse(s.restartedAt) >= Date.parse(at)) return undefined;
  if (Date.parse(at) > o.now) return Date.parse(at) - o.now; // scheduled for later (`restart --in 10s`): a timer
  const pending = Object.entries(o.restartPending).filter(([, n]) => n > 0);
  if (pending.length === 0) {
    s.restartedAt = at;
    return undefined;
  }
  if (o.replicaSets.some((r) => r.replicas > 0 && r.available < r.replicas)) return undefined; // wait for the last batch
  const [hash, n] = pending[0] ?? ['', 0];
  const { unavailable } = surgeAndUnavailable(o.spec.strategy?.canary?.maxSurge, o.spec.strategy?.canary?.maxUnavailable, replicas);
  actions.push({ kind: 'restartPods', hash, count: Math.min(n, Math.max(1, unavailable)), before: at });
  return undefined;
}

// Whether this reconcile runs a sync operation, and when to look again. Pure (the clock is an argument).
import type { ApplicationStatus, SyncPolicy } from '../api/application/schema.ts';

export interface SyncTrigger {
  /** The commit targetRevision names now. */
  commit: string;
  /** Something planned differs from the cluster, or something waits to be pruned. */
  outOfSync: boolean;
  policy: SyncPolicy | undefined;
  lastOperation: ApplicationStatus['operationState'];
  /** A sync annotation value not yet acted on. */
  manualRequest: boolean;
  retryMs: number;
  nowMs: number;
}

export interface SyncDecision {
  sync: boolean;
  /** The operation being run continues one that waits on a wave (keeps its start time and results). */
  continuing: boolean;
  /** When a failed attempt may be retried, if it will be. */
  retryInMs?: number;
}

/**
 * - A manual request always syncs.
 * - A Running operation at this commit continues, even when nothing is out of sync any more (its last waves may
 *   only have been waiting for health).
 * - Automated: a new commit syncs when out of sync. At a commit already attempted (Argo CD's rule), drift is
 *   reverted only with selfHeal (or a retry policy for a failed attempt), and a failed attempt no sooner than the
 *   retry backoff, so objects that keep changing cannot turn a failing apply into a busy loop.
 */
export function decideSync(t: SyncTrigger): SyncDecision {
  const last = t.lastOperation;
  const attempted = last?.syncResult?.revision === t.commit;
  const continuing = attempted && last?.phase === 'Running';
  const automated = t.policy?.automated;
  const retries = automated?.selfHeal === true || t.policy?.retry !== undefined;
  const failedAt = attempted && last?.phase === 'Failed' && last.finishedAt !== undefined ? Date.parse(last.finishedAt) : undefined;
  const backoffLeft = failedAt === undefined ? 0 : t.retryMs - (t.nowMs - failedAt);
  if (t.manualRequest) return { sync: true, continuing };
  if (backoffLeft > 0) return { sync: false, continuing: false, ...(retries && automated !== undefined && t.outOfSync ? { retryInMs: backoffLeft } : {}) };
  if (continuing) return { sync: true, continuing };
  return { sync: automated !== undefined && t.outOfSync && (!attempted || retries), continuing: false };
}

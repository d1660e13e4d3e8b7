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
  /** syncPolicy.retry, with Argo CD's defaults filled in. */
  backoff: { durationMs: number; factor: number; maxDurationMs: number };
  nowMs: number;
}

/** The wait before retry number `retryCount` (0 for the first): duration · factor^n, capped at maxDuration. */
export function backoffMs(b: SyncTrigger['backoff'], retryCount: number): number {
  return Math.min(b.durationMs * Math.pow(Math.max(1, b.factor), retryCount), b.maxDurationMs);
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
 * - The backoff grows by `factor` per retry up to `maxDuration`; after `retry.limit` retries (negative: no limit)
 *   a failing commit is left alone until a new commit or a person asks for a sync.
 */
export function decideSync(t: SyncTrigger): SyncDecision {
  const last = t.lastOperation;
  // Several sources: their revisions, joined by commas as the reconcile's commit is.
  const attempted = (last?.syncResult?.revisions?.join(',') ?? last?.syncResult?.revision) === t.commit;
  const continuing = attempted && last?.phase === 'Running';
  const automated = t.policy?.automated;
  const retries = automated?.selfHeal === true || t.policy?.retry !== undefined;
  const failedAt = attempted && last?.phase === 'Failed' && last.finishedAt !== undefined ? Date.parse(last.finishedAt) : undefined;
  const retryCount = last?.retryCount ?? 0;
  const backoffLeft = failedAt === undefined ? 0 : backoffMs(t.backoff, retryCount) - (t.nowMs - failedAt);
  const limit = t.policy?.retry?.limit;
  if (t.manualRequest) return { sync: true, continuing };
  if (failedAt !== undefined && limit !== undefined && limit >= 0 && retryCount >= limit) return { sync: false, continuing: false };
  if (backoffLeft > 0) return { sync: false, continuing: false, ...(retries && automated !== undefined && t.outOfSync ? { retryInMs: backoffLeft } : {}) };
  if (continuing) return { sync: true, continuing };
  return { sync: automated !== undefined && t.outOfSync && (!attempted || retries), continuing: false };
}

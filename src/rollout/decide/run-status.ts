// What the status says about the analysis runs, as Argo Rollouts reports them (status.canary.currentStepAnalysisRunStatus,
// currentBackgroundAnalysisRunStatus, status.blueGreen.pre/postPromotionAnalysisRunStatus): {name, status, message} of
// the run that applies now. Computed from the observed runs and the decision's own next status. Pure.
import type { RolloutStatus } from '../../api/rollout/schema.ts';
import type { Action, ObservedBase } from './types.ts';

export type RunRefStatus = { name: string; status?: string; message?: string };

/** The observed run of `key`, unless this decision deletes it (a new attempt starts over). */
function seen(o: ObservedBase, actions: readonly Action[], key: number): RunRefStatus | undefined {
  const ref = o.analysisRunRefs?.[key];
  const phase = o.stepAnalysis[key];
  if (ref === undefined || phase === undefined || actions.some((a) => a.kind === 'deleteAnalysisRun' && a.stepIndex === key)) return undefined;
  return { name: ref.name, status: phase, ...(ref.message !== undefined && ref.message !== '' ? { message: ref.message } : {}) };
}

/**
 * The report for the run of `key`: while it applies, the run as observed; otherwise none. While the rollout is
 * aborted, Argo keeps the last report (the run that failed stays visible): the same run, still observed, refreshes it.
 */
export function runRef(o: ObservedBase, actions: readonly Action[], key: number, applies: boolean, aborted: boolean, prev: RunRefStatus | undefined): RunRefStatus | undefined {
  if (aborted && prev !== undefined) {
    const k = Object.entries(o.analysisRunRefs ?? {}).find(([, r]) => r.name === prev.name)?.[0];
    return (k !== undefined ? seen(o, actions, Number(k)) : undefined) ?? prev;
  }
  return applies ? seen(o, actions, key) : undefined;
}

/** Sets or removes one field of a status section; a section only this field made goes with it (no churn). */
export function putRef<K extends 'canary' | 'blueGreen'>(s: RolloutStatus, section: K, field: string, ref: RunRefStatus | undefined): void {
  if (ref === undefined && s[section] === undefined) return;
  const sec: Record<string, unknown> = { ...(s[section] ?? {}) };
  if (ref === undefined) delete sec[field];
  else sec[field] = ref;
  if (Object.keys(sec).length === 0) delete s[section];
  else (s as Record<string, unknown>)[section] = sec;
}

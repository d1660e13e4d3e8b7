// The AnalysisRun status the controller writes, built from the decision and the recorded results. Pure.
import type { AnalysisRunStatus, MetricResult } from '../api/analysis/schema.ts';
import type { RunDecision } from './decide/decide.ts';
import type { MetricPlan } from './decide/plan.ts';

/** A run that cannot be measured at all (invalid spec, unresolvable arg): Error, with the reason. */
export function errorStatus(prev: AnalysisRunStatus | undefined, message: string, nowIso: string): AnalysisRunStatus {
  return { ...(prev ?? {}), phase: 'Error', message, startedAt: prev?.startedAt ?? nowIso, completedAt: nowIso };
}

/**
 * The next status: every metric listed (Pending until first measured), each with the phase the decision gives it
 * (terminated metrics included), the run's phase and message, and completedAt once the run is over.
 */
export function runStatus(plans: readonly MetricPlan[], results: readonly MetricResult[], d: RunDecision, startedAtIso: string, nowIso: string, prev: AnalysisRunStatus | undefined): AnalysisRunStatus {
  const byName = new Map(results.map((r) => [r.name, r]));
  const metricResults = plans.map((p): MetricResult => {
    const r = byName.get(p.name);
    const v = d.metrics.find((m) => m.name === p.name);
    const { message: _old, ...rest } = r ?? { name: p.name, phase: 'Pending' as const };
    return {
      ...rest,
      phase: v?.phase ?? r?.phase ?? 'Pending',
      ...(v?.message !== undefined ? { message: v.message } : {}),
      ...(p.dryRun ? { dryRun: true } : {}),
    };
  });
  const hasDry = plans.some((p) => p.dryRun);
  return {
    phase: d.phase,
    ...(d.message !== undefined ? { message: d.message } : {}),
    startedAt: startedAtIso,
    ...(d.completed ? { completedAt: prev?.completedAt ?? nowIso } : {}),
    metricResults,
    runSummary: d.runSummary,
    ...(hasDry ? { dryRunSummary: d.dryRunSummary } : {}),
  };
}

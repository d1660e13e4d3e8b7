// The analysis verdict: from a run's metric plans, the results recorded in status and the time, which metrics to
// measure now, when to come back, and the phase of every metric and of the run. Pure: the controller performs the
// measurements and writes what this returns.
import type { AnalysisPhase, Measurement, MetricResult } from '../../api/analysis/schema.ts';
import type { Judgement } from './judge.ts';
import type { MetricPlan } from './plan.ts';

export type CompletedPhase = 'Successful' | 'Failed' | 'Error' | 'Inconclusive';
const COMPLETED: ReadonlySet<AnalysisPhase> = new Set<AnalysisPhase>(['Successful', 'Failed', 'Error', 'Inconclusive']);
export const isCompleted = (p: AnalysisPhase | undefined): p is CompletedPhase => p !== undefined && COMPLETED.has(p);

// Argo's order (utils/analysis/helpers.go): a run is as bad as its worst metric.
const SEVERITY: Readonly<Record<AnalysisPhase, number>> = { Successful: 0, Running: 1, Pending: 2, Inconclusive: 3, Error: 4, Failed: 5 };
export const worst = (a: AnalysisPhase, b: AnalysisPhase): AnalysisPhase => (SEVERITY[b] > SEVERITY[a] ? b : a);

/** Marks a measurement ignored by the missing-data policy, so a reload of status counts it the same way. */
export const IGNORED_PREFIX = 'ignored: ';

/** The measurement metadata key of a provider's look-to-look state (kept on the newest measurement only). */
export const STATE_KEY = 'state';

function withoutKey(m: Record<string, string>, key: string): Record<string, string> | undefined {
  const rest = Object.fromEntries(Object.entries(m).filter(([k]) => k !== key));
  return Object.keys(rest).length > 0 ? rest : undefined;
}

/** A measurement as the controller hands it over: finished, or still under way (resumeAfterMs set). */
export interface Taken extends Judgement {
  startedAt: string;
  finishedAt: string;
}

/**
 * A measurement still under way (Argo's in-progress measurement: Running, no finishedAt, a resumeAt). It counts
 * toward nothing; the next look replaces it. The judge's Running looks are finished measurements and differ here.
 */
export const isInProgress = (m: Measurement | undefined): boolean => m !== undefined && m.phase === 'Running' && m.finishedAt === undefined;

/** The message of a measurement ended because its run ended first. */
export const ENDED_IN_PROGRESS = 'the run ended before this measurement finished';

/**
 * Ends a metric's in-progress measurement because its run ended (terminated, or decided by another metric): it
 * becomes Inconclusive without touching the counters, so it neither passes nor fails the metric (invariant 8).
 */
export function endInProgress(r: MetricResult, finishedAt: string, message = ENDED_IN_PROGRESS): MetricResult {
  const last = r.measurements?.at(-1);
  if (last === undefined || !isInProgress(last)) return r;
  const { resumeAt: _resume, ...rest } = last;
  return { ...r, measurements: [...(r.measurements ?? []).slice(0, -1), { ...rest, phase: 'Inconclusive', finishedAt, message }] };
}

/**
 * Records one measurement in a metric's result: counters, consecutive errors, history trimmed to the retention.
 * Errors do not count toward `count` (stricter than Argo: `count` means that many actual measurements) but toward
 * `error` and `consecutiveError`; an ignored no-data measurement counts toward `count` only.
 */
export function recordMeasurement(plan: MetricPlan, prev: MetricResult | undefined, m: Taken): MetricResult {
  const last = prev?.measurements?.at(-1);
  // A look at a measurement under way replaces it, and keeps when it started.
  const replacing = isInProgress(last);
  const startedAt = replacing ? (last?.startedAt ?? m.startedAt) : m.startedAt;
  const kept = replacing ? (prev?.measurements ?? []).slice(0, -1) : (prev?.measurements ?? []);
  if (m.resumeAfterMs !== undefined) {
    const running: Measurement = {
      phase: 'Running',
      ...(m.value !== '' ? { value: m.value } : {}),
      startedAt,
      resumeAt: new Date(Date.parse(m.finishedAt) + m.resumeAfterMs).toISOString(),
      ...(m.message !== undefined ? { message: m.message } : {}),
      ...(m.metadata !== undefined ? { metadata: m.metadata } : {}),
    };
    const base: MetricResult = prev ?? { name: plan.name, phase: 'Pending' };
    const next: MetricResult = { ...base, measurements: [...kept, running].slice(-plan.retention), ...(plan.dryRun ? { dryRun: true } : {}) };
    const verdict = assessMetric(plan, next, false);
    const { message: _old, ...rest } = next;
    return { ...rest, phase: verdict.phase, ...(verdict.message !== undefined ? { message: verdict.message } : {}) };
  }
  const r = { name: plan.name, phase: prev?.phase ?? 'Pending', count: prev?.count ?? 0, successful: prev?.successful ?? 0, failed: prev?.failed ?? 0, inconclusive: prev?.inconclusive ?? 0, error: prev?.error ?? 0, consecutiveError: prev?.consecutiveError ?? 0 };
  if (m.phase === 'Error') {
    r.error += 1;
    r.consecutiveError += 1;
  } else {
    r.count += 1;
    r.consecutiveError = 0;
    // A Running look (the judge still accumulating) is a measurement taken, toward no verdict.
    if (m.ignored !== true && m.phase !== 'Running') {
      if (m.phase === 'Successful') r.successful += 1;
      else if (m.phase === 'Failed') r.failed += 1;
      else r.inconclusive += 1;
    }
  }
  const measurement: Measurement = {
    phase: m.phase,
    // A measurement that erred has no value to show.
    ...(m.value !== '' ? { value: m.value } : {}),
    startedAt,
    finishedAt: m.finishedAt,
    ...(m.message !== undefined || m.ignored === true ? { message: `${m.ignored === true ? IGNORED_PREFIX : ''}${m.message ?? ''}` } : {}),
    ...(m.metadata !== undefined ? { metadata: m.metadata } : {}),
  };
  // State a provider carries from look to look lives on the newest measurement only, so status stays small.
  // (An Error look carries no state: the last state stays where it is until a look replaces it.)
  const replaces = measurement.metadata?.[STATE_KEY] !== undefined;
  const older = kept.map((x) => (!replaces || x.metadata?.[STATE_KEY] === undefined ? x : { ...x, metadata: withoutKey(x.metadata, STATE_KEY) }));
  const measurements = [...older, measurement].slice(-plan.retention);
  const next: MetricResult = { ...r, measurements, ...(plan.dryRun ? { dryRun: true } : {}) };
  const verdict = assessMetric(plan, next, false);
  return { ...next, phase: verdict.phase, ...(verdict.message !== undefined ? { message: verdict.message } : {}) };
}

/**
 * A metric's phase from its counters (first row that applies wins). `terminating` is true when the run is ending
 * (spec.terminate, or another metric already decided the run):
 *
 * | condition                                              | phase        |
 * |--------------------------------------------------------|--------------|
 * | failureLimit >= 0 and failed > failureLimit            | Failed       |
 * | consecutiveError > consecutiveErrorLimit               | Error        |
 * | inconclusive > inconclusiveLimit                       | Inconclusive |
 * | count reached (or terminating), successful > 0         | Successful   |
 * | count reached (or terminating), successful = 0         | Inconclusive |
 * | no measurement and no error yet                        | Pending      |
 * | otherwise                                              | Running      |
 *
 * The limits are checked after every measurement, so a run aborts as soon as the evidence is conclusive, not at the
 * end of its count. "successful = 0 → Inconclusive" is invariant 8: a metric never measured (or only ever failing
 * within its limit, erring, or ignored) is never Successful.
 */
export function assessMetric(plan: MetricPlan, r: MetricResult | undefined, terminating: boolean): { phase: AnalysisPhase; message?: string } {
  const count = r?.count ?? 0;
  const successful = r?.successful ?? 0;
  const failed = r?.failed ?? 0;
  const inconclusive = r?.inconclusive ?? 0;
  const consecutiveError = r?.consecutiveError ?? 0;
  const error = r?.error ?? 0;
  if (plan.failureLimit >= 0 && failed > plan.failureLimit) return { phase: 'Failed', message: `${failed} failed measurement(s), more than failureLimit ${plan.failureLimit}` };
  if (consecutiveError > plan.consecutiveErrorLimit) return { phase: 'Error', message: `${consecutiveError} consecutive errors, more than consecutiveErrorLimit ${plan.consecutiveErrorLimit}` };
  if (inconclusive > plan.inconclusiveLimit) return { phase: 'Inconclusive', message: `${inconclusive} inconclusive measurement(s), more than inconclusiveLimit ${plan.inconclusiveLimit}` };
  // The judge of an analysis step completes once it passes (its own minimum exposure already held).
  if (plan.completeOnSuccess === true && successful > 0) return { phase: 'Successful' };
  const reached = plan.count !== undefined && count >= plan.count;
  if (reached || terminating) {
    if (successful > 0) return { phase: 'Successful' };
    return { phase: 'Inconclusive', message: count === 0 ? 'no measurement was taken' : 'no measurement was successful' };
  }
  if (count === 0 && error === 0 && !isInProgress(r?.measurements?.at(-1))) return { phase: 'Pending' };
  return { phase: 'Running' };
}

/**
 * When a metric is next due (ms since epoch), or undefined when it needs no further measurement. A measurement under
 * way is due at its resumeAt, or at once when `resumeNow` (its provider saw it finish: a Job's status changed).
 */
export function nextDue(plan: MetricPlan, r: MetricResult | undefined, runStartedAtMs: number, resumeNow = false): number | undefined {
  if (isCompleted(assessMetric(plan, r, false).phase)) return undefined;
  const last = r?.measurements?.at(-1);
  if (last === undefined) return runStartedAtMs + plan.initialDelayMs;
  if (isInProgress(last)) {
    const at = Date.parse(last.resumeAt ?? '');
    return resumeNow || Number.isNaN(at) ? runStartedAtMs : at;
  }
  const finished = Date.parse(last.finishedAt ?? last.startedAt ?? '');
  const base = Number.isNaN(finished) ? runStartedAtMs : finished;
  if (last.phase === 'Error') return base + plan.errorRetryMs;
  // A count of 1 without an interval is complete after its measurement; an interval of 0 means "right away".
  return base + (plan.intervalMs ?? 0);
}

export interface RunDecision {
  phase: AnalysisPhase;
  message?: string;
  /** The phase each metric ends or stands at (terminated metrics included). */
  metrics: { name: string; phase: AnalysisPhase; message?: string; dryRun: boolean }[];
  /** Metrics to measure now (empty when the run is complete). */
  due: string[];
  /** When to reconcile again (ms since epoch): the earliest future due time; undefined when complete. */
  nextAt?: number;
  completed: boolean;
  runSummary: Summary;
  dryRunSummary: Summary;
}

export interface Summary {
  count: number;
  successful: number;
  failed: number;
  inconclusive: number;
  error: number;
}

/**
 * Run truth table (first row that applies wins; dry-run metrics are measured and judged but never decide the run):
 *
 * | metrics (dry-run excluded)                                    | run                              |
 * |---------------------------------------------------------------|----------------------------------|
 * | some metric Failed, Error or Inconclusive                     | the worst of them; the rest end  |
 * | spec.terminate                                                | worst after ending every metric (message: terminated) |
 * | every metric (dry-run included) completed                     | the worst of them (Successful if only dry-run metrics) |
 * | otherwise                                                     | Running; measure those due now   |
 *
 * Ending a metric early ("the rest end") applies the terminating rows of assessMetric: a metric with a successful
 * measurement is Successful, one without is Inconclusive.
 */
export function decideRun(plans: readonly MetricPlan[], results: readonly MetricResult[], opts: { terminate: boolean; startedAtMs: number; nowMs: number; resumeNow?: ReadonlySet<string> }): RunDecision {
  const byName = new Map(results.map((r) => [r.name, r]));
  const natural = plans.map((p) => ({ plan: p, ...assessMetric(p, byName.get(p.name), false) }));
  const gating = natural.filter((m) => !m.plan.dryRun);
  const decisive = gating.filter((m) => m.phase === 'Failed' || m.phase === 'Error' || m.phase === 'Inconclusive');
  const allDone = natural.every((m) => isCompleted(m.phase));
  const ending = decisive.length > 0 || opts.terminate || allDone;

  const metrics = natural.map((m) => {
    const v = ending && !isCompleted(m.phase) ? assessMetric(m.plan, byName.get(m.plan.name), true) : m;
    return { name: m.plan.name, phase: v.phase, ...(v.message !== undefined ? { message: v.message } : {}), dryRun: m.plan.dryRun };
  });
  const runSummary = summarize(metrics.filter((m) => !m.dryRun));
  const dryRunSummary = summarize(metrics.filter((m) => m.dryRun));

  if (ending) {
    const phase = metrics.filter((m) => !m.dryRun).reduce<AnalysisPhase>((acc, m) => worst(acc, m.phase), 'Successful');
    const culprit = metrics.find((m) => !m.dryRun && m.phase === phase && phase !== 'Successful');
    const because = culprit !== undefined ? `metric "${culprit.name}" ${culprit.phase}${culprit.message !== undefined ? `: ${culprit.message}` : ''}` : undefined;
    // A run someone terminated says so, whatever its phase, unless a metric had already decided it.
    const message = decisive.length === 0 && opts.terminate ? `Run Terminated${because !== undefined ? `; ${because}` : ''}` : because;
    return { phase, ...(message !== undefined ? { message } : {}), metrics, due: [], completed: true, runSummary, dryRunSummary };
  }

  const due: string[] = [];
  let nextAt: number | undefined;
  for (const p of plans) {
    const at = nextDue(p, byName.get(p.name), opts.startedAtMs, opts.resumeNow?.has(p.name) === true);
    if (at === undefined) continue;
    if (at <= opts.nowMs) due.push(p.name);
    else nextAt = nextAt === undefined ? at : Math.min(nextAt, at);
  }
  return { phase: 'Running', metrics, due, ...(nextAt !== undefined ? { nextAt } : {}), completed: false, runSummary, dryRunSummary };
}

function summarize(ms: readonly { phase: AnalysisPhase }[]): Summary {
  return {
    count: ms.length,
    successful: ms.filter((m) => m.phase === 'Successful').length,
    failed: ms.filter((m) => m.phase === 'Failed').length,
    inconclusive: ms.filter((m) => m.phase === 'Inconclusive').length,
    error: ms.filter((m) => m.phase === 'Error').length,
  };
}

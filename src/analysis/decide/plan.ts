// A metric's scheduling and judging parameters, resolved from the (args-substituted) spec once per reconcile.
// Pure. Everything the verdict needs is here, with Argo's defaults applied, so decide.ts never re-reads the spec.
import { parseDuration } from '../../api/common/duration.ts';
import { METRIC_DEFAULTS, type AnalysisRunSpec, type Metric } from '../../api/analysis/schema.ts';

/**
 * What a measurement that found no data (an empty vector, null, or only NaN) becomes:
 * - `fail`: the measurement is Failed (counts toward failureLimit);
 * - `inconclusive`: the measurement is Inconclusive (counts toward inconclusiveLimit) — the default;
 * - `ignore`: the measurement is recorded and counts toward `count`, but toward no verdict; a metric whose every
 *   measurement was ignored still ends Inconclusive (invariant 8: no success without a successful measurement).
 */
export type MissingDataPolicy = 'fail' | 'inconclusive' | 'ignore';
export const MISSING_DATA_POLICIES: readonly MissingDataPolicy[] = ['fail', 'inconclusive', 'ignore'];
export const DEFAULT_MISSING_DATA: MissingDataPolicy = 'inconclusive';

export interface MetricPlan {
  name: string;
  /** Time between the end of one measurement and the start of the next; undefined for a single measurement. */
  intervalMs: number | undefined;
  initialDelayMs: number;
  /** Measurements (errors excluded) after which the metric completes; undefined: until terminated. */
  count: number | undefined;
  /** Failed measurements tolerated; -1 tolerates any number. */
  failureLimit: number;
  inconclusiveLimit: number;
  consecutiveErrorLimit: number;
  /** Delay before retrying after a provider error. */
  errorRetryMs: number;
  dryRun: boolean;
  /** Measurements kept in status (at least one is always kept: the schedule is computed from the last). */
  retention: number;
  missingData: MissingDataPolicy;
  /** The metric completes at its first successful measurement (a step's sequential judge). */
  completeOnSuccess?: boolean;
}

export class PlanError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'PlanError';
    this.field = field;
  }
}

function intOf(field: string, v: number | string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v === 'number') return v;
  if (/^-?\d+$/.test(v.trim())) return Number(v.trim());
  throw new PlanError(field, `must be an integer after args are substituted, got "${v}"`);
}

function durationOf(field: string, v: number | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  try {
    return parseDuration(v);
  } catch (err) {
    throw new PlanError(field, err instanceof Error ? err.message : String(err));
  }
}

/**
 * Plans for every metric of a run whose args are already substituted. Throws PlanError naming the field when an
 * IntOrString or duration does not resolve (an arg held something else than a number).
 */
export function planMetrics(spec: Pick<AnalysisRunSpec, 'metrics' | 'dryRun' | 'measurementRetention'>, missingData: (metric: string) => MissingDataPolicy = () => DEFAULT_MISSING_DATA): MetricPlan[] {
  const dry = new Set((spec.dryRun ?? []).map((d) => d.metricName));
  return spec.metrics.map((m, i) => planMetric(m, `spec.metrics[${i}]`, {
    dryRun: dry.has('*') || dry.has(m.name),
    retention: retentionOf(spec, m.name),
    missingData: m.missingData ?? missingData(m.name),
  }));
}

function retentionOf(spec: Pick<AnalysisRunSpec, 'measurementRetention'>, name: string): number {
  const list = spec.measurementRetention ?? [];
  const own = list.find((r) => r.metricName === name) ?? list.find((r) => r.metricName === '*');
  return Math.max(1, own?.limit ?? METRIC_DEFAULTS.measurementHistoryLimit);
}

function planMetric(m: Metric, at: string, extra: Pick<MetricPlan, 'dryRun' | 'retention' | 'missingData'>): MetricPlan {
  const intervalMs = durationOf(`${at}.interval`, m.interval);
  const rawCount = intOf(`${at}.count`, m.count, 0);
  // Argo: no count and no interval is one measurement; an interval without a count runs until terminated.
  const count = rawCount > 0 ? rawCount : intervalMs === undefined ? 1 : undefined;
  if (count !== undefined && count > 1 && intervalMs === undefined) throw new PlanError(`${at}.interval`, `required when count is more than 1 (count is ${count})`);
  const defaultRetry = parseDuration(METRIC_DEFAULTS.errorRetryInterval);
  return {
    name: m.name,
    intervalMs,
    initialDelayMs: durationOf(`${at}.initialDelay`, m.initialDelay) ?? 0,
    count,
    failureLimit: intOf(`${at}.failureLimit`, m.failureLimit, METRIC_DEFAULTS.failureLimit),
    inconclusiveLimit: intOf(`${at}.inconclusiveLimit`, m.inconclusiveLimit, METRIC_DEFAULTS.inconclusiveLimit),
    consecutiveErrorLimit: intOf(`${at}.consecutiveErrorLimit`, m.consecutiveErrorLimit, METRIC_DEFAULTS.consecutiveErrorLimit),
    // Argo retries after 10 s whatever the interval; a metric measured every 2 s retries as often as it measures.
    errorRetryMs: intervalMs !== undefined && intervalMs > 0 ? Math.min(intervalMs, defaultRetry) : defaultRetry,
    // A step's judge decides by itself when it is done: it completes at its first pass.
    completeOnSuccess: m.provider.judge !== undefined && m.provider.judge.completeOnPass !== false,
    ...extra,
  };
}

/**
 * The missing-data policy for metrics that set no `missingData` field of their own: the AnalysisRun annotation
 * `analysis.sluice.dev/missing-data`, either `fail` or `name=policy,*=policy` pairs.
 * Returns the policy lookup, or a message naming what is wrong with the annotation.
 */
export const MISSING_DATA_ANNOTATION = 'analysis.sluice.dev/missing-data';

export function missingDataPolicies(annotation: string | undefined): { ok: true; policy: (metric: string) => MissingDataPolicy } | { ok: false; message: string } {
  const table = new Map<string, MissingDataPolicy>();
  const isPolicy = (s: string): s is MissingDataPolicy => (MISSING_DATA_POLICIES as readonly string[]).includes(s);
  for (const part of (annotation ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    const [name, value] = eq < 0 ? ['*', part] : [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    if (!isPolicy(value)) return { ok: false, message: `annotation ${MISSING_DATA_ANNOTATION}: "${value}" is not one of ${MISSING_DATA_POLICIES.join(', ')}` };
    table.set(name, value);
  }
  return { ok: true, policy: (metric) => table.get(metric) ?? table.get('*') ?? DEFAULT_MISSING_DATA };
}

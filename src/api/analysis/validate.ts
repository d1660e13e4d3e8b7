// Semantic rules for analysis specs (templates and runs share them). Pure; see rollout/validate.ts for why.
import { durationError } from '../common/duration.ts';
import type { SpecError } from '../common/errors.ts';
import { fieldPath } from '../common/errors.ts';
import { validateSettings } from '../../analysis/judge/settings.ts';
import { jobMetricSchema, METRIC_PROVIDERS, type AnalysisTemplateSpec, type JudgeProviderSpec, type Metric } from './schema.ts';

const ARG_REF = /\{\{args\.([^{}]+?)\}\}/g;

/** Names referenced as `{{args.name}}` in a string, in order of appearance. */
export function argReferences(text: string): string[] {
  return [...text.matchAll(ARG_REF)].map((m) => m[1] as string);
}

export function validateAnalysisSpec(spec: AnalysisTemplateSpec): SpecError[] {
  const errors: SpecError[] = [];
  const declared = new Set<string>();
  (spec.args ?? []).forEach((arg, i) => {
    const at = fieldPath('spec', 'args', i);
    if (declared.has(arg.name)) errors.push({ field: `${at}.name`, message: `duplicate arg "${arg.name}"` });
    declared.add(arg.name);
    const from = arg.valueFrom;
    const sources = [arg.value !== undefined, from?.secretKeyRef !== undefined, from?.fieldRef !== undefined].filter(Boolean).length;
    if (sources > 1) errors.push({ field: at, message: 'set only one of value, valueFrom.secretKeyRef, valueFrom.fieldRef' });
  });

  const names = new Set<string>();
  if (spec.metrics.length === 0) errors.push({ field: 'spec.metrics', message: 'needs at least one metric' });
  spec.metrics.forEach((metric, i) => {
    const at = fieldPath('spec', 'metrics', i);
    if (names.has(metric.name)) errors.push({ field: `${at}.name`, message: `duplicate metric name "${metric.name}"` });
    names.add(metric.name);
    errors.push(...metricErrors(at, metric, declared));
  });

  const known = (name: string): boolean => name === '*' || names.has(name);
  (spec.dryRun ?? []).forEach((d, i) => {
    if (!known(d.metricName)) errors.push({ field: `${fieldPath('spec', 'dryRun', i)}.metricName`, message: `no metric named "${d.metricName}"` });
  });
  (spec.measurementRetention ?? []).forEach((r, i) => {
    const at = fieldPath('spec', 'measurementRetention', i);
    if (!known(r.metricName)) errors.push({ field: `${at}.metricName`, message: `no metric named "${r.metricName}"` });
    if (r.limit < 0) errors.push({ field: `${at}.limit`, message: `must not be negative, got ${r.limit}` });
  });
  return errors;
}

/** The providers Sluice measures with (src/analysis/providers). */
export const SUPPORTED_PROVIDERS = ['prometheus', 'web', 'job', 'webhook'] as const;

/** A job metric's problems by field: what Sluice reads of the Job (the apiserver checks the rest on create). */
export function jobProviderErrors(at: string, job: unknown): SpecError[] {
  const parsed = jobMetricSchema.safeParse(job);
  if (parsed.success) {
    const policy = (parsed.data.spec.template.spec as { restartPolicy?: unknown }).restartPolicy;
    // A Job's pods must not restart in place: Kubernetes refuses Always, and an unset policy defaults to it.
    if (policy !== 'Never' && policy !== 'OnFailure') return [{ field: `${at}.spec.template.spec.restartPolicy`, message: `must be Never or OnFailure for a Job, got ${policy === undefined ? 'nothing (it would default to Always)' : JSON.stringify(policy)}` }];
    return [];
  }
  return parsed.error.issues.map((i) => {
    const field = fieldPath(at, ...i.path.filter((p): p is string | number => typeof p !== 'symbol'));
    const missing = i.code === 'invalid_type' && i.input === undefined;
    return { field, message: missing ? `required: a job metric needs a Job spec with a pod template and containers (provider.job.spec.template.spec.containers)` : i.message };
  });
}

function metricErrors(at: string, metric: Metric, declaredArgs: ReadonlySet<string>): SpecError[] {
  const errors: SpecError[] = [];
  const providers = METRIC_PROVIDERS.filter((p) => metric.provider[p] !== undefined);
  if (providers.length !== 1) {
    errors.push({
      field: `${at}.provider`,
      message: `set exactly one provider of ${SUPPORTED_PROVIDERS.join(', ')}; found ${providers.length === 0 ? 'none' : providers.join(', ')}`,
    });
  }
  if (metric.provider.job !== undefined) errors.push(...jobProviderErrors(`${at}.provider.job`, metric.provider.job));
  if (metric.provider.judge !== undefined) errors.push(...judgeProviderErrors(`${at}.provider.judge`, metric.provider.judge));
  const hook = metric.provider.webhook;
  if (hook !== undefined) {
    // An {{args.x}} URL is checked once substituted, when the run measures it.
    if (argReferences(hook.url).length === 0 && !/^https?:\/\/[^/\s]+/.test(hook.url)) errors.push({ field: `${at}.provider.webhook.url`, message: `must be an http(s) URL, got "${hook.url}"` });
    const t = durationError(`${at}.provider.webhook.timeout`, hook.timeout);
    if (t !== undefined) errors.push(t);
  }
  for (const key of ['interval', 'initialDelay'] as const) {
    const e = durationError(`${at}.${key}`, metric[key]);
    if (e !== undefined) errors.push(e);
  }
  // Argo documents failureLimit: -1 as "never fail on measurements"; every other limit is a plain count.
  const limits = [['count', 0], ['failureLimit', -1], ['inconclusiveLimit', 0], ['consecutiveErrorLimit', 0]] as const;
  for (const [key, min] of limits) {
    const value = metric[key];
    if (value === undefined) continue;
    const n = typeof value === 'number' ? value : /^-?\d+$/.test(value) ? Number(value) : undefined;
    if (typeof value === 'string' && n === undefined) {
      if (argReferences(value).length === 0) errors.push({ field: `${at}.${key}`, message: `must be an integer or an {{args.name}} reference, got "${value}"` });
    } else if (n !== undefined && n < min) {
      errors.push({ field: `${at}.${key}`, message: min === 0 ? `must not be negative, got ${n}` : `must be ${min} or more, got ${n}` });
    }
  }
  if (typeof metric.count === 'number' && metric.count > 1 && metric.interval === undefined) {
    errors.push({ field: `${at}.interval`, message: `required when count is more than 1 (count is ${metric.count})` });
  }
  // Args are substituted anywhere in a metric, so every string in it may reference one.
  walkStrings(metric, at, (path, text) => {
    for (const name of new Set(argReferences(text))) {
      if (!declaredArgs.has(name)) errors.push({ field: path, message: `references undeclared arg "${name}"; declare it in spec.args` });
    }
  });
  return errors;
}

/** The judge provider's settings, checked by the judge's own rules; each message names its field. */
function judgeProviderErrors(at: string, j: JudgeProviderSpec): SpecError[] {
  const settings = { alpha: j.alpha, beta: j.beta, maxRatio: j.maxRatio, gatingMetrics: j.tests, ...(j.minCanaryRequests !== undefined ? { minCanaryRequests: j.minCanaryRequests } : {}) };
  const errors: SpecError[] = validateSettings(settings).map((message) => {
    const key = message.split(' ')[0] ?? '';
    return { field: `${at}.${key === 'gatingMetrics' ? 'tests' : key}`, message: message.replace(/^gatingMetrics/, 'tests') };
  });
  if (j.guardMaxBadRate !== undefined && !(j.guardMaxBadRate > 0 && j.guardMaxBadRate < 1)) errors.push({ field: `${at}.guardMaxBadRate`, message: `must be in (0, 1), got ${j.guardMaxBadRate}` });
  if (j.configuredShare !== undefined && !(j.configuredShare >= 0 && j.configuredShare <= 1)) errors.push({ field: `${at}.configuredShare`, message: `must be in [0, 1], got ${j.configuredShare}` });
  const d = durationError(`${at}.maxDuration`, j.maxDuration);
  if (d !== undefined) errors.push(d);
  return errors;
}

function walkStrings(value: unknown, path: string, visit: (path: string, text: string) => void): void {
  if (typeof value === 'string') visit(path, value);
  else if (Array.isArray(value)) value.forEach((v, i) => walkStrings(v, fieldPath(path, i), visit));
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) walkStrings(v, fieldPath(path, k), visit);
  }
}

// Flagger analysis metrics → Sluice checks. The builtins request-success-rate (percent) and request-duration (p99,
// milliseconds) become the Rollout's builtin checks successRate {min} and latency {maxMs}. A metric with a query of
// its own (a MetricTemplate reference, or the deprecated inline query) becomes an AnalysisTemplate
// `<canary>-<metric>`: a MetricTemplate holds no threshold, the Canary does, so each use is one template.
import { z } from 'zod';
import { typeErrors } from '../lint/related.ts';
import type { PathSegment } from '../lint/source.ts';
import type { ConvertContext, Manifest } from './types.ts';

/** The fields of a Flagger MetricTemplate the conversion reads. */
export const metricTemplateSchema = z.looseObject({
  spec: z.looseObject({
    provider: z.looseObject({ type: z.string().optional(), address: z.string().optional(), insecureSkipVerify: z.boolean().optional() }).optional(),
    query: z.string().optional(),
  }).optional(),
});

export interface MetricsResult {
  successRate?: { min: number };
  latency?: { maxMs: number };
  /** The builtin checks' rate window (Flagger's metric interval). */
  builtinInterval?: string;
  templates: string[];
}

export interface MetricsInput {
  base: PathSegment[];
  canary: string;
  namespace: string | undefined;
  target: string;
  service: string;
  /** Flagger's analysis interval: how often a check runs. */
  interval: string;
  failureLimit: number;
  metricsServer: string | undefined;
  /** Builtin checks need a router whose metrics they read. */
  builtinsSupported: boolean;
  /** The route or ingress a query's {{ route }} / {{ ingress }} names. */
  route: string | undefined;
}

export function convertMetrics(ctx: ConvertContext, input: MetricsInput): MetricsResult {
  const f = ctx.fields;
  const out: MetricsResult = { templates: [] };
  for (const i of f.keys(...input.base, 'metrics')) {
    const at: PathSegment[] = [...input.base, 'metrics', i];
    const name = f.string(...at, 'name') ?? `metric-${i}`;
    const interval = f.string(...at, 'interval');
    let min = f.number(...at, 'thresholdRange', 'min');
    let max = f.number(...at, 'thresholdRange', 'max');
    const legacy = f.number(...at, 'threshold');
    if (legacy !== undefined && max === undefined && min === undefined) {
      if (name === 'request-success-rate') min = legacy;
      else max = legacy;
    }
    const hasQuery = f.peek(...at, 'templateRef') !== undefined || f.peek(...at, 'query') !== undefined;
    if (!hasQuery && (name === 'request-success-rate' || name === 'request-duration')) {
      if (!input.builtinsSupported) {
        f.consume(at);
        ctx.report(at, 'unmapped', `builtin check "${name}" left out: Sluice's builtin checks read the router's metrics (Istio, NGINX, Gateway API), and this provider has none`);
        continue;
      }
      if (name === 'request-success-rate') {
        if (min === undefined) ctx.report([...at, 'thresholdRange'], 'unmapped', 'request-success-rate without thresholdRange.min checks nothing: left out');
        else out.successRate = { min };
        if (max !== undefined && max < 100) ctx.report([...at, 'thresholdRange', 'max'], 'unmapped', 'Sluice\'s successRate has only a minimum: left out');
      } else {
        if (max === undefined) ctx.report([...at, 'thresholdRange'], 'unmapped', 'request-duration without thresholdRange.max checks nothing: left out');
        else out.latency = { maxMs: max };
        if (min !== undefined) ctx.report([...at, 'thresholdRange', 'min'], 'unmapped', 'Sluice\'s latency check has only a maximum: left out');
      }
      if (interval !== undefined) {
        if (out.builtinInterval !== undefined && out.builtinInterval !== interval) ctx.report([...at, 'interval'], 'note', `the builtin checks share one window: ${out.builtinInterval} is used`);
        out.builtinInterval ??= interval;
      }
      continue;
    }
    const query = metricQuery(ctx, at, input);
    if (query === undefined) continue;
    if (min === undefined && max === undefined) {
      ctx.report(at, 'unmapped', `metric "${name}" has no thresholdRange, so it checks nothing: left out`);
      continue;
    }
    const template = `${input.canary}-${name}`;
    const condition = [min !== undefined ? `result[0] >= ${min}` : undefined, max !== undefined ? `result[0] <= ${max}` : undefined].filter((c) => c !== undefined).join(' && ');
    const usesNamespace = query.text.includes('{{args.namespace}}');
    ctx.emit({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'AnalysisTemplate',
      metadata: { name: template, ...(input.namespace !== undefined ? { namespace: input.namespace } : {}) },
      spec: {
        // The run's own namespace is the Rollout's.
        ...(usesNamespace ? { args: [{ name: 'namespace', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }] } : {}),
        metrics: [{
          name,
          interval: input.interval,
          failureLimit: input.failureLimit,
          successCondition: condition,
          // Flagger counts a query without data as a failed check; so does this metric.
          missingData: 'fail',
          provider: { prometheus: { ...(query.address !== undefined ? { address: query.address } : {}), query: query.text, ...(query.insecure === true ? { insecure: true } : {}) } },
        }],
      },
    } satisfies Manifest);
    out.templates.push(template);
  }
  return out;
}

interface Query {
  text: string;
  address?: string;
  insecure?: boolean;
}

/** The metric's PromQL with Flagger's template variables filled in (namespace through an arg when unknown). */
function metricQuery(ctx: ConvertContext, at: PathSegment[], input: MetricsInput): Query | undefined {
  const f = ctx.fields;
  const inline = f.string(...at, 'query');
  const vars = f.typed(z.record(z.string(), z.unknown()), ...at, 'templateVariables') ?? {};
  let raw: Query;
  if (inline !== undefined) {
    raw = { text: inline, ...(input.metricsServer !== undefined ? { address: input.metricsServer } : {}) };
  } else {
    const refName = f.string(...at, 'templateRef', 'name') ?? '';
    const refNs = f.string(...at, 'templateRef', 'namespace') ?? input.namespace ?? '';
    const doc = ctx.index.find('flagger.app/', 'MetricTemplate', refNs, refName);
    const parsed = doc === undefined ? undefined : metricTemplateSchema.safeParse(doc.value);
    if (parsed?.success === false && doc !== undefined) {
      const e = typeErrors(parsed.error, doc.value)[0];
      ctx.report([...at, 'templateRef'], 'error', `MetricTemplate "${refName}" (${doc.file}:${doc.locate(e?.path ?? []).line}): ${e?.field ?? ''}: ${e?.message ?? 'invalid'}: metric left out`);
      return undefined;
    }
    const mt = parsed?.data;
    if (mt === undefined) {
      ctx.report([...at, 'templateRef'], 'unmapped', `MetricTemplate "${refName}" is not in the converted files, so its query is unknown: metric left out (convert it together with the Canary)`);
      return undefined;
    }
    const type = mt.spec?.provider?.type ?? 'prometheus';
    if (type !== 'prometheus') {
      ctx.report([...at, 'templateRef'], 'unmapped', `MetricTemplate "${refName}" uses provider ${type}; Sluice measures with Prometheus and web providers: metric left out`);
      return undefined;
    }
    const address = mt.spec?.provider?.address ?? input.metricsServer;
    raw = { text: mt.spec?.query ?? '', ...(address !== undefined ? { address } : {}), ...(mt.spec?.provider?.insecureSkipVerify === true ? { insecure: true } : {}) };
  }
  const known: Record<string, string> = {
    namespace: input.namespace ?? '{{args.namespace}}',
    target: input.target,
    service: input.service,
    interval: f.string(...at, 'interval') ?? '1m',
    ...(input.route !== undefined ? { ingress: input.route, route: input.route } : {}),
  };
  let missing: string | undefined;
  const text = raw.text.replace(/\{\{\s*([A-Za-z.]+)\s*\}\}/g, (whole, name: string) => {
    const v = name.startsWith('variables.') ? vars[name.slice('variables.'.length)] : known[name];
    if (v === undefined) missing ??= whole;
    if (v === undefined) return whole;
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
  if (missing !== undefined || /\{\{/.test(text.replaceAll('{{args.namespace}}', ''))) {
    ctx.report(at, 'unmapped', `the query uses ${missing ?? 'a template expression'} which has no value here: metric left out`);
    return undefined;
  }
  if (/\{\{\s*target\s*\}\}/.test(raw.text)) {
    ctx.report(at, 'note', `{{ target }} became "${input.target}": Flagger's canary pods were the Deployment's; Sluice's are "${input.canary}-<hash>-…" (both revisions), so check the query still selects what it should`);
  }
  return { ...raw, text };
}

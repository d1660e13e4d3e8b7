// The judge provider: reads the raw counters of both revisions from Prometheus (an instant query of the counter
// series, never rate() or increase(): the judge takes reset-safe deltas itself) and hands them, with the previous
// look's state, to the pure look of builtin/judging.ts. Its verdict is the measurement; its state rides along in the
// measurement's metadata, so a restarted operator resumes from the apiserver.
import { z } from 'zod';
import type { JudgeProviderSpec, Metric } from '../../api/analysis/schema.ts';
import { LINKERD_HASH_LABEL, promString, regexEscape, traefikServicePattern } from '../builtin/builtin.ts';
import { JudgeConfigError, look, type LookState } from '../builtin/judging.ts';
import { STATE_KEY } from '../decide/decide.ts';
import type { Observation } from '../decide/judge.ts';
import { EvidenceSchema } from '../judge/schema.ts';
import { instantVector } from './prometheus.ts';
import { ProviderError, type MeasureContext, type MetricProvider } from './provider.ts';

/** The measurement metadata key of what people read (LookSummary, JSON). */
export const SUMMARY_KEY = 'summary';

/** The raw counter series the judge reads for a signal, both revisions in one query. */
export function judgeQuery(spec: JudgeProviderSpec): string {
  const names = `${regexEscape(spec.canary)}|${regexEscape(spec.stable)}`;
  const errors = spec.signal === 'errors';
  switch (spec.router) {
    case 'istio': {
      const sel = `reporter="destination",destination_workload_namespace=${promString(spec.namespace)},destination_workload=~${promString(names)}`;
      return errors ? `istio_requests_total{${sel}}` : `istio_request_duration_milliseconds_bucket{${sel}}`;
    }
    case 'nginx': {
      const sel = `namespace=${promString(spec.namespace)},ingress=~${promString(names)}`;
      return errors ? `nginx_ingress_controller_requests{${sel}}` : `nginx_ingress_controller_request_duration_seconds_bucket{${sel}}`;
    }
    case 'traefik': {
      const sel = `service=~${promString(traefikServicePattern(spec.namespace, spec.canary, spec.stable))}`;
      return errors ? `traefik_service_requests_total{${sel}}` : `traefik_service_request_duration_seconds_bucket{${sel}}`;
    }
    case 'linkerd': {
      const sel = `direction="inbound",namespace=${promString(spec.namespace)},${LINKERD_HASH_LABEL}=~${promString(names)}`;
      return errors ? `response_total{${sel}}` : `response_latency_ms_bucket{${sel}}`;
    }
  }
}

// The state is ours, but it comes back through the apiserver: parse it, and start over rather than trust a mangled one.
const stateSchema = z.object({ v: z.literal(1), startedAtMs: z.number(), seen: z.record(z.string(), z.number()), evidence: EvidenceSchema }).loose();

function previousState(context: MeasureContext | undefined): LookState | undefined {
  const raw = context?.previous?.metadata?.[STATE_KEY];
  if (raw === undefined) return undefined;
  try {
    const parsed = stateSchema.safeParse(JSON.parse(raw));
    return parsed.success ? (parsed.data) : undefined;
  } catch {
    return undefined;
  }
}

export class JudgeProvider implements MetricProvider {
  readonly type = 'judge';

  async measure(metric: Metric, signal: AbortSignal, context?: MeasureContext): Promise<Observation> {
    const spec = metric.provider.judge;
    if (spec === undefined) throw new ProviderError(this.type, 'config', `metric "${metric.name}" has no judge provider`);
    const series = await instantVector(this.type, spec, judgeQuery(spec), signal);
    try {
      const out = look({ spec, series, previous: previousState(context), nowMs: context?.nowMs ?? Date.now() });
      const judgement = { ...out.judgement, metadata: { [STATE_KEY]: JSON.stringify(out.state), [SUMMARY_KEY]: JSON.stringify(out.summary) } };
      return { kind: 'verdict', judgement, display: judgement.value };
    } catch (err) {
      if (err instanceof JudgeConfigError) throw new ProviderError(this.type, 'config', err.message);
      // Counters the judge refuses (negative, not finite) or evidence it cannot continue: an Error look, shown in status.
      if (err instanceof Error) throw new ProviderError(this.type, 'invalid-response', err.message);
      throw err;
    }
  }
}

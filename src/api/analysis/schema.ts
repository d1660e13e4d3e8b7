// AnalysisTemplate, ClusterAnalysisTemplate and AnalysisRun (sluice.dev/v1alpha1) with Argo Rollouts v1alpha1
// field names for the supported providers (prometheus, web, job; a Job spec is preserved as written).
import { z } from 'zod';
import { preserveHint } from '../common/crd-hints.ts';
import { durationSchema } from '../common/duration.ts';
import { intOrStringSchema } from '../common/int-or-string.ts';
import { conditionSchema, resourceSchema, timestampSchema } from '../common/meta.ts';

export const argumentSchema = z.object({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z
    .object({
      secretKeyRef: z.object({ name: z.string(), key: z.string() }).optional(),
      fieldRef: z.object({ fieldPath: z.string() }).optional(),
    })
    .optional(),
});
export type Argument = z.infer<typeof argumentSchema>;

const headerSchema = z.object({ key: z.string(), value: z.string() });

export const prometheusProviderSchema = z.object({
  address: z.string().optional(),
  query: z.string(),
  /** Seconds, as in Argo. */
  timeout: z.int().min(0).optional(),
  headers: z.array(headerSchema).optional(),
  insecure: z.boolean().optional(),
});

export const webProviderSchema = z.object({
  url: z.string(),
  method: z.enum(['GET', 'POST', 'PUT']).optional(),
  headers: z.array(headerSchema).optional(),
  body: z.string().optional(),
  jsonPath: z.string().optional(),
  timeoutSeconds: z.int().min(0).optional(),
  insecure: z.boolean().optional(),
});

/** Argo's defaults for unset metric fields (read with `metric.x ?? METRIC_DEFAULTS.x`). */
export const METRIC_DEFAULTS = {
  failureLimit: 0,
  inconclusiveLimit: 0,
  consecutiveErrorLimit: 4,
  /** Measurements kept per metric in status. */
  measurementHistoryLimit: 10,
  /** Retry interval after a provider error. */
  errorRetryInterval: '10s',
} as const;

export const METRIC_PROVIDERS = ['prometheus', 'web', 'job', 'judge', 'webhook'] as const;

/**
 * Sluice's own provider: the sequential judge of a canary against stable (src/analysis/judge/), on the raw counters
 * of a router's metrics in Prometheus. The Rollout controller writes it for `analysis.judge`; it is not Argo's.
 */
export const judgeProviderSchema = z.object({
  /** Prometheus base URL. */
  address: z.string(),
  /**
   * Whose metric families to read: Istio (destination workload), NGINX Ingress (the Ingress), Traefik (the backend
   * Service of an HTTPRoute) or Linkerd (the pods' template hash).
   */
  router: z.enum(['istio', 'nginx', 'traefik', 'linkerd']),
  namespace: z.string(),
  /**
   * The canary's and the stable's names as the router's metrics label them (Istio workloads, NGINX Ingresses,
   * Traefik: Services, Linkerd: pod-template hashes).
   */
  canary: z.string(),
  stable: z.string(),
  /** What a bad event is: a 5xx response (errors) or a response slower than the latency edge (latency). */
  signal: z.enum(['errors', 'latency']),
  alpha: z.number(),
  beta: z.number(),
  maxRatio: z.number(),
  /** How many tests share alpha and beta (Bonferroni): the comparisons and the absolute guards of the analysis. */
  tests: z.int().min(1),
  /** Wall time within this run after which an undecided judge ends as onInconclusive says. */
  maxDuration: durationSchema,
  onInconclusive: z.enum(['hold', 'promote', 'abort']),
  /** latency: the bucket edge (ms) of the comparison; default the edge at or above stable's p99 at the first look. */
  latencyEdgeMs: z.number().optional(),
  minCanaryRequests: z.int().min(0).optional(),
  /** The absolute guard: the canary's share of bad events may be at most this (errors: 1 - min/100; latency: 0.01). */
  guardMaxBadRate: z.number().optional(),
  /** latency: the guard's latency bound in ms (the analysis' latency.maxMs). */
  guardLatencyMs: z.number().optional(),
  /** The canary's configured traffic share (0..1) while this run measures, for the sample-ratio check. */
  configuredShare: z.number().optional(),
  /** A step's judge completes when it passes; a background judge keeps watching until the run is terminated. */
  completeOnPass: z.boolean().optional(),
  /** Evidence carried over from the previous analysis step of the same revision (opaque to people). */
  carry: z.looseObject({}).meta(preserveHint).optional(),
  /** Seconds per query, as the prometheus provider. */
  timeout: z.int().min(0).optional(),
});
export type JudgeProviderSpec = z.infer<typeof judgeProviderSchema>;

/**
 * Argo's job provider: a Job run per measurement; it passes when the Job completes and fails when the Job fails.
 * The CRD preserves `provider.job` as written (a Job spec is large and the apiserver validates it when the Job is
 * created); this schema is what Sluice reads from it, so a template without a Job spec is refused by field.
 */
export const jobMetricSchema = z.object({
  metadata: z.object({ labels: z.record(z.string(), z.string()).optional(), annotations: z.record(z.string(), z.string()).optional() }).optional(),
  spec: z.looseObject({
    backoffLimit: z.int().min(0).optional(),
    template: z.looseObject({
      metadata: z.looseObject({ labels: z.record(z.string(), z.string()).optional(), annotations: z.record(z.string(), z.string()).optional() }).optional(),
      spec: z.looseObject({ containers: z.array(z.looseObject({ name: z.string() })).min(1, 'needs at least one container') }),
    }),
  }),
});
export type JobMetric = z.infer<typeof jobMetricSchema>;

/** Flagger's webhook kinds a metric can run as a check (the gates hold a rollout and are not metrics). */
export const WEBHOOK_CHECK_TYPES = ['pre-rollout', 'rollout'] as const;

/**
 * Sluice's webhook provider, Flagger's webhook as a check: an HTTP POST of Flagger's JSON payload (name, namespace,
 * phase, checksum, metadata) that passes on 2xx and fails otherwise; network errors and timeouts are retried.
 */
export const webhookProviderSchema = z.object({
  url: z.string(),
  /** Flagger's kind, sent as nothing but documentation of when it runs: pre-rollout (a step before traffic), rollout. */
  type: z.enum(WEBHOOK_CHECK_TYPES).optional(),
  /** Per attempt; default 10s (Flagger's default is 10s too). */
  timeout: durationSchema.optional(),
  /** Further attempts after a network error, a timeout or a 5xx answer; default 0. */
  retries: z.int().min(0).optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});
export type WebhookProviderSpec = z.infer<typeof webhookProviderSchema>;

export const metricProviderSchema = z.object({
  prometheus: prometheusProviderSchema.optional(),
  web: webProviderSchema.optional(),
  job: z.looseObject({}).meta(preserveHint).optional(),
  judge: judgeProviderSchema.optional(),
  webhook: webhookProviderSchema.optional(),
});
export type MetricProvider = z.infer<typeof metricProviderSchema>;

// Argo made the limits IntOrString so they can come from args ("{{args.limit}}"); numbers are the usual form.
export const metricSchema = z.object({
  name: z.string(),
  interval: durationSchema.optional(),
  initialDelay: durationSchema.optional(),
  count: intOrStringSchema.optional(),
  successCondition: z.string().optional(),
  failureCondition: z.string().optional(),
  failureLimit: intOrStringSchema.optional(),
  inconclusiveLimit: intOrStringSchema.optional(),
  consecutiveErrorLimit: intOrStringSchema.optional(),
  /**
   * Sluice's addition: what an empty answer or NaN means for this metric (never a silent pass). Default inconclusive;
   * the run annotation analysis.sluice.dev/missing-data applies to metrics that do not say.
   */
  missingData: z.enum(['fail', 'inconclusive', 'ignore']).optional(),
  provider: metricProviderSchema,
});
export type Metric = z.infer<typeof metricSchema>;

export const analysisTemplateSpecSchema = z.object({
  args: z.array(argumentSchema).optional(),
  metrics: z.array(metricSchema),
  dryRun: z.array(z.object({ metricName: z.string() })).optional(),
  measurementRetention: z.array(z.object({ metricName: z.string(), limit: z.int() })).optional(),
});
export type AnalysisTemplateSpec = z.infer<typeof analysisTemplateSpecSchema>;

/** Argo templates have no status; Sluice keeps one for an InvalidSpec condition the controller may report. */
export const analysisTemplateStatusSchema = z.object({ conditions: z.array(conditionSchema).optional() });

export const analysisTemplateSchema = resourceSchema('AnalysisTemplate', analysisTemplateSpecSchema, analysisTemplateStatusSchema);
export type AnalysisTemplate = z.infer<typeof analysisTemplateSchema>;

export const clusterAnalysisTemplateSchema = analysisTemplateSchema.extend({ kind: z.literal('ClusterAnalysisTemplate') });
export type ClusterAnalysisTemplate = z.infer<typeof clusterAnalysisTemplateSchema>;

export const analysisRunSpecSchema = analysisTemplateSpecSchema.extend({
  /** Set by the Rollout controller on promote or abort: indefinite metrics end as Successful. */
  terminate: z.boolean().optional(),
});
export type AnalysisRunSpec = z.infer<typeof analysisRunSpecSchema>;

export const analysisPhaseSchema = z.enum(['Pending', 'Running', 'Successful', 'Failed', 'Error', 'Inconclusive']);
export type AnalysisPhase = z.infer<typeof analysisPhaseSchema>;

export const measurementSchema = z.object({
  phase: analysisPhaseSchema,
  value: z.string().optional(),
  startedAt: timestampSchema.optional(),
  finishedAt: timestampSchema.optional(),
  message: z.string().optional(),
  resumeAt: timestampSchema.optional(),
  /** Argo's free-form measurement metadata; the judge keeps its counts and evidence here. */
  metadata: z.record(z.string(), z.string()).optional(),
});
export type Measurement = z.infer<typeof measurementSchema>;

export const metricResultSchema = z.object({
  name: z.string(),
  phase: analysisPhaseSchema,
  measurements: z.array(measurementSchema).optional(),
  count: z.int().optional(),
  successful: z.int().optional(),
  failed: z.int().optional(),
  inconclusive: z.int().optional(),
  error: z.int().optional(),
  consecutiveError: z.int().optional(),
  message: z.string().optional(),
  dryRun: z.boolean().optional(),
});
export type MetricResult = z.infer<typeof metricResultSchema>;

const runSummarySchema = z.object({
  count: z.int().optional(),
  successful: z.int().optional(),
  failed: z.int().optional(),
  inconclusive: z.int().optional(),
  error: z.int().optional(),
});

export const analysisRunStatusSchema = z.object({
  phase: analysisPhaseSchema.optional(),
  message: z.string().optional(),
  startedAt: timestampSchema.optional(),
  completedAt: timestampSchema.optional(),
  metricResults: z.array(metricResultSchema).optional(),
  runSummary: runSummarySchema.optional(),
  dryRunSummary: runSummarySchema.optional(),
});
export type AnalysisRunStatus = z.infer<typeof analysisRunStatusSchema>;

export const analysisRunSchema = resourceSchema('AnalysisRun', analysisRunSpecSchema, analysisRunStatusSchema);
export type AnalysisRun = z.infer<typeof analysisRunSchema>;
export type AnalysisRunInput = z.input<typeof analysisRunSchema>;

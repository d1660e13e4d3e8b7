// Rollout (sluice.dev/v1alpha1) with Argo Rollouts v1alpha1 field names for the supported subset: an Argo
// manifest that uses only these fields works after changing apiVersion. Objects are parsed with z.object, which
// drops unknown keys instead of failing, so an older or newer client's extra fields never break a reconcile.
import { z } from 'zod';
import { celHint, intOrStringHint, preserveHint } from '../common/crd-hints.ts';
import { durationSchema } from '../common/duration.ts';
import { intOrStringSchema } from '../common/int-or-string.ts';
import { conditionSchema, labelSelectorSchema, resourceSchema, timestampSchema } from '../common/meta.ts';
import { judgeSpecSchema } from './judge.ts';

export const ROLLOUT_STEP_KINDS = ['setWeight', 'pause', 'setCanaryScale', 'analysis', 'experiment', 'setHeaderRoute', 'setMirrorRoute'] as const;
export type RolloutStepKind = (typeof ROLLOUT_STEP_KINDS)[number];

const seconds = z.int().min(0);

export const MAX_CANARY_STEPS = 100;

/** Argo's defaults for fields left unset. They are not CRD defaults, so a stored object keeps what the user wrote
 * (and an Argo object round-trips unchanged); read them with `spec.x ?? ROLLOUT_DEFAULTS.x`. */
export const ROLLOUT_DEFAULTS = {
  replicas: 1,
  revisionHistoryLimit: 10,
  progressDeadlineSeconds: 600,
  maxSurge: '25%',
  maxUnavailable: '25%',
  scaleDownDelaySeconds: 30,
  /** 0 means never scale the aborted canary down. */
  abortScaleDownDelaySeconds: 30,
  autoPromotionEnabled: true,
  successfulRunHistoryLimit: 5,
  unsuccessfulRunHistoryLimit: 5,
} as const;

/** Args a Rollout passes to an analysis: a literal, or a value read from the Rollout or its pod-template hash. */
export const rolloutAnalysisArgSchema = z.object({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z
    .object({
      podTemplateHashValue: z.enum(['Stable', 'Latest']).optional(),
      fieldRef: z.object({ fieldPath: z.string() }).optional(),
    })
    .optional(),
});

export const analysisTemplateRefSchema = z.object({
  templateName: z.string(),
  clusterScope: z.boolean().optional(),
});

export const rolloutAnalysisSchema = z.object({
  templates: z.array(analysisTemplateRefSchema).optional(),
  args: z.array(rolloutAnalysisArgSchema).optional(),
  // Sluice's builtin checks: no PromQL to write. The queries follow the Rollout's router (Istio, NGINX Ingress,
  // Gateway API on Envoy) and judge the canary revision's traffic.
  successRate: z.object({ min: z.number().meta({ minimum: 0, maximum: 100 }) }).optional(),
  latency: z.object({ maxMs: z.number().meta({ minimum: 0 }) }).optional(),
  /**
   * Judge the canary relative to the stable revision over the same window instead of (only) absolute thresholds:
   * the canary may be worse by at most this much.
   */
  compareToStable: z.object({ maxSuccessRateDrop: z.number().min(0).optional(), maxLatencyIncreaseMs: z.number().min(0).optional() }).optional(),
  /** Where the builtin checks query; defaults to the operator's --prometheus-address. */
  prometheus: z.object({ address: z.string() }).optional(),
  /**
   * Gateway API only: the implementation whose metrics the builtin checks read: "envoy" (the default; one cluster per
   * HTTPRoute rule), "traefik" (one series per backend Service) or "linkerd" (its proxies' inbound metrics, per
   * pod-template hash). Traefik and Linkerd tell the revisions apart, so compareToStable and the judge work on them.
   */
  gatewayAPIMetrics: z.enum(['envoy', 'traefik', 'linkerd']).optional(),
  /** Measurement interval and rate window of the builtin checks (default "1m"), how many, how many may fail. */
  interval: z.string().optional(),
  count: z.int().min(1).optional(),
  failureLimit: z.int().min(0).optional(),
  /** The sequential judge: canary against stable on the builtin checks, deciding as soon as the evidence is conclusive. */
  judge: judgeSpecSchema.optional(),
  /** Labels and annotations put on the AnalysisRuns this analysis creates (Argo's field); Sluice's own labels win. */
  analysisRunMetadata: z.object({ labels: z.record(z.string(), z.string()).optional(), annotations: z.record(z.string(), z.string()).optional() }).optional(),
});
export type RolloutAnalysis = z.infer<typeof rolloutAnalysisSchema>;

/**
 * Argo's experiment step: an Experiment (src/experiment/) of ReplicaSets running the canary's or the stable's pod
 * spec next to the rollout; the step passes when the Experiment is Successful and aborts the rollout when it fails.
 */
export const rolloutExperimentStepSchema = z.object({
  duration: durationSchema.optional(),
  templates: z.array(
    z.object({
      name: z.string(),
      specRef: z.enum(['canary', 'stable']),
      replicas: z.int().min(0).optional(),
      /**
       * This share of traffic (percent) goes to the template's own Service through the Rollout's router (Istio,
       * Gateway API) while the Experiment runs, taken from the stable's share; setting it creates the Service.
       */
      weight: z.int().optional(),
      /** A Service for the template's pods (Argo's field); `name` defaults to the template's ReplicaSet name. */
      service: z.object({ name: z.string().optional() }).optional(),
      selector: labelSelectorSchema.optional(),
      /** Labels and annotations added to the template's pods. */
      metadata: z.object({ labels: z.record(z.string(), z.string()).optional(), annotations: z.record(z.string(), z.string()).optional() }).optional(),
    }),
  ),
  analyses: z
    .array(
      z.object({
        name: z.string(),
        templateName: z.string(),
        clusterScope: z.boolean().optional(),
        args: z.array(rolloutAnalysisArgSchema).optional(),
        requiredForCompletion: z.boolean().optional(),
      }),
    )
    .optional(),
  scaleDownDelaySeconds: z.int().min(0).optional(),
  dryRun: z.array(z.object({ metricName: z.string() })).optional(),
});
export type RolloutExperimentStep = z.infer<typeof rolloutExperimentStepSchema>;

const stringMatchSchema = z.object({
  exact: z.string().optional(),
  regex: z.string().optional(),
  prefix: z.string().optional(),
});

const headerRouteMatchSchema = z.object({
  headerName: z.string(),
  headerValue: stringMatchSchema,
});

const mirrorRouteMatchSchema = z.object({
  method: stringMatchSchema.optional(),
  path: stringMatchSchema.optional(),
  headers: z.record(z.string(), stringMatchSchema).optional(),
});

// The CRD enforces "exactly one kind per step" with CEL too, so `kubectl apply` fails early; validate.ts reports
// the same rule with the step's path for objects that reach the controller by other routes.
const stepKindsCount = ROLLOUT_STEP_KINDS.map((k) => `(has(self.${k}) ? 1 : 0)`).join(' + ');

export const canaryStepSchema = z
  .object({
    // The bounds are CRD-only (meta) so `kubectl apply` fails early, while a parse stays lenient and
    // validateRollout reports the range with the step's path.
    setWeight: z.int().meta({ minimum: 0, maximum: 100 }).optional(),
    pause: z.object({ duration: durationSchema.optional() }).optional(),
    setCanaryScale: z
      .object({
        replicas: z.int().optional(),
        weight: z.int().optional(),
        matchTrafficWeight: z.boolean().optional(),
      })
      .optional(),
    analysis: rolloutAnalysisSchema.optional(),
    experiment: rolloutExperimentStepSchema.optional(),
    setHeaderRoute: z
      .object({
        name: z.string(),
        match: z.array(headerRouteMatchSchema).optional(),
      })
      .optional(),
    setMirrorRoute: z
      .object({
        name: z.string(),
        percentage: z.int().meta({ minimum: 0, maximum: 100 }).optional(),
        match: z.array(mirrorRouteMatchSchema).optional(),
      })
      .optional(),
  })
  .meta(
    celHint({
      rule: `${stepKindsCount} == 1`,
      message: `a step must set exactly one of: ${ROLLOUT_STEP_KINDS.join(', ')}`,
    }),
  );
export type CanaryStep = z.infer<typeof canaryStepSchema>;

const istioVirtualServiceSchema = z.object({
  name: z.string(),
  routes: z.array(z.string()).optional(),
});

export const gatewayApiSchema = z.object({
  httpRoute: z.string().optional(),
  httpRoutes: z.array(z.object({ name: z.string(), useHeaderRoutes: z.boolean().optional() })).optional(),
  namespace: z.string().optional(),
});
export type GatewayApiRouting = z.infer<typeof gatewayApiSchema>;

/** The Argo plugin that provides Gateway API routing; Sluice accepts its config as an alias of `gatewayAPI`. */
export const ARGO_GATEWAY_API_PLUGIN = 'argoproj-labs/gatewayAPI';

export const trafficRoutingSchema = z.object({
  istio: z
    .object({
      virtualService: istioVirtualServiceSchema.optional(),
      virtualServices: z.array(istioVirtualServiceSchema).optional(),
      destinationRule: z
        .object({
          name: z.string(),
          canarySubsetName: z.string().optional(),
          stableSubsetName: z.string().optional(),
        })
        .optional(),
    })
    .optional(),
  nginx: z
    .object({
      stableIngress: z.string().optional(),
      stableIngresses: z.array(z.string()).optional(),
      annotationPrefix: z.string().optional(),
      additionalIngressAnnotations: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  // Sluice routes Gateway API natively. Argo Rollouts does it through a plugin instead, written as
  // `plugins: {argoproj-labs/gatewayAPI: {...}}`; that form is accepted too and normalizeTrafficRouting maps it here.
  gatewayAPI: gatewayApiSchema.optional(),
  plugins: z.record(z.string(), z.looseObject({})).meta(preserveHint).optional(),
  managedRoutes: z.array(z.object({ name: z.string() })).optional(),
});
export type TrafficRouting = z.infer<typeof trafficRoutingSchema>;

/** Flagger's webhook kinds: gates that hold a rollout, checks that fail it, notifications that never hold it. */
export const ROLLOUT_WEBHOOK_TYPES = ['confirm-rollout', 'pre-rollout', 'rollout', 'confirm-traffic-increase', 'confirm-promotion', 'post-rollout', 'rollback', 'event'] as const;
export type RolloutWebhookType = (typeof ROLLOUT_WEBHOOK_TYPES)[number];

/**
 * A webhook the rollout calls (Sluice's form of Flagger's `analysis.webhooks`): an HTTP POST of Flagger's payload.
 * confirm-* gates hold while they answer other than 2xx; pre-rollout and rollout checks abort on a failure; rollback
 * aborts when it answers 2xx; post-rollout and event are notifications.
 */
export const rolloutWebhookSchema = z.object({
  name: z.string(),
  type: z.enum(ROLLOUT_WEBHOOK_TYPES),
  url: z.string(),
  /** Per attempt; default 10s. */
  timeout: durationSchema.optional(),
  /** Further attempts after a network error, a timeout or a 5xx answer (default 0). */
  retries: z.int().min(0).max(10).optional(),
  /** How often a held gate (or a rollback hook) is asked again; default 15s. */
  interval: durationSchema.optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});
export type RolloutWebhook = z.infer<typeof rolloutWebhookSchema>;

export const canaryStrategySchema = z.object({
  canaryService: z.string().optional(),
  stableService: z.string().optional(),
  // Bounded so the apiserver can afford the per-step CEL rule (its cost estimate multiplies by maxItems); Argo sets
  // no bound, but no real rollout comes near it.
  steps: z.array(canaryStepSchema).max(MAX_CANARY_STEPS).optional(),
  trafficRouting: trafficRoutingSchema.optional(),
  analysis: rolloutAnalysisSchema.extend({ startingStep: z.int().min(0).optional() }).optional(),
  maxSurge: intOrStringSchema.optional(),
  maxUnavailable: intOrStringSchema.optional(),
  dynamicStableScale: z.boolean().optional(),
  abortScaleDownDelaySeconds: seconds.optional(),
  scaleDownDelaySeconds: seconds.optional(),
  webhooks: z.array(rolloutWebhookSchema).max(50).optional(),
});
export type CanaryStrategy = z.infer<typeof canaryStrategySchema>;

export const blueGreenStrategySchema = z.object({
  activeService: z.string().optional(),
  previewService: z.string().optional(),
  autoPromotionEnabled: z.boolean().optional(),
  autoPromotionSeconds: seconds.optional(),
  previewReplicaCount: z.int().min(0).optional(),
  prePromotionAnalysis: rolloutAnalysisSchema.optional(),
  postPromotionAnalysis: rolloutAnalysisSchema.optional(),
  scaleDownDelaySeconds: seconds.optional(),
  abortScaleDownDelaySeconds: seconds.optional(),
  /** Sluice's webhook gates, as on a canary; confirm-traffic-increase has no meaning here (no weights). */
  webhooks: z.array(rolloutWebhookSchema).max(50).optional(),
});
export type BlueGreenStrategy = z.infer<typeof blueGreenStrategySchema>;

/** Pod template: kept whole (the apiserver validates it again when it lands in a ReplicaSet). */
export const podTemplateSchema = z
  .looseObject({
    metadata: z.looseObject({ labels: z.record(z.string(), z.string()).optional() }).optional(),
  })
  .meta(preserveHint);

export const rolloutSpecSchema = z.object({
  replicas: z.int().min(0).optional(),
  selector: labelSelectorSchema.optional(),
  template: podTemplateSchema.optional(),
  workloadRef: z
    .object({
      apiVersion: z.string().optional(),
      kind: z.string().optional(),
      name: z.string().optional(),
      scaleDown: z.enum(['never', 'onsuccess', 'progressively']).optional(),
    })
    .optional(),
  revisionHistoryLimit: z.int().min(0).optional(),
  paused: z.boolean().optional(),
  progressDeadlineSeconds: seconds.optional(),
  progressDeadlineAbort: z.boolean().optional(),
  minReadySeconds: seconds.optional(),
  rollbackWindow: z.object({ revisions: z.int().min(0).optional() }).optional(),
  restartAt: timestampSchema.optional(),
  // Argo's: how many finished AnalysisRuns of past revisions are kept (each class; 5 when unset). Unsuccessful means
  // Failed, Error or Inconclusive.
  analysis: z.object({ successfulRunHistoryLimit: z.int().min(0).optional(), unsuccessfulRunHistoryLimit: z.int().min(0).optional() }).optional(),
  strategy: z
    .object({
      canary: canaryStrategySchema.optional(),
      blueGreen: blueGreenStrategySchema.optional(),
    })
    .optional(),
});
export type RolloutSpec = z.infer<typeof rolloutSpecSchema>;

const analysisRunStatusRefSchema = z.object({
  name: z.string(),
  status: z.string().optional(),
  message: z.string().optional(),
});

const weightDestinationSchema = z.object({
  weight: z.int().optional(),
  podTemplateHash: z.string().optional(),
  serviceName: z.string().optional(),
});

export const rolloutPhaseSchema = z.enum(['Progressing', 'Paused', 'Healthy', 'Degraded']);
export type RolloutPhase = z.infer<typeof rolloutPhaseSchema>;

export const rolloutStatusSchema = z.object({
  phase: rolloutPhaseSchema.optional(),
  message: z.string().optional(),
  // Argo writes observedGeneration as a string; an int from another writer is accepted too.
  observedGeneration: z.union([z.int(), z.string()]).meta(intOrStringHint).optional(),
  currentStepIndex: z.int().min(0).optional(),
  currentPodHash: z.string().optional(),
  currentStepHash: z.string().optional(),
  stableRS: z.string().optional(),
  pauseConditions: z
    .array(z.object({ reason: z.string(), startTime: timestampSchema.optional() }))
    .optional(),
  controllerPause: z.boolean().optional(),
  abort: z.boolean().optional(),
  abortedAt: timestampSchema.optional(),
  promoteFull: z.boolean().optional(),
  canary: z
    .object({
      weights: z
        .object({
          canary: weightDestinationSchema.optional(),
          stable: weightDestinationSchema.optional(),
          /** The running experiment step's templates that receive traffic (Argo's field). */
          additional: z.array(weightDestinationSchema).optional(),
          verified: z.boolean().optional(),
        })
        .optional(),
      currentBackgroundAnalysisRunStatus: analysisRunStatusRefSchema.optional(),
      currentStepAnalysisRunStatus: analysisRunStatusRefSchema.optional(),
      /** The Experiment of the current experiment step. */
      currentExperiment: z.string().optional(),
    })
    .optional(),
  blueGreen: z
    .object({
      activeSelector: z.string().optional(),
      previewSelector: z.string().optional(),
      scaleUpPreviewCheckPoint: z.boolean().optional(),
      prePromotionAnalysisRunStatus: analysisRunStatusRefSchema.optional(),
      postPromotionAnalysisRunStatus: analysisRunStatusRefSchema.optional(),
    })
    .optional(),
  conditions: z.array(conditionSchema).optional(),
  replicas: z.int().optional(),
  updatedReplicas: z.int().optional(),
  readyReplicas: z.int().optional(),
  availableReplicas: z.int().optional(),
  HPAReplicas: z.int().optional(),
  collisionCount: z.int().optional(),
  /** Serialized label selector for the scale subresource (`labelSelectorPath: .status.selector`). */
  selector: z.string().optional(),
  restartedAt: timestampSchema.optional(),
  /** Sluice's webhook gates (spec.strategy.canary.webhooks). */
  gates: z
    .object({
      /** The gate holding the rollout now. */
      waiting: z.object({ name: z.string(), type: z.string(), since: timestampSchema.optional(), message: z.string().optional() }).optional(),
      /** The revision whose start gates (confirm-rollout, pre-rollout) passed: they are not asked again for it. */
      started: z.string().optional(),
    })
    .optional(),
});
export type RolloutStatus = z.infer<typeof rolloutStatusSchema>;

export const rolloutSchema = resourceSchema('Rollout', rolloutSpecSchema, rolloutStatusSchema);
export type Rollout = z.infer<typeof rolloutSchema>;
export type RolloutInput = z.input<typeof rolloutSchema>;

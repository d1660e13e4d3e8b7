// Experiment (sluice.dev/v1alpha1) with Argo Rollouts v1alpha1 field names for the supported subset: ReplicaSets
// run side by side for a while (templates), with analyses judging them. A Rollout's `experiment` step writes one with
// its `specRef`s already resolved into pod templates, as Argo does, so the Experiment kind itself has no specRef.
import { z } from 'zod';
import { durationSchema } from '../common/duration.ts';
import { conditionSchema, labelSelectorSchema, resourceSchema, timestampSchema } from '../common/meta.ts';
import { argumentSchema, analysisPhaseSchema } from '../analysis/schema.ts';
import { podTemplateSchema } from '../rollout/schema.ts';

/** Argo's defaults for fields left unset (read with `spec.x ?? EXPERIMENT_DEFAULTS.x`). */
export const EXPERIMENT_DEFAULTS = {
  replicas: 1,
  progressDeadlineSeconds: 600,
  scaleDownDelaySeconds: 0,
} as const;

export const experimentTemplateSchema = z.object({
  name: z.string(),
  replicas: z.int().min(0).optional(),
  minReadySeconds: z.int().min(0).optional(),
  selector: labelSelectorSchema.optional(),
  template: podTemplateSchema.optional(),
  /** A Service selecting this template's pods, on its containers' ports (Argo's field); `name` defaults to the ReplicaSet's. */
  service: z.object({ name: z.string().optional() }).optional(),
});
export type ExperimentTemplate = z.infer<typeof experimentTemplateSchema>;

export const experimentAnalysisSchema = z.object({
  name: z.string(),
  templateName: z.string(),
  clusterScope: z.boolean().optional(),
  args: z.array(argumentSchema).optional(),
  /** The Experiment completes when every analysis that sets this has completed (and not before, even past its duration). */
  requiredForCompletion: z.boolean().optional(),
});
export type ExperimentAnalysis = z.infer<typeof experimentAnalysisSchema>;

export const experimentSpecSchema = z.object({
  templates: z.array(experimentTemplateSchema),
  /** How long the templates run once all are available; unset: until the required analyses complete or terminate. */
  duration: durationSchema.optional(),
  progressDeadlineSeconds: z.int().min(0).optional(),
  /** Set by a person (`kubectl sluice terminate experiment`) or the owning Rollout: end now, scale everything down. */
  terminate: z.boolean().optional(),
  analyses: z.array(experimentAnalysisSchema).optional(),
  /** How long the ReplicaSets keep their pods after the Experiment ends (default 0: scaled down at once). */
  scaleDownDelaySeconds: z.int().min(0).optional(),
  /** Passed on to every analysis run, as in Argo. */
  dryRun: z.array(z.object({ metricName: z.string() })).optional(),
  measurementRetention: z.array(z.object({ metricName: z.string(), limit: z.int() })).optional(),
});
export type ExperimentSpec = z.infer<typeof experimentSpecSchema>;

/** A template's state, Argo's TemplateStatusCode. */
export const templateStatusCodeSchema = z.enum(['Progressing', 'Running', 'Successful', 'Failed', 'Error']);
export type TemplateStatusCode = z.infer<typeof templateStatusCodeSchema>;

export const templateStatusSchema = z.object({
  name: z.string(),
  replicas: z.int().optional(),
  updatedReplicas: z.int().optional(),
  readyReplicas: z.int().optional(),
  availableReplicas: z.int().optional(),
  status: templateStatusCodeSchema.optional(),
  message: z.string().optional(),
  lastTransitionTime: timestampSchema.optional(),
  podTemplateHash: z.string().optional(),
  /** Sluice's addition: the ReplicaSet running this template. */
  replicaSetName: z.string().optional(),
  /** The template's Service, when it asks for one. */
  serviceName: z.string().optional(),
  /** Sluice's addition: the Service's ready endpoints as its EndpointSlices publish them (what a proxy can reach). */
  readyEndpoints: z.int().optional(),
});
export type TemplateStatus = z.infer<typeof templateStatusSchema>;

export const experimentAnalysisRunStatusSchema = z.object({
  name: z.string(),
  analysisRun: z.string().optional(),
  phase: analysisPhaseSchema,
  message: z.string().optional(),
});
export type ExperimentAnalysisRunStatus = z.infer<typeof experimentAnalysisRunStatusSchema>;

export const experimentStatusSchema = z.object({
  phase: analysisPhaseSchema.optional(),
  message: z.string().optional(),
  templateStatuses: z.array(templateStatusSchema).optional(),
  /** When every template first had all its replicas available: the duration counts from here. */
  availableAt: timestampSchema.optional(),
  conditions: z.array(conditionSchema).optional(),
  analysisRuns: z.array(experimentAnalysisRunStatusSchema).optional(),
  observedGeneration: z.int().optional(),
});
export type ExperimentStatus = z.infer<typeof experimentStatusSchema>;
export type ExperimentPhase = NonNullable<ExperimentStatus['phase']>;

export const experimentSchema = resourceSchema('Experiment', experimentSpecSchema, experimentStatusSchema);
export type Experiment = z.infer<typeof experimentSchema>;

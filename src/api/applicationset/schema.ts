// ApplicationSet (sluice.dev/v1alpha1) with Argo CD's field names for the supported subset: the `list`, `clusters`,
// `git` (directories and files) and `matrix` generators, the RollingSync strategy, a `template` with Argo CD's `{{param}}` placeholders, and syncPolicy's
// preserveResourcesOnDeletion. The template's spec is an Application spec whose strings may hold placeholders: it
// is checked as an Application once rendered (src/gitops/appset), so its errors name the generated app's field.
import { z } from 'zod';
import { preserveHint } from '../common/crd-hints.ts';
import { intOrStringSchema } from '../common/int-or-string.ts';
import { conditionSchema, labelSelectorSchema, resourceSchema, timestampSchema } from '../common/meta.ts';

/** A list element: Argo CD's flat string parameters (nested objects become dotted names, `values.env`). */
const elementSchema = z.looseObject({}).meta(preserveHint);

export const listGeneratorSchema = z.object({
  elements: z.array(elementSchema),
});

export const clustersGeneratorSchema = z.object({
  /** On the cluster Secrets' labels; empty (or absent) selects every cluster, the operator's own included. */
  selector: labelSelectorSchema.optional(),
  /** Extra parameters `values.<key>`; their values may use the cluster's parameters. */
  values: z.record(z.string(), z.string()).optional(),
});

const gitPathSchema = z.object({ path: z.string().min(1), exclude: z.boolean().optional() });

export const gitGeneratorSchema = z.object({
  repoURL: z.string().min(1),
  revision: z.string().optional(),
  /** Each directory matching a path (a glob: `*` within a segment, `**` across) is one parameter set. */
  directories: z.array(gitPathSchema).optional(),
  /** Each JSON or YAML file matching a path gives its (flattened) keys as parameters, plus `path.*`. */
  files: z.array(gitPathSchema).optional(),
  /** Polling of the repository; a webhook is the fast path (Argo CD's default is 3m). */
  requeueAfterSeconds: z.int().min(10).optional(),
});

const leafGenerators = {
  list: listGeneratorSchema.optional(),
  clusters: clustersGeneratorSchema.optional(),
  git: gitGeneratorSchema.optional(),
  /** Argo CD's post selector: keeps the parameter sets whose (flattened) values match. */
  selector: labelSelectorSchema.optional(),
};

/**
 * Argo CD's matrix: the cartesian product of exactly two child generators' parameter sets. A child may be a matrix
 * once (Argo CD's limit); deeper is kept as written here so validate.ts can refuse it by name instead of the
 * apiserver pruning it away.
 */
const innerMatrixSchema = z.object({ generators: z.array(z.object({ ...leafGenerators, matrix: z.looseObject({}).meta(preserveHint).optional() })) });
export const matrixGeneratorSchema = z.object({ generators: z.array(z.object({ ...leafGenerators, matrix: innerMatrixSchema.optional() })) });

export const generatorSchema = z.object({
  ...leafGenerators,
  matrix: matrixGeneratorSchema.optional(),
});
export type Generator = z.infer<typeof generatorSchema>;

export const templateSchema = z.object({
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    finalizers: z.array(z.string()).optional(),
  }),
  spec: z.looseObject({}).meta(preserveHint),
});
export type AppTemplate = z.infer<typeof templateSchema>;

/**
 * Argo CD's RollingSync step: the generated Applications whose labels match every expression (In / NotIn; the
 * operator is a plain string here so validate.ts can name a bad one), at most maxUpdate of them updating at once.
 */
export const rollingSyncStepSchema = z.object({
  matchExpressions: z.array(z.object({ key: z.string(), operator: z.string(), values: z.array(z.string()).optional() })).optional(),
  /** An integer or a percentage of the step's Applications ("25%": rounded down, at least 1); default 100%; 0 holds the step. */
  maxUpdate: intOrStringSchema.optional(),
});
export type RollingSyncStep = z.infer<typeof rollingSyncStepSchema>;

export const strategySchema = z.object({
  /** AllAtOnce (the default) or RollingSync. */
  type: z.string().optional(),
  rollingSync: z.object({ steps: z.array(rollingSyncStepSchema) }).optional(),
  /** Deleting the set: AllAtOnce (the default) or Reverse (RollingSync only: the last step's Applications first). */
  deletionOrder: z.string().optional(),
});

export const applicationSetSpecSchema = z.object({
  generators: z.array(generatorSchema).min(1),
  /** Go-template form is not supported: refused with a condition rather than rendered as text. */
  goTemplate: z.boolean().optional(),
  template: templateSchema,
  syncPolicy: z
    .object({
      /** Deleting a generated Application (or the set) leaves the objects it deployed in place. */
      preserveResourcesOnDeletion: z.boolean().optional(),
    })
    .optional(),
  /** How a change of the generated Applications is released: all at once, or step by step (RollingSync). */
  strategy: strategySchema.optional(),
});
export type ApplicationSetSpec = z.infer<typeof applicationSetSpecSchema>;

/** Argo CD's progressive-sync status of one generated Application. */
export const applicationSetApplicationStatusSchema = z.object({
  application: z.string(),
  /** Waiting (has a change its step may not take yet), Pending (just updated), Progressing, Healthy. */
  status: z.enum(['Waiting', 'Pending', 'Progressing', 'Healthy']),
  message: z.string().optional(),
  /** The 1-based step that selects it, as text (Argo CD's form); "0" when no step selects it. */
  step: z.string().optional(),
  /** The revisions its sources name now (under RollingSync: the commits it is pinned to). */
  targetRevisions: z.array(z.string()).optional(),
  lastTransitionTime: timestampSchema.optional(),
});
export type ApplicationSetApplicationStatus = z.infer<typeof applicationSetApplicationStatusSchema>;

export const applicationSetStatusSchema = z.object({
  conditions: z.array(conditionSchema).optional(),
  applicationStatus: z.array(applicationSetApplicationStatusSchema).optional(),
  /** The Applications this set generated (Argo CD's status.resources, name and health only). */
  resources: z.array(z.object({ name: z.string(), namespace: z.string().optional(), status: z.string().optional(), health: z.object({ status: z.string() }).optional() })).optional(),
});
export type ApplicationSetStatus = z.infer<typeof applicationSetStatusSchema>;

export const applicationSetSchema = resourceSchema('ApplicationSet', applicationSetSpecSchema, applicationSetStatusSchema);
export type ApplicationSet = z.infer<typeof applicationSetSchema>;

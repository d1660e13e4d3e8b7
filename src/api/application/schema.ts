// Application (sluice.dev/v1alpha1) with Argo CD field names for the supported subset, plus Sluice's own
// `pollInterval` and `credentials`. spec.destination names the operator's own cluster or one of its cluster Secrets
// (src/fleet).
import { z } from 'zod';
import { celHint, preserveHint } from '../common/crd-hints.ts';
import { durationSchema } from '../common/duration.ts';
import { conditionSchema, resourceSchema, timestampSchema } from '../common/meta.ts';

export const IN_CLUSTER_SERVER = 'https://kubernetes.default.svc';
export const IN_CLUSTER_NAME = 'in-cluster';
export const DEFAULT_POLL_INTERVAL = '3m';
/** Entries kept in status.history, as in Argo CD. */
export const HISTORY_LIMIT = 10;
/** Argo CD's retry backoff when syncPolicy.retry.backoff leaves a field unset. */
export const RETRY_BACKOFF_DEFAULTS = { duration: '5s', factor: 2, maxDuration: '3m' } as const;

/** Argo CD's source.helm: rendered with `helm template` (gitops/render/helm.ts). */
export const helmOptionsSchema = z.object({
  /** Defaults to the Application's name. */
  releaseName: z.string().optional(),
  /** Relative to the chart's path, inside the repository; applied in order, before `values`/`valuesObject`. */
  valueFiles: z.array(z.string()).optional(),
  ignoreMissingValueFiles: z.boolean().optional(),
  /** Values as a YAML string (Argo CD's older form); `valuesObject` wins when both are set. */
  values: z.string().optional(),
  valuesObject: z.looseObject({}).meta(preserveHint).optional(),
  /** `--set` (or `--set-string` with forceString), after the values. */
  parameters: z.array(z.object({ name: z.string(), value: z.string(), forceString: z.boolean().optional() })).optional(),
  /** `--set-file`: a path inside the repository, relative to the chart. */
  fileParameters: z.array(z.object({ name: z.string(), path: z.string() })).optional(),
  skipCrds: z.boolean().optional(),
  /** Default: the cluster's. */
  kubeVersion: z.string().optional(),
  /** Default: the cluster's group/versions. */
  apiVersions: z.array(z.string()).optional(),
  /** Default: spec.destination.namespace. */
  namespace: z.string().optional(),
});
export type HelmOptions = z.infer<typeof helmOptionsSchema>;

export const applicationSourceSchema = z.object({
  repoURL: z.string(),
  /** A chart of the Helm repository at repoURL (then targetRevision is its version or a semver range). */
  chart: z.string().optional(),
  targetRevision: z.string().optional(),
  path: z.string().optional(),
  directory: z
    .object({
      recurse: z.boolean().optional(),
      include: z.string().optional(),
      exclude: z.string().optional(),
    })
    .optional(),
  kustomize: z
    .object({
      namePrefix: z.string().optional(),
      nameSuffix: z.string().optional(),
      images: z.array(z.string()).optional(),
      commonLabels: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  helm: helmOptionsSchema.optional(),
  /** With spec.sources: a name other sources' helm.valueFiles use as `$name/file.yaml` (Argo CD's `ref`). */
  ref: z.string().optional(),
});
export type ApplicationSource = z.infer<typeof applicationSourceSchema>;

export const syncPolicySchema = z.object({
  automated: z
    .object({
      prune: z.boolean().optional(),
      selfHeal: z.boolean().optional(),
      allowEmpty: z.boolean().optional(),
    })
    .optional(),
  syncOptions: z.array(z.string()).optional(),
  retry: z
    .object({
      /** Attempts after the first; -1 means unlimited, as in Argo CD. */
      limit: z.int().optional(),
      backoff: z
        .object({
          duration: durationSchema.optional(),
          factor: z.int().optional(),
          maxDuration: durationSchema.optional(),
        })
        .optional(),
    })
    .optional(),
});
export type SyncPolicy = z.infer<typeof syncPolicySchema>;

export const applicationSpecSchema = z
  .object({
    /** Exactly one of source and sources (validate.ts). */
    source: applicationSourceSchema.optional(),
    /** Argo CD's multi-source form: the objects of every source in one plan; `ref` sources lend value files. */
    sources: z.array(applicationSourceSchema).optional(),
    destination: z.object({
      server: z.string().optional(),
      name: z.string().optional(),
      namespace: z.string().optional(),
    }),
    project: z.string().optional(),
    syncPolicy: syncPolicySchema.optional(),
    ignoreDifferences: z.array(z.looseObject({}).meta(preserveHint)).optional(),
    /** How often the repository is polled when no webhook arrives. */
    pollInterval: durationSchema.default(DEFAULT_POLL_INTERVAL),
    /** HTTPS credentials: a Secret with `username` and `password` (or a token as password). */
    credentials: z
      .object({
        secretRef: z.object({ name: z.string(), namespace: z.string().optional() }),
      })
      .optional(),
    /**
     * SOPS files in the sources are decrypted at render time (Flux's `decryption`): age identities from the data keys
     * ending in `.agekey` of a Secret in the Application's namespace.
     */
    decryption: z
      .object({
        provider: z.literal('sops'),
        secretRef: z.object({ name: z.string().min(1) }),
      })
      .optional(),
  })
  // The apiserver refuses the same (an Application with neither, or both, never reaches the operator).
  .meta(celHint({ rule: 'has(self.source) != has(self.sources)', message: 'set exactly one of spec.source and spec.sources' }))
  // Argo CD's rule, at the schema so a linter reports it with the spec's other shape errors (validate.ts has the rest).
  .superRefine((spec, ctx) => {
    // Runs with the spec's other shape errors too (`when`), so the spec is only known to be an object here.
    const s = spec as { source?: unknown; sources?: unknown };
    if (s.source === undefined && s.sources === undefined) {
      ctx.addIssue({ code: 'custom', path: ['source'], message: 'required: set spec.source (or spec.sources for several sources)' });
    }
  }, { when: (payload) => typeof payload.value === 'object' && payload.value !== null });
export type ApplicationSpec = z.infer<typeof applicationSpecSchema>;

/** The sources an Application reads, in order: spec.sources, or spec.source alone (validate.ts allows one form). */
export function appSources(spec: Pick<ApplicationSpec, 'source' | 'sources'>): ApplicationSource[] {
  return spec.sources ?? (spec.source !== undefined ? [spec.source] : []);
}

/** The status field path of source i: spec.source for the single form, spec.sources[i] otherwise. */
export function sourceField(spec: Pick<ApplicationSpec, 'sources'>, i: number): string {
  return spec.sources === undefined ? 'spec.source' : `spec.sources[${i}]`;
}

export const syncStatusCodeSchema = z.enum(['Synced', 'OutOfSync', 'Unknown']);
export const healthStatusCodeSchema = z.enum(['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown']);
export type HealthStatusCode = z.infer<typeof healthStatusCodeSchema>;

const healthSchema = z.object({ status: healthStatusCodeSchema, message: z.string().optional() });

export const resourceStatusSchema = z.object({
  group: z.string().optional(),
  version: z.string().optional(),
  kind: z.string(),
  namespace: z.string().optional(),
  name: z.string(),
  status: syncStatusCodeSchema.optional(),
  health: healthSchema.optional(),
  syncWave: z.int().optional(),
});
export type ResourceStatus = z.infer<typeof resourceStatusSchema>;

export const syncResultResourceSchema = z.object({
  group: z.string().optional(),
  version: z.string().optional(),
  kind: z.string(),
  namespace: z.string().optional(),
  name: z.string(),
  status: z.enum(['Synced', 'SyncFailed', 'Pruned', 'PruneSkipped']).optional(),
  message: z.string().optional(),
  hookPhase: z.string().optional(),
  syncPhase: z.string().optional(),
});

export const operationPhaseSchema = z.enum(['Running', 'Terminating', 'Failed', 'Error', 'Succeeded']);

export const applicationStatusSchema = z.object({
  /** revision for spec.source; revisions (one per spec.sources entry, in order) for several sources, as Argo CD. */
  sync: z.object({ status: syncStatusCodeSchema, revision: z.string().optional(), revisions: z.array(z.string()).optional() }).optional(),
  health: healthSchema.optional(),
  resources: z.array(resourceStatusSchema).optional(),
  conditions: z.array(conditionSchema).optional(),
  history: z
    .array(
      z.object({
        id: z.int(),
        /** With several sources: the revisions joined by commas (revisions holds them apart). */
        revision: z.string(),
        revisions: z.array(z.string()).optional(),
        deployedAt: timestampSchema,
        source: applicationSourceSchema.optional(),
        sources: z.array(applicationSourceSchema).optional(),
      }),
    )
    .max(HISTORY_LIMIT)
    .optional(),
  operationState: z
    .object({
      phase: operationPhaseSchema,
      message: z.string().optional(),
      /** Failed attempts retried so far at this revision (Argo CD's field), for syncPolicy.retry.limit. */
      retryCount: z.int().min(0).optional(),
      startedAt: timestampSchema.optional(),
      finishedAt: timestampSchema.optional(),
      syncResult: z
        .object({
          revision: z.string().optional(),
          revisions: z.array(z.string()).optional(),
          resources: z.array(syncResultResourceSchema).optional(),
        })
        .optional(),
    })
    .optional(),
  reconciledAt: timestampSchema.optional(),
  observedGeneration: z.int().optional(),
});
export type ApplicationStatus = z.infer<typeof applicationStatusSchema>;

export const applicationSchema = resourceSchema('Application', applicationSpecSchema, applicationStatusSchema);
/** Parsed Application: defaults applied (pollInterval is always set). */
export type Application = z.infer<typeof applicationSchema>;
export type ApplicationInput = z.input<typeof applicationSchema>;

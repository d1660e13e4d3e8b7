// A Rollout as the views show it: the object, its ReplicaSets and its AnalysisRuns, read once from the apiserver.
// Parsed with zod schemas that keep only what the views read and tolerate everything else.
import { z } from 'zod';
import { analysisRunStatusSchema } from '../../api/analysis/schema.ts';
import { objectMetaSchema } from '../../api/common/meta.ts';
import { rolloutSchema, type Rollout } from '../../api/rollout/schema.ts';
import type { KubeClient, KubeObject } from '../../kube/client.ts';
import { R } from '../../kube/resource.ts';

/** The label the operator puts on ReplicaSets and AnalysisRuns (Argo's name, so Argo tooling finds them too). */
export const POD_TEMPLATE_HASH = 'rollouts-pod-template-hash';
/** Labels the operator puts on its AnalysisRuns (src/rollout/analysis.ts). */
export const RUN_ROLLOUT_LABEL = 'sluice.dev/rollout';
export const RUN_STEP_LABEL = 'sluice.dev/step-index';

const containerSchema = z.looseObject({ name: z.string(), image: z.string().optional() });

export const replicaSetViewSchema = z.object({
  metadata: objectMetaSchema,
  spec: z
    .looseObject({
      replicas: z.int().optional(),
      template: z.looseObject({ metadata: z.looseObject({}).optional(), spec: z.looseObject({ containers: z.array(containerSchema).optional() }).optional() }).optional(),
    })
    .optional(),
  status: z.looseObject({ replicas: z.int().optional(), readyReplicas: z.int().optional(), availableReplicas: z.int().optional() }).optional(),
});
export type ReplicaSetView = z.infer<typeof replicaSetViewSchema>;

export const analysisRunViewSchema = z.object({
  metadata: objectMetaSchema,
  spec: z.looseObject({ terminate: z.boolean().optional() }).optional(),
  status: analysisRunStatusSchema.optional(),
});
export type AnalysisRunView = z.infer<typeof analysisRunViewSchema>;

export interface RolloutSnapshot {
  rollout: Rollout;
  /** Owned by the Rollout, oldest first. */
  replicaSets: ReplicaSetView[];
  /** Owned by the Rollout, oldest first. */
  analysisRuns: AnalysisRunView[];
}

const byCreation = (a: { metadata: { creationTimestamp?: string; name?: string } }, b: { metadata: { creationTimestamp?: string; name?: string } }): number =>
  (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');

const ownerRefsSchema = z.array(z.looseObject({ uid: z.string().optional(), controller: z.boolean().optional() }));

const ownedBy =
  (uid: string | undefined) =>
  (o: { metadata: Record<string, unknown> }): boolean => {
    const refs = ownerRefsSchema.safeParse(o.metadata['ownerReferences']);
    return refs.success && refs.data.some((r) => r.uid === uid && r.controller === true);
  };

/** Parses what the apiserver returned; a malformed object is an error naming the field. */
export function parseWith<T>(schema: z.ZodType<T>, what: string, raw: unknown): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new Error(`${what}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
}

/** Assembles a snapshot from objects already read (the live view and tests build it without the apiserver). */
export function snapshotOf(rolloutRaw: unknown, replicaSets: readonly unknown[], analysisRuns: readonly unknown[]): RolloutSnapshot {
  const rollout = parseWith(rolloutSchema, 'Rollout', rolloutRaw);
  const uid = rollout.metadata.uid;
  return {
    rollout,
    replicaSets: replicaSets.map((o) => parseWith(replicaSetViewSchema, 'ReplicaSet', o)).filter(ownedBy(uid)).sort(byCreation),
    analysisRuns: analysisRuns.map((o) => parseWith(analysisRunViewSchema, 'AnalysisRun', o)).filter(ownedBy(uid)).sort(byCreation),
  };
}

/** Reads the Rollout, its ReplicaSets and its AnalysisRuns (three requests). NotFound propagates as a KubeApiError. */
export async function fetchRolloutSnapshot(client: KubeClient, namespace: string, name: string, signal?: AbortSignal): Promise<RolloutSnapshot> {
  const [rollout, rss, runs] = await Promise.all([
    client.get<KubeObject>(R.rollout, namespace, name),
    client.list<KubeObject>(R.replicaSet, namespace, { labelSelector: POD_TEMPLATE_HASH }, signal),
    client.list<KubeObject>(R.analysisRun, namespace, { labelSelector: `${RUN_ROLLOUT_LABEL}=${name}` }, signal),
  ]);
  return snapshotOf(rollout, rss.items, runs.items);
}

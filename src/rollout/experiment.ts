// Experiments for experiment steps: the step's templates with their specRef resolved into the canary's or the
// stable's pod template (as Argo does), owned by the Rollout and labelled with the revision and step like the step's
// AnalysisRuns, so observeRuns (analysis.ts) reads them the same way.
import type { Rollout, RolloutExperimentStep, RolloutStatus } from '../api/rollout/schema.ts';
import type { Experiment } from '../api/experiment/schema.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { isConflict, isNotFound } from '../kube/errors.ts';
import { R } from '../kube/resource.ts';
import { analysisRunName, ROLLOUT_LABEL, stepLabel, stepOfLabel, STEP_INDEX_LABEL } from './analysis.ts';
import type { ExperimentTemplateView } from './decide/types.ts';
import { containerPorts } from '../api/experiment/validate.ts';
import { replicaSetName, type RolloutRef } from './effects.ts';
import { POD_TEMPLATE_HASH_LABEL } from './hash.ts';
import { OWNER_LABEL } from '../runtime/sharding/decide.ts';

/** How long a routed experiment's templates keep their pods after it ends, unless the step says otherwise (Argo: 30 s). */
export const ROUTED_SCALE_DOWN_DELAY_SECONDS = 30;

/** Argo's name: `<rollout>-<revision hash>-<step index>`. */
export const experimentName = analysisRunName;

type PodTemplate = { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown }; [k: string]: unknown };

export interface ExperimentInput {
  ref: RolloutRef;
  templateHash: string;
  stepIndex: number;
  step: RolloutExperimentStep;
  /** The stable revision's pod template (read from its ReplicaSet), for specRef: stable. */
  stableTemplate: unknown;
}

export function experimentManifest(o: ExperimentInput): KubeObject & { spec: Experiment['spec'] } {
  const spec = o.ref.rollout.spec;
  const templates = o.step.templates.map((t) => {
    const base = structuredClone((t.specRef === 'canary' ? spec.template : o.stableTemplate) ?? {}) as PodTemplate;
    const labels = { ...(base.metadata?.labels ?? {}), ...(t.metadata?.labels ?? {}) };
    delete labels[POD_TEMPLATE_HASH_LABEL]; // the Experiment's ReplicaSets carry their own
    const annotations = { ...(base.metadata?.annotations ?? {}), ...(t.metadata?.annotations ?? {}) };
    const template = { ...base, metadata: { ...(base.metadata ?? {}), labels, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) } };
    const selector = t.selector ?? spec.selector ?? { matchLabels: {} };
    // A template that receives traffic needs its own Service (Argo creates one for a weight too).
    const service = t.service ?? ((t.weight ?? 0) > 0 ? {} : undefined);
    return { name: t.name, replicas: t.replicas ?? 1, selector, template, ...(spec.minReadySeconds !== undefined ? { minReadySeconds: spec.minReadySeconds } : {}), ...(service !== undefined ? { service } : {}) };
  });
  // Routed templates keep their pods a while after the end, so the Rollout takes their traffic off first: a route
  // never points at a Service without pods (DESIGN invariant 2).
  const routed = o.step.templates.some((t) => (t.weight ?? 0) > 0);
  const scaleDownDelaySeconds = o.step.scaleDownDelaySeconds ?? (routed ? ROUTED_SCALE_DOWN_DELAY_SECONDS : undefined);
  const analyses = (o.step.analyses ?? []).map((a) => ({
    name: a.name,
    templateName: a.templateName,
    ...(a.clusterScope !== undefined ? { clusterScope: a.clusterScope } : {}),
    ...(a.requiredForCompletion !== undefined ? { requiredForCompletion: a.requiredForCompletion } : {}),
    args: (a.args ?? []).map((arg) => {
      const hash = arg.valueFrom?.podTemplateHashValue;
      const value = arg.value ?? (hash === 'Stable' ? o.ref.rollout.status?.stableRS : hash === 'Latest' ? o.templateHash : undefined);
      if (value !== undefined) return { name: arg.name, value };
      return arg.valueFrom?.fieldRef !== undefined ? { name: arg.name, valueFrom: { fieldRef: arg.valueFrom.fieldRef } } : { name: arg.name };
    }),
  }));
  return {
    metadata: {
      name: experimentName(o.ref.name, o.templateHash, o.stepIndex),
      namespace: o.ref.namespace,
      // With sharding, born on its Rollout's shard (the sharder hashes an Experiment a Rollout controls with it).
      labels: { [ROLLOUT_LABEL]: o.ref.name, [POD_TEMPLATE_HASH_LABEL]: o.templateHash, [STEP_INDEX_LABEL]: stepLabel(o.stepIndex), ...(o.ref.shard !== undefined ? { [OWNER_LABEL]: o.ref.shard } : {}) },
      ownerReferences: [{ apiVersion: 'sluice.dev/v1alpha1', kind: 'Rollout', name: o.ref.name, uid: o.ref.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      templates,
      ...(o.step.duration !== undefined ? { duration: o.step.duration } : {}),
      ...(analyses.length > 0 ? { analyses } : {}),
      ...(spec.progressDeadlineSeconds !== undefined ? { progressDeadlineSeconds: spec.progressDeadlineSeconds } : {}),
      ...(scaleDownDelaySeconds !== undefined ? { scaleDownDelaySeconds } : {}),
      ...(o.step.dryRun !== undefined ? { dryRun: o.step.dryRun } : {}),
    },
  };
}

/** Creates the step's Experiment; the stable pod template is read from the stable ReplicaSet (the cache keeps none). */
export async function createStepExperiment(client: KubeClient, o: Omit<ExperimentInput, 'stableTemplate'>): Promise<void> {
  const stable = o.ref.rollout.status?.stableRS;
  let stableTemplate: unknown = o.ref.rollout.spec.template;
  if (o.step.templates.some((t) => t.specRef === 'stable') && stable !== undefined) {
    const rs = await client.get<KubeObject & { spec?: { template?: unknown } }>(R.replicaSet, o.ref.namespace, replicaSetName(o.ref.name, stable));
    stableTemplate = rs.spec?.template;
  }
  try {
    await client.create(R.experiment, experimentManifest({ ...o, stableTemplate }));
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

/** spec.terminate ends the Experiment at its next reconcile: its ReplicaSets go to 0, its runs end. */
export async function terminateExperiment(client: KubeClient, namespace: string, name: string): Promise<void> {
  try {
    await client.mergePatch(R.experiment, namespace, name, { spec: { terminate: true } });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** status.canary.currentExperiment, as Argo reports it: the Experiment of the current step while it is an experiment. */
export function reportExperiment(status: RolloutStatus, rollout: Rollout, name: string, templateHash: string, seen: Readonly<Record<number, unknown>>): void {
  const index = status.currentStepIndex ?? 0;
  const onExperiment = rollout.spec.strategy?.canary?.steps?.[index]?.experiment !== undefined && seen[index] !== undefined && status.abort !== true;
  if (onExperiment) status.canary = { ...status.canary, currentExperiment: experimentName(name, templateHash, index) };
  else if (status.canary?.currentExperiment !== undefined) {
    const { currentExperiment: _gone, ...rest } = status.canary;
    status.canary = rest;
  }
}

/**
 * The current revision's Experiments' templates, by step index, from their status: which Service each has and how
 * many pods are available behind it (what routing to a template depends on).
 */
export function observeExperimentTemplates(all: readonly (KubeObject & { spec?: unknown; status?: unknown })[], rolloutUid: string, templateHash: string): Record<number, ExperimentTemplateView[]> {
  const out: Record<number, ExperimentTemplateView[]> = {};
  for (const e of all) {
    const m = e.metadata;
    if (m?.ownerReferences?.some((o) => o.uid === rolloutUid) !== true || m.deletionTimestamp !== undefined) continue;
    if (m.labels?.[POD_TEMPLATE_HASH_LABEL] !== templateHash) continue;
    const step = stepOfLabel(m.labels[STEP_INDEX_LABEL]);
    if (step === undefined) continue;
    const templates = (e.status as Experiment['status'] | undefined)?.templateStatuses ?? [];
    const specs = (e.spec as Partial<Experiment['spec']> | undefined)?.templates ?? [];
    out[step] = templates.map((t) => ({
      name: t.name,
      ports: containerPorts(specs.find((x) => x.name === t.name)?.template).flatMap((p) => (p.containerPort !== undefined ? [p.containerPort] : [])),
      available: t.availableReplicas ?? 0,
      ...(t.readyEndpoints !== undefined ? { readyEndpoints: t.readyEndpoints } : {}),
      ...(t.serviceName !== undefined ? { serviceName: t.serviceName } : {}),
      ...(t.podTemplateHash !== undefined ? { podTemplateHash: t.podTemplateHash } : {}),
    }));
  }
  return out;
}

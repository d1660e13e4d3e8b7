// What an Experiment creates: one ReplicaSet per template and one AnalysisRun per analysis, owned by the Experiment
// (so GC removes them with it) and labelled so the controller's caches hold only these.
import type { Argument } from '../api/analysis/schema.ts';
import type { Experiment, ExperimentAnalysis, ExperimentTemplate } from '../api/experiment/schema.ts';
import type { KubeObject } from '../kube/client.ts';
import { mergeTemplates, type TemplateObject } from '../analysis/templates.ts';
import { containerPorts } from '../api/experiment/validate.ts';
import { POD_TEMPLATE_HASH_LABEL, podTemplateHash } from '../rollout/hash.ts';
import { OWNER_LABEL } from '../runtime/sharding/decide.ts';

export const EXPERIMENT_LABEL = 'sluice.dev/experiment';
export const EXPERIMENT_TEMPLATE_LABEL = 'sluice.dev/experiment-template';
export const EXPERIMENT_ANALYSIS_LABEL = 'sluice.dev/experiment-analysis';

export interface ExperimentRef {
  name: string;
  namespace: string;
  uid: string;
  /** With sharding, this replica's shard: the ReplicaSets, Services and AnalysisRuns it creates carry it. */
  shard?: string;
}

/** The shard label on what the Experiment's shard creates (not on pods: a move relabels the ReplicaSet only). */
const shardLabel = (e: ExperimentRef): Record<string, string> => (e.shard !== undefined ? { [OWNER_LABEL]: e.shard } : {});

const owner = (e: ExperimentRef) => [{ apiVersion: 'sluice.dev/v1alpha1', kind: 'Experiment', name: e.name, uid: e.uid, controller: true, blockOwnerDeletion: true }];

export const templateReplicaSetName = (experiment: string, template: string): string => `${experiment}-${template}`;
export const analysisRunName = (experiment: string, analysis: string): string => `${experiment}-${analysis}`;

type PodTemplate = { metadata?: { labels?: Record<string, string>; [k: string]: unknown }; [k: string]: unknown };

/**
 * The template's revision hash. It covers the Experiment's and the template's names too: a template copied from a
 * Rollout's canary must not carry the canary's own hash, or the Rollout's Services would send its traffic here.
 */
export function templateHash(experiment: string, t: ExperimentTemplate): string {
  return podTemplateHash({ experiment, template: t.name, spec: withoutHash(t.template) });
}

function withoutHash(template: unknown): PodTemplate {
  const t = structuredClone((template ?? {}) as PodTemplate);
  if (t.metadata?.labels !== undefined) delete t.metadata.labels[POD_TEMPLATE_HASH_LABEL];
  return t;
}

export function replicaSetManifest(e: ExperimentRef, t: ExperimentTemplate, hash: string, replicas: number): KubeObject {
  const template = withoutHash(t.template);
  const labels = { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash, [EXPERIMENT_LABEL]: e.name, [EXPERIMENT_TEMPLATE_LABEL]: t.name };
  return {
    metadata: { name: templateReplicaSetName(e.name, t.name), namespace: e.namespace, labels: { ...labels, ...shardLabel(e) }, ownerReferences: owner(e) },
    spec: {
      replicas,
      minReadySeconds: t.minReadySeconds ?? 0,
      selector: { matchLabels: { ...(t.selector?.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash }, ...(t.selector?.matchExpressions !== undefined ? { matchExpressions: t.selector.matchExpressions } : {}) },
      template: { ...template, metadata: { ...(template.metadata ?? {}), labels } },
    },
  };
}

export const templateServiceName = (experiment: string, t: ExperimentTemplate): string => t.service?.name ?? templateReplicaSetName(experiment, t.name);

/** The template's Service: its pods (selector plus revision hash), on its containers' ports. */
export function serviceManifest(e: ExperimentRef, t: ExperimentTemplate, hash: string): KubeObject {
  const ports = containerPorts(t.template).map((p) => ({
    ...(p.name !== undefined ? { name: p.name } : {}),
    port: p.containerPort,
    targetPort: p.containerPort,
    protocol: p.protocol ?? 'TCP',
  }));
  return {
    // The EndpointSlice controller copies a Service's labels onto its slices: they carry the shard label too.
    metadata: { name: templateServiceName(e.name, t), namespace: e.namespace, labels: { [EXPERIMENT_LABEL]: e.name, [EXPERIMENT_TEMPLATE_LABEL]: t.name, ...shardLabel(e) }, ownerReferences: owner(e) },
    spec: { selector: { ...(t.selector?.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash }, ports },
  };
}

/**
 * `{{templates.<name>.podTemplateHash}}`, `{{templates.<name>.serviceName}}` (Sluice's: a routed template's Service,
 * what Traefik's and Istio's metrics name it by) and `{{experiment.name}}` in an arg's value, as Argo substitutes them.
 */
export function substituteExperimentValue(value: string, experiment: string, hashes: Readonly<Record<string, string>>, services: Readonly<Record<string, string>> = {}): string {
  return value.replace(/\{\{\s*(templates\.([A-Za-z0-9_-]+)\.(podTemplateHash|serviceName)|experiment\.name)\s*\}\}/g, (all: string, _what: string, template: string | undefined, field: string | undefined) => {
    if (template === undefined) return experiment;
    return (field === 'serviceName' ? services[template] : hashes[template]) ?? all;
  });
}

/** The run of one analysis: its template's metrics, the Experiment's args over the template's defaults. */
export function analysisRunManifest(e: ExperimentRef, spec: Experiment['spec'], a: ExperimentAnalysis, hashes: Readonly<Record<string, string>>, templates: readonly TemplateObject[], clusterTemplates: readonly TemplateObject[]): KubeObject {
  const { metrics, args } = mergeTemplates([a], templates, clusterTemplates);
  const merged = new Map<string, Argument>(args);
  const services = Object.fromEntries(spec.templates.filter((t) => t.service !== undefined).map((t) => [t.name, templateServiceName(e.name, t)]));
  for (const arg of a.args ?? []) merged.set(arg.name, arg.value !== undefined ? { ...arg, value: substituteExperimentValue(arg.value, e.name, hashes, services) } : arg);
  return {
    metadata: {
      name: analysisRunName(e.name, a.name),
      namespace: e.namespace,
      // With sharding, born on the Experiment's shard: the sharder hashes a run with its Experiment (decide.ts).
      labels: { [EXPERIMENT_LABEL]: e.name, [EXPERIMENT_ANALYSIS_LABEL]: a.name, ...shardLabel(e) },
      ownerReferences: owner(e),
    },
    spec: {
      metrics,
      args: [...merged.values()],
      ...(spec.dryRun !== undefined ? { dryRun: spec.dryRun } : {}),
      ...(spec.measurementRetention !== undefined ? { measurementRetention: spec.measurementRetention } : {}),
    },
  };
}

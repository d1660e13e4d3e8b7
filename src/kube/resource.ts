/** What the client needs to address a kind: its REST coordinates. Discovery for arbitrary kinds comes with GitOps. */
export interface ResourceType {
  group: string; // '' for the core group
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export const apiVersionOf = (r: ResourceType): string => (r.group === '' ? r.version : `${r.group}/${r.version}`);

function prefix(r: ResourceType): string {
  return r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
}

/** The collection path: all namespaces when `namespace` is undefined (or the kind is cluster-scoped). */
export function collectionPath(r: ResourceType, namespace?: string): string {
  if (r.namespaced && namespace !== undefined) return `${prefix(r)}/namespaces/${encodeURIComponent(namespace)}/${r.plural}`;
  return `${prefix(r)}/${r.plural}`;
}

export function objectPath(r: ResourceType, namespace: string | undefined, name: string, subresource?: string): string {
  if (r.namespaced && (namespace === undefined || namespace === '')) throw new Error(`${r.kind} ${name}: a namespace is required`);
  const base = `${collectionPath(r, r.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}`;
  return subresource === undefined ? base : `${base}/${subresource}`;
}

const t = (group: string, version: string, kind: string, plural: string, namespaced = true): ResourceType => ({ group, version, kind, plural, namespaced });

/** The kinds the operator itself reads and writes. */
export const R = {
  namespace: t('', 'v1', 'Namespace', 'namespaces', false),
  pod: t('', 'v1', 'Pod', 'pods'),
  service: t('', 'v1', 'Service', 'services'),
  endpointSlice: t('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices'),
  secret: t('', 'v1', 'Secret', 'secrets'),
  configMap: t('', 'v1', 'ConfigMap', 'configmaps'),
  event: t('', 'v1', 'Event', 'events'),
  replicaSet: t('apps', 'v1', 'ReplicaSet', 'replicasets'),
  deployment: t('apps', 'v1', 'Deployment', 'deployments'),
  job: t('batch', 'v1', 'Job', 'jobs'),
  lease: t('coordination.k8s.io', 'v1', 'Lease', 'leases'),
  crd: t('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false),
  rollout: t('sluice.dev', 'v1alpha1', 'Rollout', 'rollouts'),
  analysisRun: t('sluice.dev', 'v1alpha1', 'AnalysisRun', 'analysisruns'),
  experiment: t('sluice.dev', 'v1alpha1', 'Experiment', 'experiments'),
  analysisTemplate: t('sluice.dev', 'v1alpha1', 'AnalysisTemplate', 'analysistemplates'),
  clusterAnalysisTemplate: t('sluice.dev', 'v1alpha1', 'ClusterAnalysisTemplate', 'clusteranalysistemplates', false),
  application: t('sluice.dev', 'v1alpha1', 'Application', 'applications'),
  applicationSet: t('sluice.dev', 'v1alpha1', 'ApplicationSet', 'applicationsets'),
} as const;

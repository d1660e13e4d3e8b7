// `--cluster NAME`: the plugin acts in a remote cluster of the fleet, reached as the operator reaches it, through
// its cluster Secret (Argo CD's declarative form) read with the kubeconfig's own credentials. The namespace is -n,
// else "default" (a cluster Secret has no context namespace).
import type { KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import { clusterAuth } from '../fleet/registry.ts';
import { ARGO_SECRET_TYPE_LABEL, CLUSTER_SECRET_TYPE, formatClusterSecretErrors, parseClusterSecret, SLUICE_SECRET_TYPE_LABEL, type ClusterSpec } from '../fleet/secret.ts';
import { IN_CLUSTER_NAME, IN_CLUSTER_SERVER } from '../api/application/schema.ts';
import { kubeAccess, PluginClient, type KubeSelection } from './kubeconfig.ts';
import type { KubeClient } from '../kube/client.ts';

/** The chart installs into this namespace in the README; the operator reads its cluster Secrets there. */
export const DEFAULT_CLUSTER_NAMESPACE = 'sluice-system';

export interface ClusterSelection extends KubeSelection {
  namespace?: string;
  clusterNamespace?: string;
}

type Access = { client: () => KubeClient; namespace: () => string };

/** Picks the cluster Secret whose name (or server) is `wanted` out of those listed: the pure half, for tests. */
export function pickCluster(secrets: readonly KubeObject[], wanted: string, where: string): ClusterSpec {
  const server = wanted.replace(/\/+$/, '');
  const names: string[] = [];
  for (const s of secrets) {
    const r = parseClusterSecret(s);
    if (r.ok) {
      if (r.value.name === wanted || r.value.server === server) return r.value;
      names.push(r.value.name);
      continue;
    }
    // A broken Secret that claims the name: say what is wrong with it rather than "not found".
    const data = (s['data'] ?? {}) as Record<string, string>;
    const claimed = typeof data['name'] === 'string' ? Buffer.from(data['name'], 'base64').toString('utf8') : undefined;
    if (claimed === wanted) throw new Error(`--cluster ${wanted}: ${formatClusterSecretErrors(r.secret, r.errors)}`);
  }
  throw new Error(`--cluster ${wanted}: no cluster Secret (label ${ARGO_SECRET_TYPE_LABEL}=${CLUSTER_SECRET_TYPE}) in namespace ${where} has that name or server (have: ${names.sort().join(', ') || 'none'}); --cluster-namespace picks where the operator keeps them`);
}

export async function clusterAccess(sel: ClusterSelection, wanted: string, stop?: AbortSignal): Promise<Access> {
  const home = kubeAccess(sel, stop);
  if (wanted === IN_CLUSTER_NAME || wanted.replace(/\/+$/, '') === IN_CLUSTER_SERVER) return home;
  const where = sel.clusterNamespace ?? process.env['SLUICE_CLUSTER_SECRET_NAMESPACE'] ?? DEFAULT_CLUSTER_NAMESPACE;
  const client = home.client();
  // A label selector cannot say "this label or that one": one list per label, as the operator watches them.
  const lists = await Promise.all([ARGO_SECRET_TYPE_LABEL, SLUICE_SECRET_TYPE_LABEL].map((l) => client.list<KubeObject>(R.secret, where, { labelSelector: `${l}=${CLUSTER_SECRET_TYPE}` })));
  const spec = pickCluster(lists.flatMap((l) => l.items), wanted, where);
  let remote: KubeClient | undefined;
  return { client: () => (remote ??= new PluginClient(clusterAuth(spec), stop)), namespace: () => sel.namespace ?? 'default' };
}

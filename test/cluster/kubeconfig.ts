import { stringify } from 'yaml';

export interface KubeconfigInput {
  server: string;
  caCertPath: string;
  clientCertPath: string;
  clientKeyPath: string;
  name?: string;
}

/** A kubeconfig that kubectl, client-node and the Kubernetes components all read; files are referenced by path. */
export function renderKubeconfig(i: KubeconfigInput): string {
  const name = i.name ?? 'sluice-test';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: i.server, 'certificate-authority': i.caCertPath } }],
    users: [{ name: 'admin', user: { 'client-certificate': i.clientCertPath, 'client-key': i.clientKeyPath } }],
    contexts: [{ name, context: { cluster: name, user: 'admin' } }],
    'current-context': name,
  });
}

// Clients that carry a viewer's own bearer token to the apiserver, and nothing else that authenticates: built from
// the server address and CA alone (never the operator's client certificate, which the apiserver would prefer to
// the token). One connection pool for all viewers: the token is per request, not per connection.
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import { Agent } from 'undici';
import { KubeClient } from '../kube/client.ts';
import { kubeconfigFiles, resolveKubeconfig } from '../kube/kubeconfig.ts';

export interface Endpoint {
  server: string;
  ca?: Buffer;
  insecure?: boolean;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The apiserver the operator talks to: its kubeconfig's cluster (path, else $KUBECONFIG/~/.kube/config), else in-cluster. */
export function endpointOf(kubeconfig: string | undefined, env: Record<string, string | undefined> = process.env): Endpoint {
  const files = kubeconfig !== undefined ? [kubeconfig] : kubeconfigFiles(env);
  if (files.length > 0) {
    const c = resolveKubeconfig(files).cluster;
    const caFile = c['certificate-authority'];
    const dir = dirname(files[0] ?? '.');
    const ca = c['certificate-authority-data'] !== undefined ? Buffer.from(c['certificate-authority-data'], 'base64') : caFile !== undefined ? readFileSync(isAbsolute(caFile) ? caFile : join(dir, caFile)) : undefined;
    return { server: c.server, ...(ca !== undefined ? { ca } : {}), ...(c['insecure-skip-tls-verify'] === true ? { insecure: true } : {}) };
  }
  const host = env['KUBERNETES_SERVICE_HOST'] ?? '';
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  if (host === '') throw new Error('the dashboard cannot tell where the apiserver is: no kubeconfig and not in a cluster');
  const ca = existsSync(join(SA_DIR, 'ca.crt')) ? readFileSync(join(SA_DIR, 'ca.crt')) : undefined;
  return { server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`, ...(ca !== undefined ? { ca } : {}) };
}

/** A factory of per-viewer clients for one apiserver. */
export function bearerClients(e: Endpoint): (token: string) => KubeClient {
  const https = e.server.startsWith('https:');
  const dispatcher = https ? new Agent({ connect: { ...(e.ca !== undefined ? { ca: e.ca } : {}), ...(e.insecure === true ? { rejectUnauthorized: false } : {}) }, keepAliveTimeout: 30_000 }) : undefined;
  const server = e.server.replace(/\/+$/, '');
  return (token) =>
    new KubeClient({
      server,
      prepare: () => Promise.resolve({ headers: { Authorization: `Bearer ${token}` }, dispatcher }),
    });
}

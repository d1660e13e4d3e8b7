// What an integration test needs from the shared control plane: a client, its own namespace, and patience.
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CLUSTER_ENV } from '../cluster/env.ts';
import { waitFor } from './wait.ts';

export { waitFor };

function required(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') {
    throw new Error(`${name} is not set: integration tests run under the jest "integration" project, whose global setup starts the control plane`);
  }
  return v;
}

export function kubeconfigPath(): string {
  return required(CLUSTER_ENV.kubeconfig);
}

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

/** A fresh namespace per test (DNS-1123: lowercase, at most 63 characters), with its default ServiceAccount ready. */
export async function createNamespace(prefix: string): Promise<string> {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const base = prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 50);
  const name = `${base}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name, labels: { 'sluice.dev/test': 'true' } } } });
  await waitFor(`ServiceAccount default in ${name}`, async () => {
    try {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: name });
      return true;
    } catch {
      return false;
    }
  });
  return name;
}

export async function deleteNamespace(name: string): Promise<void> {
  await kubeConfig().makeApiClient(CoreV1Api).deleteNamespace({ name });
}

/** The control plane's own kubectl (same version as the server), pointed at the test cluster. */
export function kubectl(args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
  const bin = join(required(CLUSTER_ENV.binDir), 'kubectl');
  return new Promise((resolve) => {
    const child = execFile(bin, [`--kubeconfig=${kubeconfigPath()}`, ...args], (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ stdout, stderr, code });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export { AppsV1Api, CoreV1Api };

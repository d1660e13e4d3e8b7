// The chart tests' tools: the helm built with the control plane (test/cluster/build.sh), `helm template` parsed into
// objects, and a kubeconfig that authenticates as a ServiceAccount through a TokenRequest (`kubectl create token`).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { KubeObject } from '../../src/kube/client.ts';
import { CLUSTER_ENV } from '../cluster/env.ts';
import { kubeconfigPath, kubectl } from '../support/cluster.ts';

export const CHART = join(import.meta.dirname, '..', '..', 'charts', 'sluice');

/** The control plane's Kubernetes version (what the wrapper module builds), for `helm template --kube-version`. */
export const KUBE_VERSION = ((): string => {
  const mod = readFileSync(join(import.meta.dirname, '..', 'cluster', 'controlplane', 'go.mod'), 'utf8');
  const v = /^\s*k8s\.io\/kubernetes v(\d+\.\d+\.\d+)$/m.exec(mod)?.[1];
  if (v === undefined) throw new Error('test/cluster/controlplane/go.mod: no k8s.io/kubernetes requirement');
  return v;
})();

// Helm's own config, cache and data stay out of $HOME.
const helmHome = mkdtempSync(join(tmpdir(), 'sluice-helm-'));
for (const d of ['config', 'cache', 'data']) mkdirSync(join(helmHome, d));

export interface Run {
  stdout: string;
  stderr: string;
  code: number;
}

function bin(name: string): string {
  const binDir = process.env[CLUSTER_ENV.binDir];
  if (binDir === undefined || binDir === '') throw new Error(`${CLUSTER_ENV.binDir} is not set: the chart tests run in the jest "integration" project`);
  return join(binDir, name);
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { maxBuffer: 64 << 20, env }, (err, stdout, stderr) =>
      resolve({ stdout, stderr, code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1 }),
    );
  });
}

/** The control plane's kubectl with another identity's kubeconfig (the admin one is test/support/cluster.ts's). */
export function kubectlAs(kubeconfig: string, args: string[]): Promise<Run> {
  return run(bin('kubectl'), [`--kubeconfig=${kubeconfig}`, ...args]);
}

export function helm(args: string[]): Promise<Run> {
  return run(bin('helm'), args, {
    ...process.env,
    KUBECONFIG: kubeconfigPath(),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_DATA_HOME: join(helmHome, 'data'),
  });
}

/** Writes values to a file for `-f` (helm's --set cannot express lists of objects cleanly). */
export function valuesFile(values: object): string {
  const file = join(mkdtempSync(join(helmHome, 'values-')), 'values.yaml');
  writeFileSync(file, stringify(values));
  return file;
}

export type Doc = KubeObject & Record<string, unknown>;

/** `helm template` of the chart as objects; throws with helm's message when rendering fails. */
export async function render(release: string, namespace: string, values: object = {}, chart = CHART): Promise<Doc[]> {
  const res = await helm(['template', release, chart, '--namespace', namespace, '--kube-version', KUBE_VERSION, '-f', valuesFile(values)]);
  if (res.code !== 0) throw new Error(`helm template failed: ${res.stderr}`);
  return parseAllDocuments(res.stdout)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

export const RBAC_KINDS = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];

/** Applies rendered objects with kubectl (server-side), so the test's rights are exactly the chart's. */
export async function applyDocs(docs: Doc[]): Promise<void> {
  const res = await kubectl(['apply', '--server-side', '--field-manager=sluice-chart-test', '-f', '-'], docs.map((d) => stringify(d)).join('---\n'));
  if (res.code !== 0) throw new Error(`kubectl apply of the rendered chart failed: ${res.stderr}`);
}

/**
 * A kubeconfig for the ServiceAccount: the test cluster's server and CA, and a bound token from the TokenRequest
 * API. Nothing of the admin's credentials is kept.
 */
export async function serviceAccountKubeconfig(namespace: string, serviceAccount: string): Promise<string> {
  const token = await kubectl(['create', 'token', serviceAccount, '-n', namespace, '--duration=2h']);
  if (token.code !== 0) throw new Error(`kubectl create token ${serviceAccount} failed: ${token.stderr}`);
  const admin = parse(readFileSync(kubeconfigPath(), 'utf8')) as { clusters: { name: string; cluster: Record<string, unknown> }[] };
  const cluster = admin.clusters[0];
  if (cluster === undefined) throw new Error(`${kubeconfigPath()}: no cluster`);
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-sa-')), 'kubeconfig');
  const user = `system:serviceaccount:${namespace}:${serviceAccount}`;
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [cluster],
      users: [{ name: user, user: { token: token.stdout.trim() } }],
      contexts: [{ name: user, context: { cluster: cluster.name, user } }],
      'current-context': user,
    }),
    { mode: 0o600 },
  );
  return file;
}

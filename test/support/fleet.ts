// A second control plane as a remote cluster, its cluster Secret, and the operator in-process with the cluster
// registry, the Application and the ApplicationSet controllers.
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterRegistry } from '../../src/fleet/registry.ts';
import { registerApplicationSetController } from '../../src/gitops/appset/controller.ts';
import { registerApplicationController } from '../../src/gitops/controller.ts';
import { GitSource } from '../../src/gitops/source/git.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { EventRecorder } from '../../src/runtime/events.ts';
import { Manager } from '../../src/runtime/manager.ts';
import { startControlPlane, type ControlPlane } from '../cluster/controlplane.ts';
import { CLUSTER_ENV } from '../cluster/env.ts';
import { paths } from '../cluster/layout.ts';
import { waitFor } from './cluster.ts';
import { testLogger, testMetrics } from './operator.ts';

export interface RemotePlane {
  cp: ControlPlane;
  /** tlsClientConfig for a cluster Secret: the plane's CA and its admin client certificate, base64. */
  tls: { caData: string; certData: string; keyData: string };
}

export async function startRemotePlane(): Promise<RemotePlane> {
  // One kwok node: the Deployments' pods get scheduled and "run", so health is real; nothing else is needed.
  const cp = await startControlPlane({ binDir: process.env[CLUSTER_ENV.binDir] ?? '', nodes: 1 });
  const p = paths(cp.dir);
  const b64 = async (f: string): Promise<string> => (await readFile(f)).toString('base64');
  return { cp, tls: { caData: await b64(p.caCert), certData: await b64(p.adminCert), keyData: await b64(p.adminKey) } };
}

/** A cluster Secret in Argo CD's declarative form. */
export function clusterSecret(namespace: string, secretName: string, data: { name: string; server: string; config: object }, labels: Record<string, string> = {}): object {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secretName, namespace, labels: { 'argocd.argoproj.io/secret-type': 'cluster', ...labels } },
    stringData: { name: data.name, server: data.server, config: JSON.stringify(data.config) },
  };
}

export interface FleetOperator {
  manager: Manager;
  registry: ClusterRegistry;
  /** Requests the operator sent to remote clusters, by server. */
  remoteRequests: Map<string, number>;
  stop(): Promise<void>;
}

export async function startFleetOperator(client: KubeClient, namespaces: string[], secretNamespace: string, probeMs: number): Promise<FleetOperator> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'sluice-gitcache-'));
  const log = testLogger();
  const manager = new Manager({ client, log, metrics: testMetrics(), namespaces });
  const remoteRequests = new Map<string, number>();
  const registry = new ClusterRegistry({
    manager,
    namespace: secretNamespace,
    log,
    probeMs,
    clientOptions: { onRequest: (_m, path) => remoteRequests.set(path, (remoteRequests.get(path) ?? 0) + 1) },
  });
  const events = new EventRecorder({ client, log, instance: 'test' });
  registerApplicationController(manager, { client, events, workers: 2, source: new GitSource({ cacheDir: join(cacheDir, 'apps') }), clusters: registry });
  registerApplicationSetController(manager, { client, events, workers: 2, clusters: registry, source: new GitSource({ cacheDir: join(cacheDir, 'sets') }) });
  const running = manager.run();
  await waitFor('caches', () => manager.ready());
  return {
    manager,
    registry,
    remoteRequests,
    stop: async () => {
      await manager.stop();
      await running;
      await registry.stop();
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}

// A repository of 20 objects in three waves, with a CRD and its custom resources in the same sync: the CRD is
// Established before its resources are applied, each wave waits for the previous wave's health, and pruning honours
// the per-object opt-out.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.ts';
import { installCrds } from '../../test/support/crds.ts';
import { startAppOperator, type AppOperator } from '../../test/support/gitops.ts';
import { startGitServer, type GitServer } from '../../test/support/git-server.ts';
import { testClient } from '../../test/support/operator.ts';
import type { ApplicationStatus } from '../api/application/schema.ts';
import type { KubeObject } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { R } from '../kube/resource.ts';
import { REFRESH_ANNOTATION } from './sync.ts';

type App = KubeObject & { status?: ApplicationStatus };

const wave = (n: number): Record<string, string> => ({ 'sluice.dev/sync-wave': String(n) });
const doc = (o: object): string => stringify(o);

describe('waves, CRDs and prune opt-out', () => {
  let ns: string;
  let dest: string;
  let git: GitServer;
  let op: AppOperator;
  const group = `w${Date.now().toString(36)}.sluice.test`;
  const { client } = testClient();
  const app = (): Promise<App> => client.get<App>(R.application, ns, 'big');

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('waves');
    dest = `${ns}-big`;
    git = await startGitServer();
    op = await startAppOperator(client, [ns, dest]);
  });

  afterAll(async () => {
    await op.stop();
    await git.close();
    await kubectl(['delete', 'namespace', dest, '--ignore-not-found', '--wait=false']);
    await kubectl(['delete', 'crd', `gadgets.${group}`, '--ignore-not-found', '--wait=false']);
    await deleteNamespace(ns);
  });

  it('syncs 20 objects in order: namespace and CRD, then waves 0, 1, 2, each after the previous is healthy', async () => {
    const files: Record<string, string> = {
      'ns.yaml': doc({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: dest } }),
      'crd.yaml': doc({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `gadgets.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget' },
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
        },
      }),
      'wave0.yaml': [
        ...Array.from({ length: 8 }, (_, i) => doc({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { i: String(i) } })),
        ...Array.from({ length: 2 }, (_, i) => doc({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `secret-${i}` }, stringData: { token: `t${i}` } })),
        doc({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web' } }),
      ].join('---\n'),
      'wave1.yaml': [
        doc({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web', annotations: wave(1) },
          spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } } },
        }),
        doc({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', annotations: wave(1) }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } }),
      ].join('---\n'),
      'wave2.yaml': [
        ...Array.from({ length: 2 }, (_, i) => doc({ apiVersion: `${group}/v1`, kind: 'Gadget', metadata: { name: `g-${i}`, annotations: wave(2) }, spec: { size: i } })),
        doc({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late-0', annotations: wave(2) }, data: { a: '1' } }),
        doc({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late-kept', annotations: { ...wave(2), 'argocd.argoproj.io/sync-options': 'Prune=false' } }, data: { a: '1' } }),
        doc({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late-pruned', annotations: wave(2) }, data: { a: '1' } }),
      ].join('---\n'),
    };
    const url = await git.createRepo('big2');
    const sha = await git.commit('big2', Object.fromEntries(Object.entries(files).map(([k, v]) => [`deploy/${k}`, v])));
    const t0 = Date.now();
    const manifest = {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Application',
      metadata: { name: 'big', namespace: ns },
      spec: {
        source: { repoURL: url, path: 'deploy' },
        destination: { namespace: dest },
        syncPolicy: { automated: { prune: true } },
        pollInterval: '10s',
      },
    };
    expect((await kubectl(['apply', '--server-side', '--field-manager=sluice-test', '-f', '-'], stringify(manifest))).code).toBe(0);
    let sawRunning = false;
    await waitFor(
      'Succeeded',
      async () => {
        const s = (await app()).status;
        if (s?.operationState?.phase === 'Running') sawRunning = true;
        return s?.operationState?.phase === 'Succeeded' && s.sync?.revision === sha;
      },
      60_000,
      50,
    ).catch(async (e: unknown) => {
      console.log(JSON.stringify((await app()).status, null, 1));
      throw e;
    });
    const syncMs = Date.now() - t0;
    console.log(`gitops figures: ${JSON.stringify({ objects: 20, waves: 3, syncMs, sawRunning })}`);
    const s = (await app()).status!;
    expect(s.sync?.status).toBe('Synced');
    const order = (s.operationState?.syncResult?.resources ?? []).map((r) => r.kind);
    expect(order).toHaveLength(20);
    expect(order.slice(0, 2)).toEqual(['Namespace', 'CustomResourceDefinition']);
    expect(order.slice(2, 13).sort()).toEqual([...Array<string>(8).fill('ConfigMap'), ...Array<string>(2).fill('Secret'), 'ServiceAccount'].sort());
    expect(order.slice(13, 15)).toEqual(['Service', 'Deployment']);
    expect(order.slice(15).sort()).toEqual(['ConfigMap', 'ConfigMap', 'ConfigMap', 'Gadget', 'Gadget']);

    // Wave 2 waited for wave 1's Deployment to be available.
    const dep = await client.get<KubeObject & { status?: { conditions?: { type: string; lastTransitionTime: string }[] } }>(R.deployment, dest, 'web');
    const available = Date.parse(dep.status?.conditions?.find((c) => c.type === 'Available')?.lastTransitionTime ?? '');
    const gadget = (await kubectl(['get', `gadgets.${group}`, '-n', dest, 'g-0', '-o', 'jsonpath={.metadata.creationTimestamp}'])).stdout;
    expect(Date.parse(gadget)).toBeGreaterThanOrEqual(available);
    expect(s.resources?.find((r) => r.kind === 'Gadget')?.syncWave).toBe(2);

    // Removing two files' objects: the opted-out one stays, the other is pruned.
    await git.commit('big2', {
      'deploy/wave2.yaml': files['wave2.yaml']!.split('---\n').slice(0, 3).join('---\n'),
    });
    await client.mergePatch(R.application, ns, 'big', { metadata: { annotations: { [REFRESH_ANNOTATION]: String(Date.now()) } } });
    const gone = async (name: string): Promise<boolean> => {
      try {
        await client.get(R.configMap, dest, name);
        return false;
      } catch (e) {
        if (isNotFound(e)) return true;
        throw e;
      }
    };
    await waitFor('late-pruned gone', () => gone('late-pruned'), 20_000);
    expect(await gone('late-kept')).toBe(false);
    // The sync deletes, then writes its result: wait for the result of the sync that pruned.
    let results: { name: string; status?: string; message?: string }[] = [];
    await waitFor('the pruning sync\'s result', async () => {
      results = (await app()).status?.operationState?.syncResult?.resources ?? [];
      return results.some((r) => r.name === 'late-pruned' && r.status === 'Pruned');
    }, 20_000);
    expect(results.find((r) => r.name === 'late-kept')).toMatchObject({ status: 'PruneSkipped', message: 'Prune=false' });
    expect(results.find((r) => r.name === 'late-pruned')).toMatchObject({ status: 'Pruned' });
  });
});

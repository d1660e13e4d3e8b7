import { describe, expect, it, beforeAll, afterAll } from '@jest/globals';
import { ApiException, AppsV1Api, BatchV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import { createNamespace, deleteNamespace, kubeConfig, kubectl, waitFor } from '../support/cluster.ts';
import { FAIL_LABEL, RUN_FOR_ANNOTATION, UNREADY_LABEL } from './stages.ts';

const kc = kubeConfig();
const apps = kc.makeApiClient(AppsV1Api);
const core = kc.makeApiClient(CoreV1Api);
const batch = kc.makeApiClient(BatchV1Api);

function deployment(name: string, replicas: number, podLabels: Record<string, string> = {}): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, ...podLabels } },
        spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
      },
    },
  };
}

const podsOf = async (namespace: string, app: string) =>
  (await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;
const isReady = (p: { status?: { conditions?: { type: string; status: string }[] } }): boolean =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

describe('the local control plane', () => {
  let ns: string;
  beforeAll(async () => {
    ns = await createNamespace('controlplane');
  });
  afterAll(async () => {
    await deleteNamespace(ns);
  });

  it('serves the version it was built from, with kwok nodes Ready', async () => {
    const version = await kubectl(['version', '-o', 'json']);
    expect(version.code).toBe(0);
    const parsed = JSON.parse(version.stdout) as { serverVersion: { gitVersion: string; minor: string } };
    expect(parsed.serverVersion.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    expect(parsed.serverVersion.gitVersion).not.toBe('v0.0.0');
    const nodes = (await core.listNode()).items;
    expect(nodes.length).toBeGreaterThanOrEqual(1);
    for (const n of nodes) {
      expect(n.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      expect(n.spec?.taints ?? []).toEqual([]);
    }
  });

  it('runs a Deployment of 3 replicas to 3 available replicas, pods Ready on kwok nodes', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', 3) });
    await waitFor('3 available replicas', async () => {
      const d = await apps.readNamespacedDeployment({ name: 'web', namespace: ns });
      return d.status?.availableReplicas === 3;
    });
    const pods = await podsOf(ns, 'web');
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.status?.phase).toBe('Running');
      expect(isReady(p)).toBe(true);
      expect(p.spec?.nodeName).toMatch(/^kwok-node-/);
      expect(p.status?.podIP).toBeTruthy();
    }
  });

  it(`keeps pods labelled ${UNREADY_LABEL} Running but never Ready, until the label goes`, async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('broken', 2, { [UNREADY_LABEL]: 'true' }) });
    await waitFor('2 running pods', async () => (await podsOf(ns, 'broken')).filter((p) => p.status?.phase === 'Running').length === 2);
    // Give kwok every chance to (wrongly) make them Ready.
    await new Promise((r) => setTimeout(r, 3000));
    const pods = await podsOf(ns, 'broken');
    expect(pods.map(isReady)).toEqual([false, false]);
    const d = await apps.readNamespacedDeployment({ name: 'broken', namespace: ns });
    expect(d.status?.availableReplicas ?? 0).toBe(0);
    expect(d.status?.unavailableReplicas).toBe(2);

    // The marking is what kept it unready: without it the pod turns Ready, keeping its IP.
    const first = pods[0];
    const name = first?.metadata?.name ?? '';
    await core.patchNamespacedPod(
      { name, namespace: ns, body: [{ op: 'remove', path: `/metadata/labels/${UNREADY_LABEL.replace('/', '~1')}` }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    await waitFor('the unlabelled pod to be Ready', async () => isReady(await core.readNamespacedPod({ name, namespace: ns })));
    const after = await core.readNamespacedPod({ name, namespace: ns });
    expect(after.status?.podIP).toBe(first?.status?.podIP);
  });

  it('rejects an invalid object with an error naming the field', async () => {
    const bad = deployment('mismatch', 1);
    bad.spec!.selector = { matchLabels: { app: 'something-else' } };
    const err = await apps.createNamespacedDeployment({ namespace: ns, body: bad }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiException);
    const apiErr = err as ApiException<unknown>;
    expect(apiErr.code).toBe(422);
    expect(String(apiErr.body)).toContain('spec.template.metadata.labels');
    await expect(apps.readNamespacedDeployment({ name: 'mismatch', namespace: ns })).rejects.toMatchObject({ code: 404 });
  });

  it('does server-side apply with field managers, and reports conflicts between them', async () => {
    const cm = (value: string) =>
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owned', namespace: ns }, data: { key: value } });
    const apply = (manager: string, value: string, force = false) =>
      kubectl(['apply', '--server-side', `--field-manager=${manager}`, ...(force ? ['--force-conflicts'] : []), '-f', '-'], cm(value));
    expect((await apply('first', 'a')).code).toBe(0);
    const conflict = await apply('second', 'b');
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toMatch(/conflict/i);
    expect(conflict.stderr).toContain('first');
    const live = await core.readNamespacedConfigMap({ name: 'owned', namespace: ns });
    expect(live.data).toEqual({ key: 'a' });
  });

  it('garbage-collects what a deleted owner owned', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('owner', 1) });
    await waitFor('a ReplicaSet', async () => (await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=owner' })).items.length === 1);
    await apps.deleteNamespacedDeployment({ name: 'owner', namespace: ns, propagationPolicy: 'Background' });
    await waitFor('the ReplicaSet and pods to be collected', async () => {
      const rs = await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=owner' });
      return rs.items.length === 0 && (await podsOf(ns, 'owner')).length === 0;
    });
  });
  it('completes Job pods by default, fails them on the test label (backoffLimit counted) and lets them run a while', async () => {
    const job = (name: string, labels: Record<string, string>, annotations: Record<string, string> = {}) => ({
      metadata: { name },
      spec: {
        backoffLimit: 1,
        template: {
          metadata: { labels, annotations },
          spec: { restartPolicy: 'Never', containers: [{ name: 'job', image: 'registry.invalid/job:1' }] },
        },
      },
    });
    const started = Date.now();
    await batch.createNamespacedJob({ namespace: ns, body: job('ok', {}, { [RUN_FOR_ANNOTATION]: '2s' }) });
    await batch.createNamespacedJob({ namespace: ns, body: job('bad', { [FAIL_LABEL]: 'true' }) });
    const condition = async (name: string): Promise<string | undefined> => {
      const j = await batch.readNamespacedJob({ name, namespace: ns });
      return j.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')?.type;
    };
    await waitFor('job ok complete', async () => (await condition('ok')) === 'Complete', 60_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    await waitFor('job bad failed', async () => (await condition('bad')) === 'Failed', 60_000);
    const bad = await batch.readNamespacedJob({ name: 'bad', namespace: ns });
    expect(bad.status?.failed).toBe(2); // the first try and one retry (backoffLimit 1)
    const badPods = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=bad' })).items;
    expect(badPods.map((p) => p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode)).toEqual([1, 1]);
  }, 90_000);
});

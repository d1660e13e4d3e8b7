// Canary rollouts end to end on the real apiserver, with the operator's runtime in-process: ReplicaSets, Services,
// an HTTPRoute's weights, pauses, and the exact patches Argo Rollouts' kubectl plugin sends (promote, abort, retry).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { UNREADY_LABEL } from '../../test/cluster/stages.ts';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.ts';
import { helpers, installAllCrds, rolloutManifest as baseManifest, runOperator, type InProcessOperator } from '../../test/support/rollouts.ts';
import type { KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import type { RolloutStatus } from '../api/rollout/schema.ts';
import { REVISION_ANNOTATION } from './revision.ts';
import { HTTP_ROUTE } from './traffic/gatewayapi.ts';

type RouteObj = KubeObject & { spec?: { rules?: { backendRefs?: { name: string; weight?: number }[] }[] } };

describe('canary rollouts with Gateway API routing', () => {
  let ns: string;
  let op: InProcessOperator;
  let apply: (m: object) => Promise<void>;
  let statusPatch: (name: string, patch: object) => Promise<void>;
  let rollout: ReturnType<typeof helpers>['rollout'];
  let selector: ReturnType<typeof helpers>['selector'];

  beforeAll(async () => {
    await installAllCrds();
    ns = await createNamespace('canary');
    op = await runOperator(ns);
    ({ apply, statusPatch, rollout, selector } = helpers(ns, op.client));
  });

  afterAll(async () => {
    await op.stop();
    await deleteNamespace(ns);
  });

  /** The status as the schema types it (the helper's Rollout type names only the fields most tests read). */
  const statusOf = async (name: string): Promise<RolloutStatus | undefined> => (await rollout(name)).status as RolloutStatus | undefined;

  const weights = async (route: string): Promise<Record<string, number | undefined>> => {
    const r = await op.client.get<RouteObj>(HTTP_ROUTE, ns, route);
    return Object.fromEntries((r.spec?.rules?.[0]?.backendRefs ?? []).map((b) => [b.name, b.weight]));
  };

  async function setup(app: string, steps: object[], extra: Record<string, unknown> = {}, podLabels: Record<string, string> = {}): Promise<void> {
    for (const svc of [`${app}-stable`, `${app}-canary`]) {
      await apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: svc }, spec: { selector: { app }, ports: [{ port: 80, targetPort: 8080 }] } });
    }
    await apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: app },
      spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: `${app}-stable`, port: 80, weight: 100 }, { name: `${app}-canary`, port: 80, weight: 0 }] }] },
    });
    await apply(rolloutManifest(app, 'v1', steps, extra, podLabels));
    await waitFor(`${app} v1 Healthy`, async () => (await rollout(app)).status?.phase === 'Healthy', 60_000);
  }

  const rolloutManifest = (app: string, version: string, steps: object[], extra: Record<string, unknown> = {}, podLabels: Record<string, string> = {}): object =>
    baseManifest(app, version, { canaryService: `${app}-canary`, stableService: `${app}-stable`, trafficRouting: { gatewayAPI: { httpRoute: app } }, steps, ...extra }, podLabels);

  it('walks 20% → 2 s pause → 50% → pause until promoted, then 100% on the new revision; the old ReplicaSet goes after its delay', async () => {
    const steps = [{ setWeight: 20 }, { pause: { duration: '2s' } }, { setWeight: 50 }, { pause: {} }];
    await setup('web', steps);
    const v1 = (await rollout('web')).status?.stableRS;
    expect(await selector('web-stable')).toBe(v1);
    expect(await weights('web')).toEqual({ 'web-stable': 100, 'web-canary': 0 });

    await apply(rolloutManifest('web', 'v2', steps));
    await waitFor('weight 20', async () => (await weights('web'))['web-canary'] === 20, 30_000);
    expect(await weights('web')).toEqual({ 'web-stable': 80, 'web-canary': 20 });
    const v2 = (await rollout('web')).status?.currentPodHash;
    expect(v2).not.toBe(v1);
    expect(await selector('web-canary')).toBe(v2); // pinned before any weight moved
    expect(await selector('web-stable')).toBe(v1);

    await waitFor('weight 50 after the 2 s pause', async () => (await weights('web'))['web-canary'] === 50, 30_000);
    await waitFor('paused at step 3', async () => (await rollout('web')).status?.phase === 'Paused');
    // Conditions work with kubectl wait, as CI pipelines use them.
    const waited = await kubectl(['wait', '-n', ns, '--for=condition=Paused=True', '--timeout=10s', 'rollouts.sluice.dev/web']);
    expect(waited.stderr).toBe('');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await rollout('web')).status?.currentStepIndex).toBe(3); // an indefinite pause holds

    await statusPatch('web', { status: { pauseConditions: null } }); // `promote`
    await waitFor('v2 Healthy', async () => {
      const s = (await rollout('web')).status;
      return s?.phase === 'Healthy' && s.stableRS === v2;
    }, 60_000);
    expect(await weights('web')).toEqual({ 'web-stable': 100, 'web-canary': 0 });
    expect(await selector('web-stable')).toBe(v2);
    await waitFor('the old ReplicaSet scaled to 0 after its delay', async () => (await op.client.get<KubeObject & { spec?: { replicas?: number } }>(R.replicaSet, ns, `web-${v1}`)).spec?.replicas === 0, 30_000);
    const events = await kubectl(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=web', '-o', 'jsonpath={.items[*].reason}']);
    expect(events.stdout).toContain('RolloutPaused');
    expect(events.stdout).toContain('RolloutCompleted');

    // A rollback to v1 reuses its ReplicaSet, which takes the next revision number (as Argo does): 1 → 3.
    const revisionOf = async (hash: string | undefined): Promise<string | undefined> => (await op.client.get<KubeObject>(R.replicaSet, ns, `web-${hash ?? ''}`)).metadata?.annotations?.[REVISION_ANNOTATION];
    expect([await revisionOf(v1), await revisionOf(v2)]).toEqual(['1', '2']);
    await apply(rolloutManifest('web', 'v1', steps));
    await waitFor('v1 bumped to revision 3', async () => (await revisionOf(v1)) === '3', 30_000);
    expect(await revisionOf(v2)).toBe('2');
    // The status is written after the actions (the bump among them) of the same reconcile: wait for it too.
    await waitFor('the status on v1', async () => (await rollout('web')).status?.currentPodHash === v1, 10_000);
  });

  it('aborts (weight 0, canary Service back on stable, Degraded), retries from step 0, and promotes fully', async () => {
    const steps = [{ setWeight: 20 }, { pause: {} }, { setWeight: 60 }, { pause: {} }];
    await setup('shop', steps);
    const v1 = (await rollout('shop')).status?.stableRS;
    await apply(rolloutManifest('shop', 'v2', steps));
    await waitFor('paused at 20%', async () => (await rollout('shop')).status?.phase === 'Paused' && (await weights('shop'))['shop-canary'] === 20, 30_000);

    await statusPatch('shop', { status: { abort: true } }); // `abort`
    await waitFor('aborted', async () => (await rollout('shop')).status?.phase === 'Degraded', 30_000);
    expect(await weights('shop')).toEqual({ 'shop-stable': 100, 'shop-canary': 0 });
    expect(await selector('shop-canary')).toBe(v1);
    expect((await rollout('shop')).status?.message).toMatch(/RolloutAborted/);

    await statusPatch('shop', { status: { abort: false } }); // `retry`
    await waitFor('back at 20% from step 0', async () => (await weights('shop'))['shop-canary'] === 20 && (await rollout('shop')).status?.phase === 'Paused', 30_000);
    expect((await rollout('shop')).status?.currentStepIndex).toBe(1);

    await statusPatch('shop', { status: { promoteFull: true } }); // `promote --full`
    await waitFor('Healthy on v2', async () => {
      const s = (await rollout('shop')).status;
      return s?.phase === 'Healthy' && s.stableRS === s.currentPodHash && s.stableRS !== v1;
    }, 60_000);
    expect(await weights('shop')).toEqual({ 'shop-stable': 100, 'shop-canary': 0 });
  });

  it('aborts on its own when canary pods never become Ready and progressDeadlineAbort is set; no traffic ever reaches them', async () => {
    const steps = [{ setWeight: 30 }, { pause: {} }];
    await setup('broken', steps, { }, {});
    const v1 = (await rollout('broken')).status?.stableRS;
    const m = rolloutManifest('broken', 'v2', steps, {}, { [UNREADY_LABEL]: 'true' }) as { spec: Record<string, unknown> };
    await apply({ ...m, spec: { ...m.spec, progressDeadlineSeconds: 4, progressDeadlineAbort: true } });
    await waitFor('aborted by the deadline', async () => (await rollout('broken')).status?.abort === true, 40_000);
    const r = await rollout('broken');
    expect(r.status?.phase).toBe('Degraded');
    expect(await weights('broken')).toEqual({ 'broken-stable': 100, 'broken-canary': 0 });
    expect(await selector('broken-canary')).toBe(v1);
  });
  it('runs an analysis step through a real AnalysisRun: a passing check promotes, a failing one aborts on its own', async () => {
    // The check the analysis queries: a loopback web endpoint whose answer the test sets.
    let healthy = true;
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ data: { errorRate: healthy ? 0.001 : 0.3 } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      await apply({
        apiVersion: 'sluice.dev/v1alpha1',
        kind: 'AnalysisTemplate',
        metadata: { name: 'error-rate' },
        spec: { metrics: [{ name: 'error-rate', count: 3, interval: '1s', successCondition: 'result < 0.01', failureLimit: 0, provider: { web: { url: `http://127.0.0.1:${port}/check`, jsonPath: '{$.data.errorRate}' } } }] },
      });
      const analysisRunMetadata = { labels: { team: 'payments' }, annotations: { 'example.com/ticket': 'PAY-1' } };
      const steps = [{ setWeight: 25 }, { analysis: { templates: [{ templateName: 'error-rate' }], analysisRunMetadata } }, { setWeight: 75 }, { pause: {} }];
      await setup('checked', steps);
      await apply(rolloutManifest('checked', 'v2', steps));
      // While the step's run measures, the status names it, as Argo's status.canary.currentStepAnalysisRunStatus does.
      let v2 = '';
      await waitFor('the step run reported Running', async () => {
        const s = await statusOf('checked');
        v2 = s?.currentPodHash ?? '';
        return s?.currentStepIndex === 1 && s.canary?.currentStepAnalysisRunStatus?.status === 'Running';
      }, 60_000);
      expect((await statusOf('checked'))?.canary?.currentStepAnalysisRunStatus?.name).toBe(`checked-${v2}-1`);
      // analysisRunMetadata (Argo's) is on the run, beside Sluice's own labels.
      const meta = JSON.parse((await kubectl(['get', 'analysisruns.sluice.dev', `checked-${v2}-1`, '-n', ns, '-o', 'jsonpath={.metadata}'])).stdout) as { labels: Record<string, string>; annotations: Record<string, string> };
      expect(meta.labels).toMatchObject({ team: 'payments', 'sluice.dev/rollout': 'checked', 'sluice.dev/step-index': '1' });
      expect(meta.annotations).toMatchObject({ 'example.com/ticket': 'PAY-1' });
      await waitFor('the analysis passed and the canary moved on to 75%', async () => (await weights('checked'))['checked-canary'] === 75, 60_000);
      const runs = await kubectl(['get', 'analysisruns.sluice.dev', '-n', ns, '-o', 'jsonpath={.items[*].status.phase}']);
      expect(runs.stdout.split(' ')).toEqual(['Successful']);
      // The step moved on: its run no longer applies (Argo clears it too).
      await waitFor('the step run no longer reported', async () => (await statusOf('checked'))?.canary?.currentStepAnalysisRunStatus === undefined, 10_000);

      healthy = false;
      await apply(rolloutManifest('checked', 'v3', steps));
      await waitFor('aborted by the failed analysis', async () => (await rollout('checked')).status?.abort === true, 60_000);
      expect((await rollout('checked')).status?.phase).toBe('Degraded');
      expect(await weights('checked')).toEqual({ 'checked-stable': 100, 'checked-canary': 0 });
      // The run that failed stays reported after the abort, with its verdict and the analysis controller's message.
      const v3 = (await rollout('checked')).status?.currentPodHash ?? '';
      expect((await statusOf('checked'))?.canary?.currentStepAnalysisRunStatus).toMatchObject({ name: `checked-${v3}-1`, status: 'Failed' });
    } finally {
      server.close();
    }
  });
  it('restarts every pod for restartAt (the patch `restart` sends), a batch at a time, and records restartedAt', async () => {
    const steps = [{ setWeight: 50 }, { pause: {} }];
    await setup('again', steps);
    const podsOf = async (): Promise<{ name: string; created: number }[]> => {
      const res = await kubectl(['get', 'pods', '-n', ns, '-l', 'app=again', '-o', 'json']);
      const list = JSON.parse(res.stdout) as { items: { metadata: { name: string; creationTimestamp: string; deletionTimestamp?: string } }[] };
      return list.items.filter((p) => p.metadata.deletionTimestamp === undefined).map((p) => ({ name: p.metadata.name, created: Date.parse(p.metadata.creationTimestamp) }));
    };
    const before = await podsOf();
    expect(before).toHaveLength(4);
    await new Promise((r) => setTimeout(r, 1100)); // creation timestamps have one-second resolution
    const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const res = await kubectl(['patch', 'rollouts.sluice.dev', 'again', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { restartAt: at } })]);
    expect(res.stderr).toBe('');
    await waitFor('restartedAt recorded', async () => (await rollout('again')).status?.restartedAt === at, 60_000);
    const after = await podsOf();
    expect(after).toHaveLength(4);
    for (const p of after) expect(p.created).toBeGreaterThanOrEqual(Date.parse(at));
    expect(after.map((p) => p.name).filter((n) => before.some((b) => b.name === n))).toEqual([]);
    expect((await rollout('again')).status?.phase).toBe('Healthy');
  });
  it('canaries a plain Deployment through workloadRef, scaling the Deployment down once the Rollout is Healthy', async () => {
    await apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'legacy' },
      spec: { replicas: 3, selector: { matchLabels: { app: 'legacy' } }, template: { metadata: { labels: { app: 'legacy' } }, spec: { containers: [{ name: 'app', image: 'registry.invalid/legacy:v1' }] } } },
    });
    for (const svc of ['legacy-stable', 'legacy-canary']) {
      await apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: svc }, spec: { selector: { app: 'legacy' }, ports: [{ port: 80 }] } });
    }
    await apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'legacy' },
      spec: { rules: [{ backendRefs: [{ name: 'legacy-stable', port: 80, weight: 100 }, { name: 'legacy-canary', port: 80, weight: 0 }] }] },
    });
    const steps = [{ setWeight: 40 }, { pause: {} }];
    await apply({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'legacy' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'legacy' } },
        workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'legacy', scaleDown: 'onsuccess' },
        strategy: { canary: { canaryService: 'legacy-canary', stableService: 'legacy-stable', scaleDownDelaySeconds: 2, trafficRouting: { gatewayAPI: { httpRoute: 'legacy' } }, steps } },
      },
    });
    await waitFor('Healthy on the Deployment template', async () => (await rollout('legacy')).status?.phase === 'Healthy', 60_000);
    const deploymentReplicas = async (): Promise<number | undefined> =>
      (await op.client.get<KubeObject & { spec?: { replicas?: number } }>(R.deployment, ns, 'legacy')).spec?.replicas;
    await waitFor('the Deployment scaled to 0', async () => (await deploymentReplicas()) === 0, 30_000);

    // A new image in the Deployment (what a team that keeps its Deployment would change) is canaried.
    const res = await kubectl(['set', 'image', '-n', ns, 'deployment/legacy', 'app=registry.invalid/legacy:v2']);
    expect(res.code).toBe(0);
    await waitFor('the new Deployment template at 40%', async () => (await weights('legacy'))['legacy-canary'] === 40, 30_000);
    expect(await deploymentReplicas()).toBe(0);
  });
});

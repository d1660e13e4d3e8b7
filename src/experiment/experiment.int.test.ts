// Experiments on the real control plane, the operator's runtime in-process: an Experiment of a stable and a canary
// pod spec whose analysis passes ends Successful with its ReplicaSets created from those specs and then scaled to 0;
// a Rollout whose experiment step's analysis fails aborts. The analyses use the web provider against a loopback
// endpoint whose answer the test sets (kwok makes the pods ready).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { createNamespace, deleteNamespace, waitFor } from '../../test/support/cluster.ts';
import { sluice } from '../../test/support/plugin.ts';
import { helpers, installAllCrds, rolloutManifest, runOperator, type InProcessOperator } from '../../test/support/rollouts.ts';
import type { ExperimentStatus } from '../api/experiment/schema.ts';
import type { KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import { POD_TEMPLATE_HASH_LABEL } from '../rollout/hash.ts';
import { HTTP_ROUTE } from '../rollout/traffic/gatewayapi.ts';
import { EXPERIMENT_LABEL } from './resources.ts';

type ExperimentObj = KubeObject & { status?: ExperimentStatus };
type ReplicaSetObj = KubeObject & { spec?: { replicas?: number; template?: { metadata?: { labels?: Record<string, string> }; spec?: { containers?: { image?: string }[] } } } };
type RunObj = KubeObject & { spec?: { args?: { name: string; value?: string }[] }; status?: { phase?: string } };

const pod = (app: string, image: string): object => ({ metadata: { labels: { app } }, spec: { containers: [{ name: 'app', image }] } });

describe('experiments (real control plane)', () => {
  let ns: string;
  let op: InProcessOperator;
  let server: Server;
  let h: ReturnType<typeof helpers>;

  beforeAll(async () => {
    await installAllCrds();
    ns = await createNamespace('experiment');
    op = await runOperator(ns);
    h = helpers(ns, op.client);
    server = createServer((req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ ok: req.url?.startsWith('/pass') === true ? 1 : 0 })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const check = (name: string, path: string): object => ({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'AnalysisTemplate',
      metadata: { name },
      spec: {
        args: [{ name: 'canary-hash' }],
        metrics: [{ name: 'ok', count: 2, interval: '1s', successCondition: 'result == 1', failureLimit: 0, provider: { web: { url: `http://127.0.0.1:${port}${path}?canary={{args.canary-hash}}`, jsonPath: '{$.ok}' } } }],
      },
    });
    await h.apply(check('passes', '/pass'));
    await h.apply(check('fails', '/fail'));
  }, 60_000);

  afterAll(async () => {
    await op.stop();
    server.close();
    await deleteNamespace(ns);
  });

  const experiment = (name: string): Promise<ExperimentObj> => op.client.get<ExperimentObj>(R.experiment, ns, name);
  const ownedSets = async (name: string): Promise<ReplicaSetObj[]> => (await op.client.list<ReplicaSetObj>(R.replicaSet, ns, { labelSelector: `${EXPERIMENT_LABEL}=${name}` })).items;

  it('runs a stable and a canary spec side by side, passes its analysis, ends Successful and scales both down', async () => {
    await h.apply({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Experiment',
      metadata: { name: 'compare' },
      spec: {
        duration: '3s',
        progressDeadlineSeconds: 60,
        templates: [
          { name: 'baseline', replicas: 1, selector: { matchLabels: { app: 'shop' } }, template: pod('shop', 'registry.invalid/shop:v1') },
          { name: 'canary', replicas: 2, selector: { matchLabels: { app: 'shop' } }, template: pod('shop', 'registry.invalid/shop:v2') },
        ],
        analyses: [{ name: 'compare', templateName: 'passes', args: [{ name: 'canary-hash', value: '{{templates.canary.podTemplateHash}}' }] }],
      },
    });
    await waitFor('Running with both templates available', async () => (await experiment('compare')).status?.phase === 'Running', 30_000);
    const running = await experiment('compare');
    expect(running.status?.availableAt).toBeDefined();
    expect(running.status?.templateStatuses?.map((t) => [t.name, t.status, t.availableReplicas])).toEqual([['baseline', 'Running', 1], ['canary', 'Running', 2]]);
    const sets = await ownedSets('compare');
    const byName: Record<string, ReplicaSetObj> = {};
    for (const s of sets) byName[s.metadata?.name ?? ''] = s;
    expect(byName['compare-baseline']?.spec?.template?.spec?.containers?.[0]?.image).toBe('registry.invalid/shop:v1');
    expect(byName['compare-canary']?.spec?.template?.spec?.containers?.[0]?.image).toBe('registry.invalid/shop:v2');
    expect(byName['compare-canary']?.spec?.replicas).toBe(2);
    expect(byName['compare-canary']?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Experiment', name: 'compare', controller: true });
    const canaryHash = byName['compare-canary']?.metadata?.labels?.[POD_TEMPLATE_HASH_LABEL];
    expect(canaryHash).toBe(running.status?.templateStatuses?.[1]?.podTemplateHash);

    await waitFor('Successful', async () => (await experiment('compare')).status?.phase === 'Successful', 30_000);
    const done = await experiment('compare');
    expect(done.status?.analysisRuns).toMatchObject([{ name: 'compare', analysisRun: 'compare-compare' }]);
    const run = await op.client.get<RunObj>(R.analysisRun, ns, 'compare-compare');
    expect(run.spec?.args).toContainEqual({ name: 'canary-hash', value: canaryHash });
    await waitFor('ReplicaSets scaled to 0', async () => (await ownedSets('compare')).every((s) => s.spec?.replicas === 0), 15_000);
    await waitFor('run Successful', async () => (await op.client.get<RunObj>(R.analysisRun, ns, 'compare-compare')).status?.phase === 'Successful', 15_000);
  }, 90_000);

  it('reports an analysis template that does not exist by field, and creates nothing', async () => {
    await h.apply({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Experiment',
      metadata: { name: 'missing' },
      spec: { templates: [{ name: 'canary', selector: { matchLabels: { app: 'shop' } }, template: pod('shop', 'registry.invalid/shop:v2') }], analyses: [{ name: 'a', templateName: 'nope' }] },
    });
    await waitFor('InvalidSpec', async () => (await experiment('missing')).status?.message !== undefined, 15_000);
    expect((await experiment('missing')).status?.message).toBe('InvalidSpec: spec.analyses[0].templateName: AnalysisTemplate "nope" not found');
    expect(await ownedSets('missing')).toEqual([]);
  }, 30_000);

  it('a Rollout\'s experiment step runs the stable and canary specs: passes when its analysis passes, aborts when it fails', async () => {
    const step = (template: string): object => ({
      experiment: {
        duration: '2s',
        templates: [{ name: 'baseline', specRef: 'stable' }, { name: 'canary', specRef: 'canary', metadata: { labels: { role: 'canary' } } }],
        analyses: [{ name: 'compare', templateName: template, args: [{ name: 'canary-hash', valueFrom: { podTemplateHashValue: 'Latest' } }] }],
      },
    });
    const steps = (template: string): object[] => [{ setWeight: 25 }, step(template), { pause: { duration: '1s' } }];
    await h.apply(rolloutManifest('web', 'v1', { steps: steps('passes') }));
    await waitFor('v1 Healthy', async () => (await h.rollout('web')).status?.phase === 'Healthy', 30_000);
    const v1 = (await h.rollout('web')).status?.stableRS ?? '';

    await h.apply(rolloutManifest('web', 'v2', { steps: steps('passes') }));
    await waitFor('v2 promoted after its experiment passed', async () => {
      const r = await h.rollout('web');
      return r.status?.phase === 'Healthy' && r.status.stableRS === r.status.currentPodHash && r.status.stableRS !== v1;
    }, 45_000);
    const v2 = (await h.rollout('web')).status?.stableRS ?? '';
    const passed = await experiment(`web-${v2}-1`);
    expect(passed.status?.phase).toBe('Successful');
    expect(passed.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Rollout', name: 'web', controller: true });
    const sets = await ownedSets(`web-${v2}-1`);
    const image = (name: string): string | undefined => sets.find((s) => s.metadata?.name === name)?.spec?.template?.spec?.containers?.[0]?.image;
    expect(image(`web-${v2}-1-baseline`)).toBe('registry.invalid/web:v1'); // specRef stable: the stable revision's spec
    expect(image(`web-${v2}-1-canary`)).toBe('registry.invalid/web:v2');
    expect(sets.find((s) => s.metadata?.name === `web-${v2}-1-canary`)?.spec?.template?.metadata?.labels?.role).toBe('canary');
    // The experiment's pods are not the rollout's: their own hash, so the Rollout's Services never select them.
    expect(sets.map((s) => s.metadata?.labels?.[POD_TEMPLATE_HASH_LABEL])).not.toContain(v2);
    await waitFor('experiment ReplicaSets scaled to 0', async () => (await ownedSets(`web-${v2}-1`)).every((s) => s.spec?.replicas === 0), 15_000);
    const run = await op.client.get<RunObj>(R.analysisRun, ns, `web-${v2}-1-compare`);
    expect(run.spec?.args).toContainEqual({ name: 'canary-hash', value: v2 });

    await h.apply(rolloutManifest('web', 'v3', { steps: steps('fails') }));
    await waitFor('v3 aborted by its failed experiment', async () => (await h.rollout('web')).status?.abort === true, 45_000);
    const aborted = await h.rollout('web');
    expect(aborted.status?.phase).toBe('Degraded');
    expect(aborted.status?.stableRS).toBe(v2);
    const v3 = aborted.status?.currentPodHash ?? '';
    const failed = await experiment(`web-${v3}-1`);
    expect(failed.status?.phase).toBe('Failed');
    expect(failed.status?.message).toMatch(/^analysis compare Failed/);
    await waitFor('failed experiment ReplicaSets scaled to 0', async () => (await ownedSets(`web-${v3}-1`)).every((s) => s.spec?.replicas === 0), 15_000);
  }, 150_000);

  it('routes a weighted baseline and canary through the Gateway API: equal weights on the route while it runs, then off, Services gone, pods scaled down', async () => {
    const app = 'routed';
    const svc = (name: string): object => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app }, ports: [{ name: 'http', port: 8080 }] } });
    await h.apply(svc(`${app}-stable`));
    await h.apply(svc(`${app}-canary`));
    await h.apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: app },
      spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: `${app}-stable`, port: 8080, weight: 100 }, { name: `${app}-canary`, port: 8080, weight: 0 }] }] },
    });
    const manifest = (version: string, template: string): object => {
      const m = rolloutManifest(app, version, {
        canaryService: `${app}-canary`,
        stableService: `${app}-stable`,
        trafficRouting: { gatewayAPI: { httpRoute: app } },
        steps: [
          { setWeight: 20 },
          {
            experiment: {
              duration: '8s',
              scaleDownDelaySeconds: 3,
              templates: [{ name: 'baseline', specRef: 'stable', weight: 20 }, { name: 'canary', specRef: 'canary', weight: 20 }],
              analyses: [{ name: 'compare', templateName: template, args: [{ name: 'canary-hash', valueFrom: { podTemplateHashValue: 'Latest' } }] }],
            },
          },
          { pause: { duration: '1s' } },
        ],
      }) as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
      m.spec.template.spec.containers = m.spec.template.spec.containers.map((c) => ({ ...c, ports: [{ name: 'http', containerPort: 8080 }] }));
      return m;
    };
    type Route = KubeObject & { spec?: { rules?: { backendRefs?: { name: string; weight?: number }[] }[] } };
    const weights = async (): Promise<Record<string, number>> => Object.fromEntries(((await op.client.get<Route>(HTTP_ROUTE, ns, app)).spec?.rules?.[0]?.backendRefs ?? []).map((b) => [b.name, b.weight ?? 1]));
    await h.apply(manifest('v1', 'passes'));
    await waitFor('v1 Healthy', async () => (await h.rollout(app)).status?.phase === 'Healthy', 30_000);

    await h.apply(manifest('v2', 'passes'));
    let hash = '';
    // Each template joins the route once its own endpoints are ready: wait for both.
    await waitFor('both experiment templates on the route', async () => {
      hash = (await h.rollout(app)).status?.currentPodHash ?? '';
      const w = await weights();
      return w[`${app}-${hash}-1-canary`] !== undefined && w[`${app}-${hash}-1-baseline`] !== undefined;
    }, 45_000);
    const exp = `${app}-${hash}-1`;
    // While the experiment runs: baseline and canary templates equal, the canary at its step's 20, stable the rest.
    expect(await weights()).toEqual({ [`${app}-stable`]: 40, [`${app}-canary`]: 20, [`${exp}-baseline`]: 20, [`${exp}-canary`]: 20 });
    // The status follows the route's write in the same reconcile.
    const additional = async (): Promise<string> => JSON.stringify((await h.rollout(app)).status?.canary?.weights?.additional?.map((a) => [a.serviceName, a.weight]));
    await waitFor('status.canary.weights.additional', async () => (await additional()) === JSON.stringify([[`${exp}-baseline`, 20], [`${exp}-canary`, 20]]), 10_000);
    const status = (await experiment(exp)).status;
    expect(status?.templateStatuses?.map((t) => t.serviceName)).toEqual([`${exp}-baseline`, `${exp}-canary`]);
    // Each template's Service selects that template's pods only (its own hash), on the containers' port.
    type Svc = KubeObject & { spec?: { selector?: Record<string, string>; ports?: { port: number; targetPort?: number }[] } };
    for (const t of status?.templateStatuses ?? []) {
      const s = await op.client.get<Svc>(R.service, ns, `${exp}-${t.name}`);
      expect(s.spec?.selector).toEqual({ app, [POD_TEMPLATE_HASH_LABEL]: t.podTemplateHash });
      expect(s.spec?.ports?.map((p) => [p.port, p.targetPort])).toEqual([[8080, 8080]]);
      expect(s.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Experiment', name: exp });
    }
    await waitFor('v2 promoted after its experiment passed', async () => (await h.rollout(app)).status?.stableRS === hash, 45_000);
    const after = await weights();
    expect(Object.keys(after).filter((k) => k.startsWith(exp))).toEqual([]);
    expect(after[`${app}-stable`]).toBe(100);
    expect((await h.rollout(app)).status?.canary?.weights?.additional).toBeUndefined();
    await waitFor('experiment ReplicaSets scaled to 0 and Services deleted', async () => {
      const svcs = (await op.client.list(R.service, ns, { labelSelector: `${EXPERIMENT_LABEL}=${exp}` })).items;
      return svcs.length === 0 && (await ownedSets(exp)).every((x) => x.spec?.replicas === 0);
    }, 20_000);

    // A failing comparison aborts: the templates' traffic goes in the same reconcile as the canary's.
    await h.apply(manifest('v3', 'fails'));
    await waitFor('v3 aborted by its failed experiment', async () => (await h.rollout(app)).status?.abort === true, 45_000);
    const aborted = await weights();
    expect(Object.entries(aborted).filter(([k, w]) => k !== `${app}-stable` && w > 0)).toEqual([]);
    expect(aborted[`${app}-stable`]).toBe(100);
  }, 180_000);

  it('kubectl sluice get, list, terminate and retry experiment', async () => {
    await h.apply({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Experiment',
      metadata: { name: 'open-ended' },
      // No duration and no analysis required for completion: it runs until terminated.
      spec: { templates: [{ name: 'canary', replicas: 2, selector: { matchLabels: { app: 'cli' } }, template: pod('cli', 'registry.invalid/cli:v2') }], analyses: [{ name: 'watch', templateName: 'passes', args: [{ name: 'canary-hash', value: 'x' }] }] },
    });
    await waitFor('Running', async () => (await experiment('open-ended')).status?.phase === 'Running', 30_000);
    const shown = await sluice(['get', 'experiment', 'open-ended', '-n', ns]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/Status: +Running/);
    expect(shown.stdout).toMatch(/canary +Running +2\/2 +open-ended-canary/);
    expect(shown.stdout).toMatch(/watch +passes +no +open-ended-watch/);
    const listed = await sluice(['list', 'experiments', '-n', ns]);
    expect(listed.stdout).toMatch(/^NAME +STATUS +DURATION +TEMPLATES +ANALYSES +AGE$/m);
    expect(listed.stdout).toMatch(/^open-ended +Running +- +1 +1 /m);
    expect(listed.stdout).toMatch(/^compare +Successful +3s /m);
    const missing = await sluice(['get', 'experiment', 'nope', '-n', ns]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('experiments.sluice.dev "nope" not found');

    const terminated = await sluice(['terminate', 'experiment', 'open-ended', '-n', ns]);
    expect(terminated.stdout).toBe('experiment "open-ended" terminated\n');
    await waitFor('terminated', async () => (await experiment('open-ended')).status?.phase === 'Successful', 15_000);
    expect((await experiment('open-ended')).status?.message).toBe('Experiment terminated');
    await waitFor('scaled to 0', async () => (await ownedSets('open-ended')).every((x) => x.spec?.replicas === 0), 15_000);

    // retry: the ended 3 s experiment runs again (pods back up, a new analysis run) and ends Successful again.
    const before = (await op.client.get<RunObj>(R.analysisRun, ns, 'compare-compare')).metadata?.uid;
    expect((await sluice(['retry', 'experiment', 'compare', '-n', ns])).stdout).toBe('experiment "compare" retried\n');
    await waitFor('running again', async () => (await ownedSets('compare')).some((x) => (x.spec?.replicas ?? 0) > 0), 15_000);
    await waitFor('Successful again', async () => (await experiment('compare')).status?.phase === 'Successful', 30_000);
    expect((await op.client.get<RunObj>(R.analysisRun, ns, 'compare-compare')).metadata?.uid).not.toBe(before);
  }, 120_000);
});

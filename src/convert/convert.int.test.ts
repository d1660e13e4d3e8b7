// `kubectl sluice convert` end to end: the real executable converts the Argo Rollouts, Flagger and Argo CD fixtures,
// the output is applied to the real apiserver (strict field validation) with the operator running, and it runs:
// every converted Rollout reaches Healthy, the converted Flagger canary takes a new image through its weights with
// the builtin checks measured on a real Prometheus, and the converted Argo CD Application syncs from a real Git server.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';
import type { ApplicationStatus } from '../api/application/schema.ts';
import { registerControllers } from '../controllers.ts';
import type { KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import { replicaSetName } from '../rollout/effects.ts';
import { podTemplateHash } from '../rollout/hash.ts';
import { VIRTUAL_SERVICE } from '../rollout/traffic/istio.ts';
import { EventRecorder } from '../runtime/events.ts';
import { Manager } from '../runtime/manager.ts';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.ts';
import { startGitServer, type GitServer } from '../../test/support/git-server.ts';
import { testClient, testLogger, testMetrics } from '../../test/support/operator.ts';
import { LoadTester } from '../../test/support/loadtester.ts';
import { sluice } from '../../test/support/plugin.ts';
import { installAllCrds, type RolloutObj } from '../../test/support/rollouts.ts';
import { Exporter, PrometheusServer } from '../../test/prometheus/harness.ts';
import { drive, families, type Workload } from '../../test/prometheus/traffic.ts';

const FIXTURES = 'test/fixtures/convert';
/** The destination namespace the Argo CD fixture names (CreateNamespace=true creates it). */
const GUESTBOOK_NS = 'convert-guestbook';

type VS = KubeObject & { spec?: { http?: { route?: { destination?: { host?: string }; weight?: number }[] }[] } };
type App = KubeObject & { status?: ApplicationStatus };
type Run = KubeObject & { status?: { phase?: string; metricResults?: { name: string; phase: string; measurements?: { phase: string }[] }[] } };

describe('kubectl sluice convert: the converted manifests apply and run', () => {
  let ns: string;
  let manager: Manager;
  let running: Promise<unknown>;
  let git: GitServer;
  let exporter: Exporter;
  let prometheus: PrometheusServer;
  let stopTraffic: () => void = () => undefined;
  let cacheDir: string;
  const traffic = new Map<string, Workload>();
  const { client } = testClient();

  beforeAll(async () => {
    exporter = await Exporter.start();
    prometheus = await PrometheusServer.start([exporter.target]);
    stopTraffic = drive(exporter, (c) => {
      for (const [workload, w] of traffic) families.istio(c, ns, workload, w);
    }).stop;
    await installAllCrds();
    ns = await createNamespace('convert');
    git = await startGitServer();
    cacheDir = await mkdtemp(join(tmpdir(), 'sluice-gitcache-'));
    process.env.SLUICE_GIT_CACHE = cacheDir;
    const log = testLogger();
    manager = new Manager({ client, log, metrics: testMetrics(), namespaces: [ns, GUESTBOOK_NS] });
    registerControllers(manager, { client, log, events: new EventRecorder({ client, log, instance: 'test' }), workers: 2, prometheusAddress: prometheus.url });
    running = manager.run();
    await waitFor('caches', () => manager.ready());
  }, 120_000);

  afterAll(async () => {
    stopTraffic();
    await manager.stop();
    await running;
    await prometheus.stop();
    await exporter.stop();
    await git.close();
    await rm(cacheDir, { recursive: true, force: true });
    await deleteNamespace(ns);
    await kubectl(['delete', 'namespace', GUESTBOOK_NS, '--ignore-not-found', '--wait=false']);
  });

  const rollout = (name: string): Promise<RolloutObj> => client.get<RolloutObj>(R.rollout, ns, name);
  const healthy = async (name: string): Promise<boolean> => {
    const s = (await rollout(name)).status;
    return s?.phase === 'Healthy' && s.stableRS !== undefined && s.stableRS === s.currentPodHash;
  };

  it('converts Argo Rollouts and Flagger manifests with exit 3 and a located report; kubectl applies the output and every Rollout becomes Healthy', async () => {
    const files = ['argo-rollouts.yaml', 'flagger-istio.yaml', 'flagger-nginx.yaml', 'flagger-gatewayapi.yaml'].map((f) => `${FIXTURES}/${f}`);
    const res = await sluice(['convert', ...files]);
    expect(res.code).toBe(3);
    const report = res.stderr.split('\n');
    expect(report).toEqual(expect.arrayContaining([
      `${FIXTURES}/argo-rollouts.yaml:118:9: unmapped: AnalysisTemplate/shop-error-rate: spec.metrics[1].provider.datadog: metric provider not supported by Sluice (prometheus, web, job, webhook are): left out`,
      expect.stringMatching(new RegExp(`^${FIXTURES}/flagger-istio\\.yaml:61:5: note: Canary/podinfo: spec\\.analysis\\.webhooks: rollout webhooks: called every 10s`)),
      expect.stringMatching(new RegExp(`^${FIXTURES}/flagger-nginx\\.yaml:\\d+:\\d+: note: Canary/frontend: spec\\.analysis\\.webhooks: gates and notifications \\(confirm-promotion\\)`)),
      expect.stringMatching(new RegExp(`^${FIXTURES}/flagger-gatewayapi\\.yaml:50:9: unmapped: Canary/payments: spec\\.analysis\\.metrics\\[1\\]\\.templateRef: MetricTemplate "error-budget"`)),
    ]));
    expect(report.filter((l) => l.includes(': error: '))).toEqual([]);
    expect(res.stdout).not.toContain('argoproj.io');
    expect(res.stdout).not.toContain('flagger.app');

    // Strict field validation (kubectl's default): an unknown field anywhere would fail the apply.
    const applied = await kubectl(['apply', '--server-side', '-n', ns, '-f', '-'], res.stdout);
    expect({ code: applied.code, stderr: applied.stderr }).toEqual({ code: 0, stderr: '' });
    for (const name of ['shop', 'podinfo', 'frontend', 'payments']) {
      await waitFor(`converted Rollout ${name} Healthy`, () => healthy(name), 60_000);
      expect((await rollout(name)).status?.message ?? '').not.toContain('InvalidSpec');
    }
    // workloadRef with scaleDown: onsuccess: the Flagger target Deployment hands its pods over to the Rollout.
    await waitFor('Deployment podinfo scaled to 0', async () => (await client.get<KubeObject & { spec?: { replicas?: number } }>(R.deployment, ns, 'podinfo')).spec?.replicas === 0, 30_000);
  }, 180_000);

  it('the converted Flagger canary takes a new image through its weights with the builtin checks on a real Prometheus, then promotes', async () => {
    // The canary's ReplicaSet name follows from the Deployment's new (defaulted) template: serve it healthy traffic
    // before the change, as a running service would.
    const dry = await kubectl(['set', 'image', '-n', ns, 'deployment/podinfo', 'podinfod=registry.invalid/podinfo:6.0.1', '--dry-run=server', '-o', 'json']);
    expect(dry.stderr).toBe('');
    const hash = podTemplateHash((JSON.parse(dry.stdout) as { spec: { template: unknown } }).spec.template);
    const workload = replicaSetName('podinfo', hash);
    traffic.set(workload, { requests: 100, errors: 0, latencyMs: 40 });
    await waitFor(`Prometheus has ${workload}'s series`, async () => {
      const r = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(`max(count_over_time(istio_requests_total{destination_workload="${workload}"}[10s]))`)}`);
      const body = (await r.json()) as { data?: { result?: { value?: [number, string] }[] } };
      return Number(body.data?.result?.[0]?.value?.[1] ?? 0) >= 4;
    }, 60_000, 500);

    // The converted load-test webhook (Flagger's loadtester) pointed at the test's load tester, loading a local target.
    const tester = await LoadTester.start();
    let hits = 0;
    const target = createServer((_req, res) => {
      hits++;
      res.end('ok');
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const cmd = `hey -z 2s -q 5 -c 1 http://127.0.0.1:${(target.address() as AddressInfo).port}/`;
    const hook = await client.get<KubeObject & { spec: { metrics: { provider: { webhook: { url: string; metadata: Record<string, string> } } }[] } }>(R.analysisTemplate, ns, 'podinfo-webhooks');
    const metric = hook.spec.metrics[0];
    if (metric !== undefined) metric.provider.webhook = { ...metric.provider.webhook, url: `${tester.url}/`, metadata: { cmd } };
    await client.replace(R.analysisTemplate, hook);

    const stopLoad = async (): Promise<void> => {
      await tester.stop();
      target.closeAllConnections();
      if (target.listening) target.close();
    };
    try {
      const set = await kubectl(['set', 'image', '-n', ns, 'deployment/podinfo', 'podinfod=registry.invalid/podinfo:6.0.1']);
      expect(set.code).toBe(0);
      const weights = new Set<number>();
      await waitFor('the canary promoted through 30% and 60%', async () => {
        const vs = await client.get<VS>(VIRTUAL_SERVICE, ns, 'podinfo');
        const w = vs.spec?.http?.[0]?.route?.find((d) => d.destination?.host === 'podinfo-canary')?.weight;
        if (w !== undefined && w > 0) weights.add(w);
        const s = (await rollout('podinfo')).status;
        return s?.phase === 'Healthy' && s.stableRS === hash;
      }, 120_000, 200);
      // Both steps' weights were reached, and none beyond the last step's (a weight can lag while canary pods start).
      expect([...weights]).toEqual(expect.arrayContaining([30, 60]));
      expect(Math.max(...weights)).toBe(60);
      // The webhook was called with Flagger's payload for this Rollout, and the load it asked for reached the target.
      await stopLoad();
      expect(tester.calls.length).toBeGreaterThan(0);
      expect(tester.calls[0]?.payload).toMatchObject({ name: 'podinfo', namespace: ns, phase: 'Progressing', metadata: { cmd } });
      expect(hits).toBeGreaterThan(0);
    } finally {
      await stopLoad();
    }
    const runs = (await client.list<Run>(R.analysisRun, ns)).items.filter((r) => r.metadata?.labels?.['sluice.dev/rollout'] === 'podinfo');
    expect(runs.map((r) => r.status?.phase)).toEqual(['Successful']);
    const measured = runs[0]?.status?.metricResults?.flatMap((m) => (m.measurements ?? []).map((x) => `${m.name} ${x.phase}`)) ?? [];
    expect(measured.length).toBeGreaterThan(0);
    expect(measured.every((m) => m.endsWith(' Successful'))).toBe(true);
  }, 180_000);

  it('converts an Argo CD Application, and the converted Application syncs the repository into the cluster', async () => {
    const url = await git.createRepo('config');
    await git.commit('config', {
      'guestbook/config.yaml': stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'guestbook-ui' }, data: { theme: 'dark' } }),
      'guestbook/backend/service.yaml': stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'guestbook' }, spec: { selector: { app: 'guestbook' }, ports: [{ port: 80 }] } }),
    });
    // The fixture as Argo CD users write it, pointed at this test's Git server.
    const dir = await mkdtemp(join(tmpdir(), 'sluice-convert-'));
    const file = join(dir, 'argocd-application.yaml');
    await writeFile(file, (await readFile(`${FIXTURES}/argocd-application.yaml`, 'utf8')).replace('https://git.example.com/platform/config.git', url));
    const res = await sluice(['convert', file]);
    await rm(dir, { recursive: true, force: true });
    expect(res.code).toBe(3);
    expect(res.stderr).toContain(`${file}:32:9: unmapped: Application/guestbook: spec.syncPolicy.syncOptions[1]: sync option "PruneLast=true" is not supported by Sluice`);
    const applied = await kubectl(['apply', '--server-side', '-n', ns, '-f', '-'], res.stdout);
    expect({ code: applied.code, stderr: applied.stderr }).toEqual({ code: 0, stderr: '' });

    await waitFor('the converted Application Synced and Healthy', async () => {
      const st = (await client.get<App>(R.application, ns, 'guestbook')).status;
      return st?.sync?.status === 'Synced' && st.health?.status === 'Healthy';
    }, 90_000);
    // directory.recurse was kept: the nested file was applied too, into the namespace CreateNamespace=true made.
    expect((await kubectl(['get', 'configmap/guestbook-ui', 'service/guestbook', '-n', GUESTBOOK_NS, '-o', 'name'])).stdout).toBe('configmap/guestbook-ui\nservice/guestbook\n');
  }, 180_000);

  it('converts a Flux GitRepository and Kustomization, and the converted Application syncs the path into the cluster', async () => {
    const url = await git.createRepo('flux');
    await git.commit('flux', { 'apps/staging/settings.yaml': stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flux-settings' }, data: { env: 'staging' } }) });
    const flux = [
      { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'repo', namespace: ns }, spec: { interval: '1m', url, ref: { branch: 'main' } } },
      { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'staging', namespace: ns }, spec: { interval: '10m', sourceRef: { kind: 'GitRepository', name: 'repo' }, path: './apps/staging', prune: true, targetNamespace: ns } },
    ];
    const dir = await mkdtemp(join(tmpdir(), 'sluice-convert-'));
    const file = join(dir, 'flux.yaml');
    await writeFile(file, flux.map((o) => stringify(o)).join('---\n'));
    const res = await sluice(['convert', file]);
    await rm(dir, { recursive: true, force: true });
    expect(res.code).toBe(0);
    const applied = await kubectl(['apply', '--server-side', '-f', '-'], res.stdout);
    expect({ code: applied.code, stderr: applied.stderr }).toEqual({ code: 0, stderr: '' });
    await waitFor('the converted Kustomization Synced and Healthy', async () => {
      const st = (await client.get<App>(R.application, ns, 'staging')).status;
      return st?.sync?.status === 'Synced' && st.health?.status === 'Healthy';
    }, 90_000);
    expect((await kubectl(['get', 'configmap/flux-settings', '-n', ns, '-o', 'jsonpath={.data.env}'])).stdout).toBe('staging');
  }, 180_000);
});

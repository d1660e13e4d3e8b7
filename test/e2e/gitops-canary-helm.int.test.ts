// The cooperation test through Helm: the Rollout, its Services and its HTTPRoute are templates of a chart in Git,
// the image a value. A values commit starts a canary; the sync (self-heal on) leaves the canary's weights and Service
// pins alone, the Application stays Synced, and promotion completes. Real Git server, real apiserver, real helm, the
// whole operator.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ApplicationStatus } from '../../src/api/application/schema.ts';
import { registerControllers } from '../../src/controllers.ts';
import type { KubeObject } from '../../src/kube/client.ts';
import { R } from '../../src/kube/resource.ts';
import { EventRecorder } from '../../src/runtime/events.ts';
import { Manager } from '../../src/runtime/manager.ts';
import { POD_TEMPLATE_HASH_LABEL } from '../../src/rollout/hash.ts';
import { HTTP_ROUTE } from '../../src/rollout/traffic/gatewayapi.ts';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../support/cluster.ts';
import { startGitServer, type GitServer } from '../support/git-server.ts';
import { testClient, testLogger, testMetrics } from '../support/operator.ts';
import { installAllCrds, type RolloutObj } from '../support/rollouts.ts';

process.env.SLUICE_HELM = join(process.env.SLUICE_TEST_BIN_DIR ?? '', 'helm');

type App = KubeObject & { status?: ApplicationStatus };
type Route = KubeObject & { spec?: { rules?: { backendRefs?: { name: string; weight?: number }[] }[] } };

const templates = (): Record<string, string> => ({
  'shop/templates/services.yaml': [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'shop-stable' }, spec: { selector: { app: 'shop' }, ports: [{ port: 80 }] } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'shop-canary' }, spec: { selector: { app: 'shop' }, ports: [{ port: 80 }] } },
  ].map((d) => stringify(d)).join('---\n'),
  'shop/templates/route.yaml': stringify({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'shop' },
    spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'shop-stable', port: 80, weight: 100 }, { name: 'shop-canary', port: 80, weight: 0 }] }] },
  }),
  'shop/templates/rollout.yaml': stringify({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'shop' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'shop' } },
      template: { metadata: { labels: { app: 'shop' } }, spec: { containers: [{ name: 'shop', image: '{{ .Values.image }}' }] } },
      strategy: { canary: { canaryService: 'shop-canary', stableService: 'shop-stable', scaleDownDelaySeconds: 1, trafficRouting: { gatewayAPI: { httpRoute: 'shop' } }, steps: [{ setWeight: 30 }, { pause: {} }] } },
    },
  }),
});

const chart = (image: string): Record<string, string> => ({
  ...templates(),
  'shop/Chart.yaml': 'apiVersion: v2\nname: shop\nversion: 1.0.0\n',
  'shop/values.yaml': `image: ${image}\n`,
});

describe('GitOps and a canary on the same objects, through a Helm chart', () => {
  let ns: string;
  let dest: string;
  let git: GitServer;
  let cacheDir: string;
  let manager: Manager;
  let running: Promise<unknown>;
  const { client } = testClient();

  beforeAll(async () => {
    await installAllCrds();
    ns = await createNamespace('helm-canary');
    dest = `${ns}-shop`;
    expect((await kubectl(['create', 'namespace', dest])).code).toBe(0);
    git = await startGitServer();
    const url = await git.createRepo('config');
    await git.commit('config', chart('registry.invalid/shop:1'));
    cacheDir = await mkdtemp(join(tmpdir(), 'sluice-gitcache-'));
    process.env.SLUICE_GIT_CACHE = cacheDir;
    const log = testLogger();
    manager = new Manager({ client, log, metrics: testMetrics(), namespaces: [ns, dest] });
    registerControllers(manager, { client, log, events: new EventRecorder({ client, log, instance: 'test' }), workers: 2 });
    running = manager.run();
    await waitFor('caches', () => manager.ready());
    const res = await kubectl(['apply', '--server-side', '-n', ns, '-f', '-'], stringify({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Application',
      metadata: { name: 'shop' },
      spec: { source: { repoURL: url, targetRevision: 'main', path: 'shop', helm: { releaseName: 'shop' } }, destination: { namespace: dest }, syncPolicy: { automated: { prune: true, selfHeal: true } }, pollInterval: '10s' },
    }));
    expect(res.stderr).toBe('');
  });

  afterAll(async () => {
    await manager.stop();
    await running;
    await git.close();
    await rm(cacheDir, { recursive: true, force: true });
    delete process.env.SLUICE_GIT_CACHE;
    await kubectl(['delete', 'namespace', dest, '--ignore-not-found', '--wait=false']);
    await deleteNamespace(ns);
  });

  const app = (): Promise<App> => client.get<App>(R.application, ns, 'shop');
  const rollout = (): Promise<RolloutObj> => client.get<RolloutObj>(R.rollout, dest, 'shop');
  const weights = async (): Promise<Record<string, number | undefined>> =>
    Object.fromEntries(((await client.get<Route>(HTTP_ROUTE, dest, 'shop')).spec?.rules?.[0]?.backendRefs ?? []).map((b) => [b.name, b.weight]));
  const refresh = async (): Promise<void> => {
    await client.mergePatch(R.application, ns, 'shop', { metadata: { annotations: { 'sluice.dev/refresh': String(Date.now()) } } });
  };

  it('a values bump canaries the Rollout; the sync leaves the weights and pins alone while Synced, through promotion', async () => {
    await waitFor('synced and healthy on v1', async () => (await app()).status?.sync?.status === 'Synced' && (await rollout()).status?.phase === 'Healthy', 60_000);
    const v1 = (await rollout()).status?.stableRS;

    const sha = await git.commit('config', { 'shop/values.yaml': 'image: registry.invalid/shop:2\n' }, 'values: image 2');
    await refresh();
    await waitFor('the canary at 30%, paused', async () => (await weights())['shop-canary'] === 30 && (await rollout()).status?.phase === 'Paused', 60_000);
    await waitFor('the Application synced to the new commit', async () => (await app()).status?.sync?.revision === sha, 30_000);

    // Several self-heal passes later the canary's fields are still the canary's.
    for (let i = 0; i < 3; i++) {
      await refresh();
      await new Promise((r) => setTimeout(r, 700));
      expect(await weights()).toEqual({ 'shop-stable': 70, 'shop-canary': 30 });
      const canarySelector = (await client.get<KubeObject & { spec?: { selector?: Record<string, string> } }>(R.service, dest, 'shop-canary')).spec?.selector;
      expect(canarySelector?.[POD_TEMPLATE_HASH_LABEL]).toBe((await rollout()).status?.currentPodHash);
      expect(canarySelector?.app).toBe('shop'); // Git's part of the selector is still Git's
    }
    expect((await app()).status?.sync?.status).toBe('Synced');
    // The app's health follows the canary: paused for a person, not broken.
    expect(['Progressing', 'Suspended']).toContain((await app()).status?.health?.status);

    const res = await kubectl(['patch', 'rollouts.sluice.dev', 'shop', '-n', dest, '--subresource=status', '--type=merge', '-p', '{"status":{"pauseConditions":null}}']);
    expect(res.stderr).toBe('');
    await waitFor('promoted', async () => {
      const s = (await rollout()).status;
      return s?.phase === 'Healthy' && s.stableRS !== v1;
    }, 60_000);
    expect(await weights()).toEqual({ 'shop-stable': 100, 'shop-canary': 0 });
    await refresh();
    await waitFor('still Synced and Healthy after promotion', async () => {
      const st = (await app()).status;
      return st?.sync?.status === 'Synced' && st.health?.status === 'Healthy';
    }, 30_000);

    const events = await kubectl(['get', 'events', '-n', dest, '--field-selector', 'involvedObject.name=shop', '-o', 'jsonpath={.items[*].reason}']);
    expect(events.stdout).toContain('RolloutUpdated');
  });
});

// Rollouts in remote clusters, end to end on three real control planes: the shared one runs the whole operator
// in-process (fleet mode) and is the dev environment; two small planes are the staging and prod clusters, reached
// through their cluster Secrets. One ApplicationSet releases a Rollout dev → staging → prod (RollingSync); every
// canary, in whichever cluster, is driven and analysed by the one operator (a loopback web check fails release v3 in
// staging only). The plugin's --cluster reads the remote Rollouts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { parse } from 'yaml';
import { kubeconfigPath, kubectl, waitFor } from '../../test/support/cluster.ts';
import { installCrds, installCrdsAt } from '../../test/support/crds.ts';
import { clusterSecret, startRemotePlane, type RemotePlane } from '../../test/support/fleet.ts';
import { startGitServer, type GitServer } from '../../test/support/git-server.ts';
import { testClient, testLogger, testMetrics } from '../../test/support/operator.ts';
import { sluice } from '../../test/support/plugin.ts';
import { ENVS, isPromoted, pushWebhook, startCheckServer, waveFiles, type Env, type WaveRollout } from '../../test/support/waves.ts';
import type { ApplicationSetStatus } from '../api/applicationset/schema.ts';
import { registerControllers } from '../controllers.ts';
import { applicationWebhook } from '../gitops/controller.ts';
import { handleWebhook } from '../gitops/webhook/webhook.ts';
import { KubeClient, type KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import { EventRecorder } from '../runtime/events.ts';
import { Manager } from '../runtime/manager.ts';
import type { RemoteRollouts } from './rollouts.ts';

type AppObj = KubeObject & { spec?: { source?: { targetRevision?: string } } };
type SetObj = KubeObject & { status?: ApplicationSetStatus };
/** A pause before each canary's analysis, in seconds (0 here; the note's figure for 1-minute canaries sets 60). */
const PAUSE_S = Number(process.env.SLUICE_FLEET_CANARY_PAUSE_S ?? '0');

/** The shared plane's own admin credentials, as a cluster Secret's tlsClientConfig (a Secret naming the operator's own cluster). */
async function sharedPlaneTls(): Promise<{ server: string; tls: { caData: string; certData: string; keyData: string } }> {
  const kc = parse(await readFile(kubeconfigPath(), 'utf8')) as { clusters: { cluster: { server: string; 'certificate-authority': string } }[]; users: { user: { 'client-certificate': string; 'client-key': string } }[] };
  const b64 = async (f: string): Promise<string> => (await readFile(f)).toString('base64');
  const c = kc.clusters[0]?.cluster;
  const u = kc.users[0]?.user;
  if (c === undefined || u === undefined) throw new Error('the shared kubeconfig has no cluster or user');
  return { server: c.server, tls: { caData: await b64(c['certificate-authority']), certData: await b64(u['client-certificate']), keyData: await b64(u['client-key']) } };
}

describe('Rollouts in remote clusters, released wave by wave', () => {
  const id = randomBytes(3).toString('hex');
  const home = `fleet-ro-${id}`;
  const nsOf = (env: Env): string => `fleet-ro-${env}-${id}`;
  const { client } = testClient();
  const planes: Partial<Record<Env, RemotePlane>> = {};
  const clients: Partial<Record<Env, KubeClient>> = {};
  let git: GitServer;
  let url: string;
  let server: Server;
  let port = 0;
  let manager: Manager;
  let running: Promise<unknown>;
  let remote: RemoteRollouts | undefined;
  const figures: Record<string, number> = {};
  let checks: string[] = [];
  let remoteRequests = 0;

  const files = (version: string): Record<string, string> => waveFiles(version, port, PAUSE_S);
  const app = (env: Env): Promise<AppObj> => client.get<AppObj>(R.application, home, `web-${env}`);
  const clientOf = (env: Env): KubeClient => clients[env] ?? client;
  const rollout = (env: Env): Promise<WaveRollout> => clientOf(env).get<WaveRollout>(R.rollout, nsOf(env), 'web');
  const promoted = async (env: Env, version: string): Promise<boolean> => isPromoted(await rollout(env).catch(() => ({})), version);
  const set = (): Promise<SetObj> => client.get<SetObj>(R.applicationSet, home, 'web');
  const rolloutCondition = async (): Promise<{ reason?: string; message?: string } | undefined> => (await set()).status?.conditions?.find((c) => c.type === 'RolloutProgressing');
  /** What a timed-out wait saw, for the log (then the wait's error). */
  const dump = async (e: unknown): Promise<never> => {
    process.stderr.write(`DEBUG set ${JSON.stringify((await set()).status)}\n`);
    for (const env of ENVS) process.stderr.write(`DEBUG ${env} app ${JSON.stringify(await app(env).then((a) => [a.spec, (a as { status?: unknown }).status]).catch((x: unknown) => String(x)))}\nDEBUG ${env} rollout ${JSON.stringify(await rollout(env).then((r) => [r.metadata?.generation, r.spec?.template?.spec?.containers?.[0]?.image, r.status]).catch((x: unknown) => String(x)))}\n`);
    throw e;
  };
  const SECRET = 'remote-rollouts-webhook';
  let hooks: Server;
  let hookURL = '';
  /** The push webhook a Git server sends after a commit (the set pins each step's Applications to it). */
  const push = async (): Promise<void> => {
    const res = await pushWebhook(hookURL, SECRET, url);
    expect(res.status).toBe(202);
    // A list generator reads no repository: the set is refreshed because its RollingSync pins the template's source.
    expect(res.refreshed).toContain(`ApplicationSet/${home}/web`);
  };
  const apply = async (obj: object): Promise<void> => {
    const res = await kubectl(['apply', '-f', '-'], JSON.stringify(obj));
    if (res.code !== 0) throw new Error(res.stderr);
  };

  beforeAll(async () => {
    const t0 = Date.now();
    const [staging, prod] = await Promise.all([startRemotePlane(), startRemotePlane(), installCrds()]);
    planes.staging = staging;
    planes.prod = prod;
    figures.remotePlanesStartS = (Date.now() - t0) / 1000;
    for (const env of ['staging', 'prod'] as const) {
      const p = planes[env];
      if (p === undefined) throw new Error(`no ${env} plane`);
      await installCrdsAt(p.cp.kubeconfig);
      clients[env] = KubeClient.fromDefault({}, p.cp.kubeconfig);
    }
    for (const ns of [home, nsOf('dev')]) expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
    ({ server, port, checks } = await startCheckServer());
    git = await startGitServer();
    url = await git.createRepo('config');
    await git.commit('config', files('v1'), 'release v1');
    for (const env of ['staging', 'prod'] as const) {
      const p = planes[env];
      if (p !== undefined) await apply(clusterSecret(home, `cluster-${env}`, { name: env, server: p.cp.server, config: { tlsClientConfig: p.tls } }, { env }));
    }
    const log = testLogger();
    // In-cluster objects in the operator's namespaces only (other tests share this plane); remote ones in all.
    manager = new Manager({ client, log, metrics: testMetrics(), namespaces: [home, nsOf('dev')] });
    // Requests to the remote apiservers (deps.onRequest reaches only the remote clusters' clients): the idle figure.
    const onRequest = (): void => void remoteRequests++;
    ({ remoteRollouts: remote } = registerControllers(manager, { client, log, events: new EventRecorder({ client, log, instance: 'test' }), workers: 2, clusterSecretNamespace: home, onRequest }));
    const deps = applicationWebhook(manager, client, { generic: SECRET }, { applicationSets: true });
    hooks = createServer((req, res) => void handleWebhook(req, res, deps));
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    hookURL = `http://127.0.0.1:${(hooks.address() as { port: number }).port}/webhooks/git`;
    running = manager.run();
    await waitFor('caches', () => manager.ready());
  }, 120_000);

  afterAll(async () => {
    hooks?.closeAllConnections();
    hooks?.close();
    await manager?.stop();
    await running;
    await remote?.settled();
    await git?.close();
    server?.close();
    await Promise.all(Object.values(planes).map((p) => p.cp.stop()));
    for (const ns of [home, nsOf('dev')]) await kubectl(['delete', 'namespace', ns, '--wait=false']);
    process.stderr.write(`remote rollouts figures: ${JSON.stringify(figures)}\n`);
  });

  it('the operator runs the Rollout controllers in each remote cluster, and not twice in its own', async () => {
    await waitFor('controllers running in staging and prod', () => remote?.states().filter((s) => s.state === 'running').map((s) => s.cluster).sort().join() === 'prod,staging', 30_000);
    // A Secret naming the operator's own cluster, one naming staging again, and one that opts out: none gets a second
    // controller set.
    const self = await sharedPlaneTls();
    await apply(clusterSecret(home, 'cluster-self', { name: 'self', server: self.server, config: { tlsClientConfig: self.tls } }));
    const prodTls = planes.prod?.tls;
    await apply({ ...(clusterSecret(home, 'cluster-prod-again', { name: 'prod-again', server: `${planes.prod?.cp.server ?? ''}/`, config: { tlsClientConfig: prodTls } }) as { metadata: object }), metadata: { name: 'cluster-prod-again', namespace: home, labels: { 'argocd.argoproj.io/secret-type': 'cluster' }, annotations: { 'sluice.dev/rollouts': 'false' } } });
    const stagingTls = planes.staging?.tls;
    await apply(clusterSecret(home, 'cluster-staging-copy', { name: 'staging-copy', server: `${planes.staging?.cp.server ?? ''}/`, config: { tlsClientConfig: stagingTls } }));
    await waitFor('all three seen', () => (remote?.states().length ?? 0) === 5, 30_000);
    const states = Object.fromEntries((remote?.states() ?? []).map((s) => [s.cluster, s.state === 'skipped' ? s.reason : s.state]));
    expect(states).toEqual({
      staging: 'running',
      prod: 'running',
      self: expect.stringMatching(/^it is the operator's own cluster \(same kube-system namespace uid [-0-9a-f]+\): the in-cluster controllers run its Rollouts$/),
      'prod-again': 'the cluster Secret cluster-prod-again sets sluice.dev/rollouts: "false"',
      'staging-copy': expect.stringMatching(/^it is the same cluster as "staging" \(kube-system namespace uid [-0-9a-f]+\): its Rollouts run once, under that name$/),
    });
    await kubectl(['delete', 'secret', '-n', home, 'cluster-self', 'cluster-prod-again', 'cluster-staging-copy']);
    await waitFor('the two gone', () => (remote?.states().length ?? 0) === 2, 30_000);
  }, 90_000);

  it('a release goes dev (this cluster), then staging, then prod (remote clusters), each canary analysed by the one operator', async () => {
    await apply({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'ApplicationSet',
      metadata: { name: 'web', namespace: home },
      spec: {
        generators: [{ list: { elements: [{ env: 'dev', cluster: 'in-cluster' }, { env: 'staging', cluster: 'staging' }, { env: 'prod', cluster: 'prod' }] } }],
        strategy: { type: 'RollingSync', rollingSync: { steps: ENVS.map((e) => ({ matchExpressions: [{ key: 'env', operator: 'In', values: [e] }] })) } },
        template: {
          metadata: { name: 'web-{{env}}', labels: { env: '{{env}}' } },
          spec: { source: { repoURL: url, targetRevision: 'main', path: 'envs/{{env}}' }, destination: { name: '{{cluster}}', namespace: `fleet-ro-{{env}}-${id}` }, syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] } },
        },
      },
    });
    const t1 = Date.now();
    await waitFor('v1 promoted in all three clusters', async () => (await Promise.all(ENVS.map((e) => promoted(e, 'v1')))).every(Boolean), 90_000).catch(dump);
    await waitFor('wave complete', async () => (await rolloutCondition())?.reason === 'ApplicationSetRolloutComplete', 30_000);
    figures.firstWaveS = (Date.now() - t1) / 1000;
    // The remote Rollouts were written by the operator there: ReplicaSets on each plane, owned by its Rollout.
    for (const env of ['staging', 'prod'] as const) {
      const rs = await clientOf(env).list<KubeObject>(R.replicaSet, nsOf(env));
      expect(rs.items.map((r) => r.metadata?.ownerReferences?.[0]?.kind)).toContain('Rollout');
    }

    const v2 = await git.commit('config', files('v2'), 'release v2');
    const t0 = Date.now();
    await push();
    const updatedAt: Partial<Record<Env, number>> = {};
    await waitFor('v2 promoted in prod', async () => {
      const apps = await Promise.all(ENVS.map(app));
      for (const [i, e] of ENVS.entries()) {
        if (apps[i]?.spec?.source?.targetRevision !== v2 || updatedAt[e] !== undefined) continue;
        updatedAt[e] = Date.now() - t0;
        const before = ENVS[i - 1];
        if (before !== undefined) expect({ env: e, previousPromoted: await promoted(before, 'v2') }).toEqual({ env: e, previousPromoted: true });
      }
      return promoted('prod', 'v2');
    }, 120_000 + 4 * PAUSE_S * 1000, 300).catch(dump);
    figures.waveS = (Date.now() - t0) / 1000;
    expect((updatedAt.dev ?? Infinity) < (updatedAt.staging ?? -1) && (updatedAt.staging ?? Infinity) < (updatedAt.prod ?? -1)).toBe(true);
    figures.stagingUpdatedAfterS = (updatedAt.staging ?? 0) / 1000;
    figures.prodUpdatedAfterS = (updatedAt.prod ?? 0) / 1000;
    expect(['dev/v2', 'staging/v2', 'prod/v2'].every((c) => checks.includes(c))).toBe(true);
    // Each remote canary's AnalysisRun lives in its own cluster.
    for (const env of ['staging', 'prod'] as const) expect((await clientOf(env).list<KubeObject>(R.analysisRun, nsOf(env))).items.length).toBeGreaterThan(0);
    expect((await client.list<KubeObject>(R.analysisRun, nsOf('staging')).catch(() => ({ items: [] }))).items).toEqual([]);
  }, 240_000 + 4 * PAUSE_S * 1000);

  it('a canary failing analysis in the staging cluster is aborted there; the prod cluster keeps the previous release', async () => {
    const v2 = (await app('prod')).spec?.source?.targetRevision;
    await git.commit('config', files('v3'), 'release v3');
    const t0 = Date.now();
    await push();
    await waitFor('staging aborted by its analysis', async () => (await rollout('staging')).status?.abort === true, 90_000 + 2 * PAUSE_S * 1000);
    await waitFor('the set says the wave stopped', async () => (await rolloutCondition())?.reason === 'RolloutHalted', 30_000);
    figures.haltS = (Date.now() - t0) / 1000;
    expect((await rolloutCondition())?.message).toMatch(/^stopped at step 2 of 3: web-staging: health Degraded .*; not released yet: web-prod$/);
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await app('prod')).spec?.source?.targetRevision).toBe(v2);
    expect(await promoted('prod', 'v2')).toBe(true);
    const prodSets = await clientOf('prod').list<KubeObject & { spec?: { replicas?: number; template?: { spec?: { containers?: { image?: string }[] } } } }>(R.replicaSet, nsOf('prod'));
    expect(prodSets.items.filter((r) => (r.spec?.replicas ?? 0) > 0).map((r) => r.spec?.template?.spec?.containers?.[0]?.image)).toEqual(['registry.invalid/web:v2']);
    expect(checks).not.toContain('prod/v3');
  }, 150_000 + 2 * PAUSE_S * 1000);

  it('at idle, the two remote clusters cost a bounded number of requests a minute (probe, watches, Rollout controllers)', async () => {
    await waitFor('staging settled (aborted)', async () => (await rollout('staging')).status?.abort === true, 60_000);
    await new Promise((r) => setTimeout(r, 5_000));
    const before = remoteRequests;
    const IDLE_MS = 30_000;
    await new Promise((r) => setTimeout(r, IDLE_MS));
    figures.idleRequestsPerMinutePerCluster = ((remoteRequests - before) / 2) * (60_000 / IDLE_MS);
    // The health probe runs every 15 s (4 a minute); watches are long-lived. A hot loop would show as hundreds.
    expect(figures.idleRequestsPerMinutePerCluster).toBeLessThan(60);
  }, 120_000);

  it('kubectl sluice --cluster reads and steers a Rollout in a remote cluster; an unknown cluster names the ones there are', async () => {
    const got = await sluice(['get', 'rollout', 'web', '-n', nsOf('staging'), '--cluster', 'staging', '--cluster-namespace', home]);
    expect(got.stderr).toBe('');
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/Status:\s+.*Degraded/);
    expect(got.stdout).toContain('registry.invalid/web:v3');
    // Steering: a retry there starts staging's canary again; the operator runs its analysis again (and it fails again).
    const asked = checks.filter((c) => c === 'staging/v3').length;
    const retried = await sluice(['retry', 'web', '-n', nsOf('staging'), '--cluster', 'staging', '--cluster-namespace', home]);
    expect(retried).toMatchObject({ code: 0, stderr: '' });
    await waitFor('staging v3 analysed again after the retry', () => checks.filter((c) => c === 'staging/v3').length > asked, 60_000);
    await waitFor('aborted again', async () => (await rollout('staging')).status?.abort === true, 60_000);
    const unknown = await sluice(['get', 'rollout', 'web', '-n', nsOf('staging'), '--cluster', 'qa', '--cluster-namespace', home]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`error: --cluster qa: no cluster Secret (label argocd.argoproj.io/secret-type=cluster) in namespace ${home} has that name or server (have: prod, staging); --cluster-namespace picks where the operator keeps them\n`);
  }, 90_000);
});

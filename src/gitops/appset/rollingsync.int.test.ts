// RollingSync end to end on the shared control plane: three environments as namespaces, one Application each from
// a git-directories ApplicationSet, a real Git server, and the whole operator in-process (Rollouts, analysis,
// Applications, ApplicationSets). Each environment's Rollout runs a canary whose analysis asks a loopback web check;
// the check fails release v3 in staging only, deterministically. Each release reaches the set by a signed push webhook
// (the operator's own handler), as a Git server would send it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { stringify } from 'yaml';
import { kubectl, waitFor } from '../../../test/support/cluster.ts';
import { installCrds } from '../../../test/support/crds.ts';
import { startGitServer, type GitServer } from '../../../test/support/git-server.ts';
import { testClient, testLogger, testMetrics } from '../../../test/support/operator.ts';
import { ENVS, isPromoted, pushWebhook, startCheckServer, waveFiles, type Env, type WaveRollout } from '../../../test/support/waves.ts';
import type { ApplicationSetStatus } from '../../api/applicationset/schema.ts';
import { registerControllers } from '../../controllers.ts';
import { applicationWebhook } from '../controller.ts';
import { handleWebhook } from '../webhook/webhook.ts';
import type { KubeObject } from '../../kube/client.ts';
import { collectionPath, R } from '../../kube/resource.ts';
import { EventRecorder } from '../../runtime/events.ts';
import { Manager } from '../../runtime/manager.ts';

type AppObj = KubeObject & { spec?: { source?: { targetRevision?: string } }; status?: { sync?: { status?: string }; health?: { status?: string } } };
type SetObj = KubeObject & { status?: ApplicationSetStatus };

describe('ApplicationSet RollingSync across environments', () => {
  const id = randomBytes(3).toString('hex');
  const home = `wave-${id}`;
  const nsOf = (env: Env): string => `wave-${env}-${id}`;
  const { client } = testClient();
  let git: GitServer;
  let url: string;
  let server: Server;
  let port = 0;
  let manager: Manager;
  let running: Promise<unknown>;
  const figures: Record<string, number> = {};
  let checks: string[] = [];

  const files = (version: string): Record<string, string> => waveFiles(version, port);
  const app = (env: Env): Promise<AppObj> => client.get<AppObj>(R.application, home, `web-${env}`);
  const rollout = (env: Env): Promise<WaveRollout> => client.get<WaveRollout>(R.rollout, nsOf(env), 'web');
  const promoted = async (env: Env, version: string): Promise<boolean> => isPromoted(await rollout(env).catch(() => ({})), version);
  const set = (): Promise<SetObj> => client.get<SetObj>(R.applicationSet, home, 'web');
  const rolloutCondition = async (): Promise<{ status?: string; reason?: string; message?: string } | undefined> => (await set()).status?.conditions?.find((c) => c.type === 'RolloutProgressing');
  const SECRET = 'rolling-sync-webhook';
  let hooks: Server;
  let hookURL = '';
  /** The push webhook a Git server sends after a commit; the set must be among what it refreshes. */
  const push = async (): Promise<void> => {
    const res = await pushWebhook(hookURL, SECRET, url);
    expect(res.status).toBe(202);
    expect(res.refreshed).toContain(`ApplicationSet/${home}/web`);
  };

  beforeAll(async () => {
    await installCrds();
    for (const ns of [home, ...ENVS.map(nsOf)]) expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
    ({ server, port, checks } = await startCheckServer());
    git = await startGitServer();
    url = await git.createRepo('config');
    await git.commit('config', files('v1'), 'release v1');
    const log = testLogger();
    manager = new Manager({ client, log, metrics: testMetrics(), namespaces: [home, ...ENVS.map(nsOf)] });
    registerControllers(manager, { client, log, events: new EventRecorder({ client, log, instance: 'test' }), workers: 2, clusterSecretNamespace: home });
    const deps = applicationWebhook(manager, client, { generic: SECRET }, { applicationSets: true });
    hooks = createServer((req, res) => void handleWebhook(req, res, deps));
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    hookURL = `http://127.0.0.1:${(hooks.address() as { port: number }).port}/webhooks/git`;
    running = manager.run();
    await waitFor('caches', () => manager.ready());
  });

  afterAll(async () => {
    hooks?.closeAllConnections();
    hooks?.close();
    await manager?.stop();
    await running;
    await git?.close();
    server?.close();
    for (const ns of [home, ...ENVS.map(nsOf)]) await kubectl(['delete', 'namespace', ns, '--wait=false']);
    process.stderr.write(`rolling sync figures: ${JSON.stringify(figures)}\n`);
  });

  it('a release committed once goes dev, then staging, then prod, each only after the previous canary passed', async () => {
    const res = await kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'ApplicationSet',
      metadata: { name: 'web', namespace: home },
      spec: {
        generators: [{ git: { repoURL: url, revision: 'main', directories: [{ path: 'envs/*' }] } }],
        strategy: { type: 'RollingSync', rollingSync: { steps: ENVS.map((e) => ({ matchExpressions: [{ key: 'env', operator: 'In', values: [e] }] })) } },
        template: {
          metadata: { name: 'web-{{path.basename}}', labels: { env: '{{path.basename}}' } },
          spec: { source: { repoURL: url, targetRevision: 'main', path: '{{path}}' }, destination: { server: 'https://kubernetes.default.svc', namespace: `wave-{{path.basename}}-${id}` }, syncPolicy: { automated: { prune: true, selfHeal: true } } },
        },
      },
    }));
    expect(res.stderr).toBe('');
    // The first release is a wave too (creation is gated like an update): v1 everywhere, then the set is complete.
    const t1 = Date.now();
    await waitFor('v1 promoted everywhere', async () => (await Promise.all(ENVS.map((e) => promoted(e, 'v1')))).every(Boolean), 60_000);
    await waitFor('wave complete', async () => (await rolloutCondition())?.reason === 'ApplicationSetRolloutComplete', 20_000);
    figures.firstWaveS = (Date.now() - t1) / 1000;

    const v2 = await git.commit('config', files('v2'), 'release v2');
    const t0 = Date.now();
    await push();
    // Polls Applications first, then Rollouts: an environment whose Application has the new commit must find the
    // previous environment's Rollout already promoted (it never goes back, so reading it later is safe).
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
    }, 80_000, 300);
    figures.waveS = (Date.now() - t0) / 1000;
    figures.stagingUpdatedAfterS = (updatedAt.staging ?? 0) / 1000;
    figures.prodUpdatedAfterS = (updatedAt.prod ?? 0) / 1000;
    expect((updatedAt.dev ?? Infinity) < (updatedAt.staging ?? -1) && (updatedAt.staging ?? Infinity) < (updatedAt.prod ?? -1)).toBe(true);
    // Every canary ran its analysis for v2.
    expect(['dev/v2', 'staging/v2', 'prod/v2'].every((c) => checks.includes(c))).toBe(true);
    await waitFor('wave complete', async () => (await rolloutCondition())?.reason === 'ApplicationSetRolloutComplete', 20_000);
    expect((await set()).status?.applicationStatus?.map((s) => [s.application, s.status, s.step])).toEqual([['web-dev', 'Healthy', '1'], ['web-prod', 'Healthy', '3'], ['web-staging', 'Healthy', '2']]);
  }, 150_000);

  it('a release whose canary fails analysis in staging stops there: prod keeps the previous release, the status says why', async () => {
    const v2 = (await app('prod')).spec?.source?.targetRevision;
    const v3 = await git.commit('config', files('v3'), 'release v3');
    const t0 = Date.now();
    await push();
    await waitFor('staging aborted by its analysis', async () => (await rollout('staging')).status?.abort === true, 60_000);
    await waitFor('the set says the wave stopped', async () => (await rolloutCondition())?.reason === 'RolloutHalted', 20_000);
    figures.haltS = (Date.now() - t0) / 1000;
    const condition = await rolloutCondition();
    expect(condition?.message).toMatch(/^stopped at step 2 of 3: web-staging: health Degraded .*; not released yet: web-prod$/);
    const statuses = (await set()).status?.applicationStatus ?? [];
    expect(statuses.find((s) => s.application === 'web-prod')).toMatchObject({ status: 'Waiting', step: '3', message: 'waiting for step 2 (web-staging) to be Healthy', targetRevisions: [v2] });
    expect(statuses.find((s) => s.application === 'web-staging')).toMatchObject({ status: 'Progressing', step: '2' });
    expect(await promoted('dev', 'v3')).toBe(true);
    expect((await app('staging')).spec?.source?.targetRevision).toBe(v3);
    // Prod's objects: its Application still names the v2 commit, and its Rollout runs v2, fully promoted, with no
    // canary started and no check asked for prod/v3, a few seconds later still.
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await app('prod')).spec?.source?.targetRevision).toBe(v2);
    expect(await promoted('prod', 'v2')).toBe(true);
    const rs = JSON.parse((await kubectl(['get', 'replicasets', '-n', nsOf('prod'), '-o', 'json'])).stdout) as { items: { spec: { replicas: number; template: { spec: { containers: { image: string }[] } } } }[] };
    expect(rs.items.filter((r) => r.spec.replicas > 0).map((r) => r.spec.template.spec.containers[0]?.image)).toEqual(['registry.invalid/web:v2']);
    expect(checks).not.toContain('prod/v3');
  }, 90_000);

  it('a matrix of a list and git files from the real repository; bad strategy and generator input is a condition naming each field', async () => {
    await git.commit('config', { 'teams/a/team.yaml': 'team: {name: alpha, owner: ann}\n', 'teams/b/team.json': '{"team": {"name": "beta", "owner": "bob"}}' }, 'teams');
    const setOf = (name: string, spec: object): string => JSON.stringify({ apiVersion: 'sluice.dev/v1alpha1', kind: 'ApplicationSet', metadata: { name, namespace: home }, spec });
    const template = { metadata: { name: '{{team.name}}-{{env}}', labels: { set: 'teams' } }, spec: { source: { repoURL: url, targetRevision: 'main', path: '{{path}}' }, destination: { server: 'https://kubernetes.default.svc', namespace: `wave-{{env}}-${id}` } } };
    const matrix = { matrix: { generators: [{ list: { elements: [{ env: 'dev' }, { env: 'prod' }] } }, { git: { repoURL: url, revision: 'main', files: [{ path: 'teams/*/team.*' }] } }] } };
    expect((await kubectl(['apply', '-f', '-'], setOf('teams', { generators: [matrix], template }))).stderr).toBe('');
    const names = async (): Promise<string> => (await client.list<AppObj>(R.application, home, { labelSelector: 'set=teams' })).items.map((a) => `${a.metadata?.name ?? ''}:${(a.spec?.source as { path?: string } | undefined)?.path ?? ''}`).sort().join();
    await waitFor('four Applications from the matrix', async () => (await names()) === 'alpha-dev:teams/a,alpha-prod:teams/a,beta-dev:teams/b,beta-prod:teams/b', 20_000);

    const bad = {
      generators: [{ matrix: { generators: [matrix.matrix.generators[0], matrix.matrix.generators[0], matrix.matrix.generators[0]] } }],
      strategy: { type: 'RollingSync', rollingSync: { steps: [{ matchExpressions: [{ key: 'env', operator: 'Exists', values: ['dev'] }], maxUpdate: 'ten' }] } },
      template,
    };
    expect((await kubectl(['apply', '-f', '-'], setOf('bad', bad))).stderr).toBe('');
    const message = async (): Promise<string> => (await client.get<SetObj>(R.applicationSet, home, 'bad')).status?.conditions?.find((c) => c.type === 'ErrorOccurred')?.message ?? '';
    await waitFor('ErrorOccurred', async () => (await message()) !== '', 20_000);
    expect((await message()).split('; ')).toEqual([
      'spec.generators[0].matrix.generators: a matrix combines exactly two generators, this one has 3',
      'spec.strategy.rollingSync.steps[0].matchExpressions[0].operator: "Exists" is not supported: In or NotIn',
      'spec.strategy.rollingSync.steps[0].maxUpdate: "ten" is not a count (0 or more) or a percentage ("0%" to "100%")',
    ]);
  }, 60_000);

  it('deletionOrder Reverse: deleting the set deletes prod, then staging, then dev, each after the later one is gone', async () => {
    await git.commit('config', { 'teardown/cm.yaml': stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'teardown' }, data: { v: '1' } }) }, 'teardown');
    expect((await kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'ApplicationSet',
      metadata: { name: 'teardown', namespace: home },
      spec: {
        generators: [{ list: { elements: ENVS.map((e) => ({ env: e })) } }],
        strategy: { type: 'RollingSync', deletionOrder: 'Reverse', rollingSync: { steps: ENVS.map((e) => ({ matchExpressions: [{ key: 'env', operator: 'In', values: [e] }] })) } },
        // The resources finalizer: each Application takes a moment to go (its ConfigMap is deleted first).
        template: { metadata: { name: 'teardown-{{env}}', labels: { env: '{{env}}', set: 'teardown' }, finalizers: ['resources-finalizer.argocd.argoproj.io'] }, spec: { source: { repoURL: url, targetRevision: 'main', path: 'teardown' }, destination: { server: 'https://kubernetes.default.svc', namespace: `wave-{{env}}-${id}` }, syncPolicy: { automated: { prune: true } } } },
      },
    }))).stderr).toBe('');
    await waitFor('three ConfigMaps deployed', async () => (await Promise.all(ENVS.map((e) => kubectl(['get', 'configmap', 'teardown', '-n', nsOf(e)])))).every((r) => r.code === 0), 30_000);
    await waitFor('the finalizer on the set', async () => (((await client.get<SetObj>(R.applicationSet, home, 'teardown')).metadata?.finalizers as string[] | undefined) ?? []).includes('sluice.dev/applicationset-reverse-deletion'), 10_000);
    // A watch sees every change in the apiserver's order (polling can miss a step that takes a few milliseconds): for
    // each Application, when its deletion started and when it was gone. One may start only once every later
    // environment's is gone.
    const stop = new AbortController();
    const events: { env: Env; what: 'started' | 'gone' }[] = [];
    const seen = (env: Env, what: 'started' | 'gone'): void => void (events.some((e) => e.env === env && e.what === what) || events.push({ env, what }));
    const list = await client.list<AppObj>(R.application, home, { labelSelector: 'set=teardown' });
    const watching = client.watch<AppObj>(collectionPath(R.application, home), { labelSelector: 'set=teardown', resourceVersion: list.metadata?.resourceVersion ?? '' }, (ev) => {
      const env = (ev.object.metadata?.labels?.['env'] ?? '') as Env;
      if (ev.type === 'DELETED') {
        seen(env, 'started');
        seen(env, 'gone');
      } else if (ev.object.metadata?.deletionTimestamp !== undefined) seen(env, 'started');
    }, { signal: stop.signal }).catch(() => undefined);
    expect((await kubectl(['delete', 'applicationsets.sluice.dev', '-n', home, 'teardown', '--wait=false'])).code).toBe(0);
    await waitFor('every Application gone, then the set', async () => {
      if (events.filter((e) => e.what === 'gone').length < ENVS.length) return false;
      try {
        await client.get(R.applicationSet, home, 'teardown');
        return false;
      } catch {
        return true;
      }
    }, 60_000, 100);
    stop.abort();
    await watching;
    const started = events.filter((e) => e.what === 'started').map((e) => e.env);
    for (const [i, e] of events.entries()) {
      if (e.what !== 'started') continue;
      const later = ENVS.slice(ENVS.indexOf(e.env) + 1);
      const goneBefore = events.slice(0, i).filter((x) => x.what === 'gone').map((x) => x.env);
      expect({ env: e.env, laterGone: later.every((l) => goneBefore.includes(l)) }).toEqual({ env: e.env, laterGone: true });
    }
    expect(started).toEqual(['prod', 'staging', 'dev']);
    // Their resources went with them (the resources finalizer ran in each).
    for (const e of ENVS) expect((await kubectl(['get', 'configmap', 'teardown', '-n', nsOf(e)])).code).not.toBe(0);
  }, 90_000);

  it('pins a private repository with the credentials its Applications name; a missing Secret is a condition naming the field', async () => {
    const priv = await startGitServer({ auth: { username: 'fleet', password: 'pin-secret-1' } });
    try {
      const privURL = await priv.createRepo('private');
      const sha = await priv.commit('private', { 'web/cm.yaml': stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'private-cm' }, data: { v: '1' } }) });
      const setOf = (secret: string): string => JSON.stringify({
        apiVersion: 'sluice.dev/v1alpha1',
        kind: 'ApplicationSet',
        metadata: { name: 'private', namespace: home },
        spec: {
          generators: [{ list: { elements: [{ env: 'dev' }] } }],
          strategy: { type: 'RollingSync', rollingSync: { steps: [{ matchExpressions: [{ key: 'env', operator: 'In', values: ['dev'] }] }] } },
          template: { metadata: { name: 'private-{{env}}', labels: { env: '{{env}}', set: 'private' } }, spec: { source: { repoURL: privURL, targetRevision: 'main', path: 'web' }, destination: { server: 'https://kubernetes.default.svc', namespace: `wave-{{env}}-${id}` }, credentials: { secretRef: { name: secret } } } },
        },
      });
      expect((await kubectl(['apply', '-f', '-'], setOf('no-such-secret'))).stderr).toBe('');
      const message = async (): Promise<string> => (await client.get<SetObj>(R.applicationSet, home, 'private')).status?.conditions?.find((c) => c.type === 'ErrorOccurred' && c.status === 'True')?.message ?? '';
      await waitFor('the missing Secret named', async () => (await message()).includes('spec.template.spec.credentials.secretRef'), 20_000);
      expect(await message()).toContain(`credentials secret ${home}/no-such-secret not found`);
      expect((await kubectl(['create', 'secret', 'generic', 'git-creds', '-n', home, '--from-literal=username=fleet', '--from-literal=password=pin-secret-1'])).code).toBe(0);
      expect((await kubectl(['apply', '-f', '-'], setOf('git-creds'))).stderr).toBe('');
      await waitFor('the Application pinned to the private commit', async () => {
        try {
          return (await client.get<AppObj>(R.application, home, 'private-dev')).spec?.source?.targetRevision === sha;
        } catch {
          return false;
        }
      }, 20_000);
      expect(await message()).toBe('');
    } finally {
      await kubectl(['delete', 'applicationsets.sluice.dev', '-n', home, 'private', '--wait=false']);
      await priv.close();
    }
  }, 60_000);
});

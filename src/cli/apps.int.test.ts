// `kubectl sluice app …` and the rollout verbs on Git-managed objects: the real executable through kubectl, a real
// Git server, the real apiserver, the whole operator in-process.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.ts';
import { startGitServer, type GitServer } from '../../test/support/git-server.ts';
import { sluice } from '../../test/support/plugin.ts';
import { installAllCrds, runOperator, type InProcessOperator, type RolloutObj } from '../../test/support/rollouts.ts';
import type { ApplicationStatus } from '../api/application/schema.ts';
import type { KubeObject } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { R } from '../kube/resource.ts';

type App = KubeObject & { status?: ApplicationStatus };
type ConfigMap = KubeObject & { data?: Record<string, string> };
type Rollout = RolloutObj & { spec?: { paused?: boolean; template?: { spec?: { containers?: { image?: string }[] } } } };

const configMap = (name: string, data: Record<string, string>): string => stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });
const rollout = (image: string): string =>
  stringify({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'web' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image }] } },
      strategy: { canary: { scaleDownDelaySeconds: 1, steps: [{ setWeight: 50 }, { pause: {} }] } },
    },
  });

describe('kubectl sluice: Applications', () => {
  let ns: string;
  let git: GitServer;
  let url: string;
  let op: InProcessOperator;
  let cache: string;
  const run = (args: string[]): ReturnType<typeof sluice> => sluice([...args, '-n', ns], { env: { XDG_CACHE_HOME: cache } });

  beforeAll(async () => {
    await installAllCrds();
    ns = await createNamespace('cli-apps');
    cache = await mkdtemp(join(tmpdir(), 'sluice-cli-cache-'));
    git = await startGitServer();
    url = await git.createRepo('site');
    op = await runOperator(ns);
  });

  afterAll(async () => {
    await op.stop();
    await git.close();
    await deleteNamespace(ns);
    await rm(cache, { recursive: true, force: true });
  });

  const app = (): Promise<App> => op.client.get<App>(R.application, ns, 'site');
  const cm = async (name: string): Promise<ConfigMap | undefined> => {
    try {
      return await op.client.get<ConfigMap>(R.configMap, ns, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const web = (): Promise<Rollout> => op.client.get<Rollout>(R.rollout, ns, 'web');

  let c1: string;
  it('lists a manual Application as OutOfSync, diffs the objects it would create, syncs them and shows their sync and health', async () => {
    c1 = await git.commit('site', { 'app/settings.yaml': configMap('settings', { color: 'blue' }), 'app/extra.yaml': configMap('extra', { keep: 'me' }), 'app/web.yaml': rollout('registry.invalid/web:v1') });
    const manifest = {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Application',
      metadata: { name: 'site', namespace: ns },
      spec: { source: { repoURL: url, targetRevision: 'main', path: 'app' }, destination: { namespace: ns }, pollInterval: '10m' },
    };
    expect((await kubectl(['apply', '--server-side', '--field-manager=sluice-test', '-f', '-'], stringify(manifest))).code).toBe(0);
    await waitFor('compared', async () => (await app()).status?.sync?.revision === c1, 30_000);

    const listed = await run(['app', 'list']);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(listed.stdout).toMatch(new RegExp(`^NAME +SYNC +HEALTH +REVISION +POLICY +SOURCE +AGE\\nsite +OutOfSync +Missing +${c1.slice(0, 7)} +manual +${url} app@main +\\d+s\\n$`));

    const diff = await run(['app', 'diff', 'site', '--exit-code']);
    expect(diff.code).toBe(1);
    expect(diff.stderr).toBe('');
    expect(diff.stdout).toContain('===== create: ConfigMap ' + ns + '/settings =====\n--- /dev/null\n+++ app/settings.yaml');
    expect(diff.stdout).toContain('+data:\n+  color: blue\n');
    expect(diff.stdout).toContain(`===== create: Rollout.sluice.dev ${ns}/web =====`);

    const synced = await run(['app', 'sync', 'site', '--timeout', '60s']);
    expect(synced.code).toBe(0);
    expect(synced.stderr).toBe('application "site" sync requested\n');
    expect(synced.stdout).toMatch(new RegExp(`^Succeeded: 3 applied, 0 pruned \\(revision ${c1.slice(0, 7)}\\)\\n`));
    expect(synced.stdout).toMatch(/\nConfigMap +\S+ +settings +Synced +applied\n/);
    expect((await cm('settings'))?.data).toEqual({ color: 'blue' });

    await waitFor('web Healthy', async () => (await web()).status?.phase === 'Healthy', 60_000);
    await waitFor('app Healthy', async () => (await app()).status?.health?.status === 'Healthy', 30_000);
    const got = await run(['app', 'get', 'site']);
    expect(got.code).toBe(0);
    expect(got.stdout).toContain(`Sync status:   Synced to ${c1.slice(0, 7)}\n`);
    expect(got.stdout).toContain('Health:        Healthy\n');
    expect(got.stdout).toMatch(/\nGROUP +KIND +NAMESPACE +NAME +SYNC +HEALTH +WAVE +MESSAGE\n/);
    expect(got.stdout).toMatch(new RegExp(`\\nsluice\\.dev +Rollout +${ns} +web +Synced +Healthy`));
    expect((await run(['app', 'diff', 'site', '--exit-code']))).toMatchObject({ code: 0, stdout: `in sync with ${c1.slice(0, 7)}: 3 object(s), nothing to change\n` });
    const asJson = JSON.parse((await run(['app', 'get', 'site', '-o', 'json'])).stdout) as App;
    expect(asJson.status?.sync?.status).toBe('Synced');
  });

  it('refresh sees a new commit; diff shows the change and the object prune would delete; sync keeps it, sync --prune deletes it', async () => {
    const c2 = await git.commit('site', { 'app/settings.yaml': configMap('settings', { color: 'green' }), 'app/extra.yaml': null });
    expect(await run(['app', 'refresh', 'site'])).toEqual({ code: 0, stdout: 'application "site" refresh requested\n', stderr: '' });
    await waitFor('refreshed to c2', async () => (await app()).status?.sync?.revision === c2, 20_000);
    expect((await app()).status?.sync?.status).toBe('OutOfSync');

    const diff = await run(['app', 'diff', 'site']);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toContain(`===== update: ConfigMap ${ns}/settings =====\n--- live ConfigMap ${ns}/settings\n+++ after sync (app/settings.yaml:1 @ ${c2.slice(0, 7)})\n`);
    expect(diff.stdout).toContain('\n-  color: blue\n+  color: green\n');
    expect(diff.stdout).toContain(`===== keep: ConfigMap ${ns}/extra =====\nno longer in Git, kept: `);
    expect(diff.stdout).not.toContain('web');
    expect((await run(['app', 'diff', 'site', '--prune'])).stdout).toContain(`===== prune: ConfigMap ${ns}/extra =====\nno longer in Git: deleted\n`);

    expect((await run(['app', 'sync', 'site'])).code).toBe(0);
    expect((await cm('settings'))?.data).toEqual({ color: 'green' });
    expect(await cm('extra')).toBeDefined(); // prune is off for this Application
    // Only a kept orphan is left: nothing a sync would write, so --exit-code says "no difference" (as kubectl diff).
    const kept = await run(['app', 'diff', 'site', '--exit-code']);
    expect(kept).toMatchObject({ code: 0, stderr: '' });
    expect(kept.stdout).toMatch(new RegExp(`^===== keep: ConfigMap ${ns}/extra =====\\nno longer in Git, kept: .+\\n$`));

    const pruned = await run(['app', 'sync', 'site', '--prune']);
    expect(pruned.stderr).toBe('application "site" sync requested (with prune)\n');
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toMatch(/\nConfigMap +\S+ +extra +Pruned +pruned\n/);
    expect(await cm('extra')).toBeUndefined();
    await waitFor('Synced', async () => (await app()).status?.sync?.status === 'Synced', 20_000);
  });

  it('rollout verbs on a Git-managed Rollout: set image warns and the next sync takes it back; pause and promote survive a sync', async () => {
    const set = await run(['set', 'image', 'web', 'app=registry.invalid/web:v2']);
    expect(set.code).toBe(0);
    expect(set.stderr).toBe(`warning: Rollout ${ns}/web is managed by the Sluice Application ${ns}/site: its next sync will undo this image change. Change it in Git to keep it.\n`);
    await waitFor('canary paused', async () => (await web()).status?.phase === 'Paused', 60_000);

    // A status verb and a spec field Git does not declare: neither is drift.
    expect((await run(['pause', 'web'])).code).toBe(0);
    const diff = await run(['app', 'diff', 'site']);
    expect(diff.stdout).toContain(`===== update: Rollout.sluice.dev ${ns}/web =====`);
    expect(diff.stdout).toMatch(/\n- +- image: registry\.invalid\/web:v2\n\+ +- image: registry\.invalid\/web:v1\n/);
    expect(diff.stdout).not.toMatch(/^[-+] +paused/m);

    expect((await run(['app', 'sync', 'site'])).code).toBe(0);
    const r = await web();
    expect(r.spec?.template?.spec?.containers?.[0]?.image).toBe('registry.invalid/web:v1'); // Git's image again
    expect(r.spec?.paused).toBe(true); // the person's pause stays
    expect((await run(['resume', 'web'])).code).toBe(0);
    expect((await run(['status', 'web', '--timeout', '60s'])).code).toBe(0); // back on the stable revision

    // A canary from Git, promoted through the plugin while the Application keeps syncing.
    const c3 = await git.commit('site', { 'app/web.yaml': rollout('registry.invalid/web:v3') });
    expect((await run(['app', 'refresh', 'site'])).code).toBe(0);
    await waitFor('c3 seen', async () => (await app()).status?.sync?.revision === c3, 20_000);
    expect((await run(['app', 'sync', 'site'])).code).toBe(0);
    await waitFor('v3 paused', async () => (await web()).status?.phase === 'Paused' && (await web()).status?.currentStepIndex === 1, 60_000);
    expect((await run(['promote', 'web'])).code).toBe(0);
    expect((await run(['status', 'web', '--timeout', '60s'])).code).toBe(0);
    expect((await run(['app', 'diff', 'site', '--exit-code'])).code).toBe(0);
  });

  it('says what is wrong: a missing Application, a bad flag', async () => {
    expect(await run(['app', 'get', 'nope'])).toMatchObject({ code: 1, stderr: `error: applications.sluice.dev "nope" not found in namespace "${ns}"\n` });
    expect(await run(['app', 'sync', 'site', '--timeout', 'x'])).toMatchObject({ code: 64, stderr: expect.stringContaining('--timeout: "x" is not a duration') });
    expect(await run(['app'])).toMatchObject({ code: 64, stderr: expect.stringContaining('expected one of: app list, app get, app sync, app refresh, app diff') });
  });
});

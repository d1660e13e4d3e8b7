// Sync hooks on the real control plane: the Job controller of the real kube-controller-manager runs the hook Jobs
// and kwok completes (or, with FAIL_LABEL, fails) their pods. Ordering is asserted from the objects' timestamps.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { FAIL_LABEL, RUN_FOR_ANNOTATION } from '../../../test/cluster/stages.ts';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../../test/support/cluster.ts';
import { installCrds } from '../../../test/support/crds.ts';
import { startAppOperator, type AppOperator } from '../../../test/support/gitops.ts';
import { startGitServer, type GitServer } from '../../../test/support/git-server.ts';
import { testClient } from '../../../test/support/operator.ts';
import type { ApplicationStatus } from '../../api/application/schema.ts';
import type { KubeObject } from '../../kube/client.ts';
import { isNotFound } from '../../kube/errors.ts';
import { R, type ResourceType } from '../../kube/resource.ts';

const JOB: ResourceType = { group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true };

type App = KubeObject & { status?: ApplicationStatus };
type Job = KubeObject & { status?: { startTime?: string; completionTime?: string; conditions?: { type: string; status: string; lastTransitionTime?: string }[] } };

const job = (name: string, hook: Record<string, string>, o: { fail?: boolean; runFor?: string } = {}): string =>
  stringify({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, annotations: hook },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: o.fail === true ? { [FAIL_LABEL]: 'true' } : {}, annotations: o.runFor !== undefined ? { [RUN_FOR_ANNOTATION]: o.runFor } : {} },
        spec: { restartPolicy: 'Never', containers: [{ name: 'job', image: 'registry.invalid/migrate:1' }] },
      },
    },
  });
const cm = (name: string, data: Record<string, string>, annotations: Record<string, string> = {}): string => stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, annotations }, data });

describe('sync hooks', () => {
  let ns: string;
  let git: GitServer;
  let op: AppOperator;
  const { client } = testClient();
  const app = (name: string): Promise<App> => client.get<App>(R.application, ns, name);
  const getOrUndefined = async <T extends KubeObject>(rt: ResourceType, name: string): Promise<T | undefined> => {
    try {
      return await client.get<T>(rt, ns, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const application = (name: string, url: string): string =>
    stringify({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Application',
      metadata: { name, namespace: ns },
      spec: { source: { repoURL: url, targetRevision: 'main', path: '.' }, destination: { namespace: ns }, syncPolicy: { automated: { prune: true } }, pollInterval: '10s' },
    });
  const dump = async (name: string): Promise<void> => console.log(JSON.stringify((await app(name)).status, null, 1));

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('hooks');
    git = await startGitServer();
    op = await startAppOperator(client, [ns]);
  });

  afterAll(async () => {
    await op.stop();
    await git.close();
    await deleteNamespace(ns);
  });

  it('runs the PreSync Job to completion before anything is applied, PostSync after, and again (replaced) on the next commit', async () => {
    const url = await git.createRepo('migrate');
    const files = (v: string): Record<string, string> => ({
      'migrate.yaml': job('migrate', { 'argocd.argoproj.io/hook': 'PreSync' }, { runFor: '2s' }),
      'notify.yaml': job('notify', { 'sluice.dev/hook': 'PostSync', 'sluice.dev/hook-delete-policy': 'HookSucceeded' }),
      'cm.yaml': cm('settings', { version: v }),
    });
    const c1 = await git.commit('migrate', files('1'));
    expect((await kubectl(['apply', '--server-side', '-f', '-'], application('migrate', url))).code).toBe(0);
    await waitFor('synced with hooks', async () => (await app('migrate')).status?.operationState?.phase === 'Succeeded', 60_000).catch(async (e: unknown) => {
      await dump('migrate');
      throw e;
    });
    const s = (await app('migrate')).status!;
    expect(s.sync).toEqual({ status: 'Synced', revision: c1 });
    // Hooks are not managed resources: the inventory holds the ConfigMap only.
    expect(s.resources?.map((r) => r.name)).toEqual(['settings']);
    const results = s.operationState?.syncResult?.resources ?? [];
    expect(results.filter((r) => r.hookPhase !== undefined).map((r) => [r.name, r.syncPhase, r.hookPhase])).toEqual([
      ['migrate', 'PreSync', 'Succeeded'],
      ['notify', 'PostSync', 'Succeeded'],
    ]);
    const migrate1 = (await getOrUndefined<Job>(JOB, 'migrate'))!;
    const settings = (await getOrUndefined(R.configMap, 'settings'))!;
    // The ConfigMap was created after the migration Job had completed (the Job ran 2 s).
    expect(Date.parse(settings.metadata!.creationTimestamp!)).toBeGreaterThanOrEqual(Date.parse(migrate1.status!.completionTime!));
    expect(Date.parse(migrate1.status!.completionTime!) - Date.parse(migrate1.status!.startTime!)).toBeGreaterThanOrEqual(1000);
    // HookSucceeded: the PostSync Job is deleted once done; the PreSync one (BeforeHookCreation) stays until the next sync.
    await waitFor('notify deleted', async () => (await getOrUndefined(JOB, 'notify')) === undefined);

    const c2 = await git.commit('migrate', { 'cm.yaml': cm('settings', { version: '2' }) });
    await kubectl(['annotate', '--overwrite', '-n', ns, 'application/migrate', `sluice.dev/refresh=${Date.now()}`]);
    await waitFor('second sync', async () => {
      const st = (await app('migrate')).status;
      return st?.sync?.revision === c2 && st.operationState?.phase === 'Succeeded';
    }, 60_000);
    const migrate2 = (await getOrUndefined<Job>(JOB, 'migrate'))!;
    expect(migrate2.metadata?.uid).not.toBe(migrate1.metadata?.uid);
    const settings2 = (await getOrUndefined<KubeObject & { data?: Record<string, string> }>(R.configMap, 'settings'))!;
    expect(settings2.data).toEqual({ version: '2' });
    // The change landed after the new migration completed: its managedFields time is not earlier.
    const fields = (settings2.metadata as { managedFields?: { time?: string }[] }).managedFields ?? [];
    const changedAt = Math.max(...fields.map((f) => Date.parse(f.time ?? '0')));
    expect(changedAt).toBeGreaterThanOrEqual(Date.parse(migrate2.status!.completionTime!));
  }, 120_000);

  it('stops the sync on a failing PreSync Job: Failed, the SyncFail hook runs, nothing else is applied', async () => {
    const url = await git.createRepo('failing');
    await git.commit('failing', {
      'migrate.yaml': job('bad-migrate', { 'argocd.argoproj.io/hook': 'PreSync' }, { fail: true }),
      'on-fail.yaml': cm('sync-failed', { why: 'migration' }, { 'argocd.argoproj.io/hook': 'SyncFail' }),
      'cm.yaml': cm('never', { a: '1' }),
    });
    expect((await kubectl(['apply', '--server-side', '-f', '-'], application('failing', url))).code).toBe(0);
    await waitFor('sync failed', async () => (await app('failing')).status?.operationState?.phase === 'Failed', 60_000).catch(async (e: unknown) => {
      await dump('failing');
      throw e;
    });
    const s = (await app('failing')).status!;
    expect(s.operationState?.message).toMatch(/^PreSync hook Job\.batch .*\/bad-migrate failed: .*BackoffLimitExceeded|^PreSync hook Job\.batch .*\/bad-migrate failed: Job has reached the specified backoff limit/);
    expect(s.conditions?.find((c) => c.type === 'SyncError')?.message).toBe(s.operationState?.message);
    expect(await getOrUndefined(R.configMap, 'never')).toBeUndefined();
    expect(await getOrUndefined(R.configMap, 'sync-failed')).toBeDefined();
    const hooks = (s.operationState?.syncResult?.resources ?? []).map((r) => [r.name, r.syncPhase, r.hookPhase]);
    expect(hooks).toEqual([
      ['bad-migrate', 'PreSync', 'Failed'],
      ['sync-failed', 'SyncFail', 'Running'],
    ]);
    expect(s.sync?.status).toBe('OutOfSync');
  }, 90_000);
});

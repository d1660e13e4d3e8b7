// Failure paths against the real apiserver and a Git server with basic auth: credentials from a Secret, a wrong
// password (a ComparisonError, nothing applied), and an object the apiserver refuses (SyncError naming it; later
// waves not applied).
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
import { REFRESH_ANNOTATION, SYNC_ANNOTATION } from './sync.ts';

type App = KubeObject & { status?: ApplicationStatus };

describe('sync failures', () => {
  let ns: string;
  let git: GitServer;
  let op: AppOperator;
  const { client } = testClient();
  const app = (name: string): Promise<App> => client.get<App>(R.application, ns, name);
  const exists = async (name: string): Promise<boolean> => {
    try {
      await client.get(R.configMap, ns, name);
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  };
  const application = (name: string, url: string, secret?: string, automated = true): string =>
    stringify({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Application',
      metadata: { name, namespace: ns },
      spec: {
        source: { repoURL: url, path: '.' },
        destination: { namespace: ns },
        ...(automated ? { syncPolicy: { automated: {} } } : {}),
        pollInterval: '10s',
        ...(secret !== undefined ? { credentials: { secretRef: { name: secret } } } : {}),
      },
    });

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('gitops-fail');
    git = await startGitServer({ auth: { username: 'bot', password: 'right' } });
    op = await startAppOperator(client, [ns]);
  });

  afterAll(async () => {
    await op.stop();
    await git.close();
    await deleteNamespace(ns);
  });

  it('reads credentials from the referenced Secret; a wrong password is a ComparisonError', async () => {
    const url = await git.createRepo('private');
    const sha = await git.commit('private', { 'cm.yaml': stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'private' }, data: { a: '1' } }) });
    const secret = (name: string, password: string): string => stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, stringData: { username: 'bot', password } });
    expect((await kubectl(['apply', '-f', '-'], secret('good', 'right') + '---\n' + secret('bad', 'wrong'))).code).toBe(0);
    expect((await kubectl(['apply', '--server-side', '-f', '-'], application('private', url, 'good'))).code).toBe(0);
    expect((await kubectl(['apply', '--server-side', '-f', '-'], application('denied', url, 'bad'))).code).toBe(0);
    await waitFor('private synced', async () => (await app('private')).status?.sync?.revision === sha && (await app('private')).status?.sync?.status === 'Synced');
    expect(await exists('private')).toBe(true);
    await waitFor('denied ComparisonError', async () => (await app('denied')).status?.conditions?.some((c) => c.type === 'ComparisonError') === true);
    expect((await app('denied')).status?.conditions?.find((c) => c.type === 'ComparisonError')?.message).toMatch(/authentication failed \(HTTP 401\)/);
  });

  it('syncs a branch of a `git init --bare` repository whose HEAD dangles; the branch deleted on the server is a condition and prunes nothing', async () => {
    const url = await git.createRepo('bare', 'master');
    await git.commit('bare', { 'cm.yaml': stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'on-main' }, data: { a: '1' } }) });
    const sha = await git.commit('bare', { 'cm.yaml': stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'on-release' }, data: { a: '1' } }) }, 'release', 'release');
    const spec = { apiVersion: 'sluice.dev/v1alpha1', kind: 'Application', metadata: { name: 'bare', namespace: ns }, spec: {
      source: { repoURL: url, path: '.', targetRevision: 'release' }, destination: { namespace: ns }, syncPolicy: { automated: { prune: true } }, pollInterval: '10s', credentials: { secretRef: { name: 'good' } } } };
    expect((await kubectl(['apply', '--server-side', '-f', '-'], stringify(spec))).code).toBe(0);
    await waitFor('bare synced', async () => (await app('bare')).status?.sync?.revision === sha && (await app('bare')).status?.sync?.status === 'Synced');
    expect(await exists('on-release')).toBe(true);
    expect(await exists('on-main')).toBe(false);
    await git.run('bare', ['push', '--quiet', 'origin', '--delete', 'release']);
    expect((await kubectl(['annotate', '--overwrite', '-n', ns, 'application/bare', `${REFRESH_ANNOTATION}=${Date.now()}`])).code).toBe(0);
    await waitFor('bare ComparisonError', async () => (await app('bare')).status?.conditions?.some((c) => c.type === 'ComparisonError') === true);
    expect((await app('bare')).status?.conditions?.find((c) => c.type === 'ComparisonError')?.message).toBe(
      'source: targetRevision "release" is neither a branch, a tag nor a full commit SHA on the remote',
    );
    expect(await exists('on-release')).toBe(true);
    expect((await app('bare')).status?.resources?.map((r) => r.name)).toEqual(['on-release']);
  });

  it('fails the sync on an object the apiserver refuses, names it, and applies no later wave', async () => {
    const url = await git.createRepo('refused');
    // YAML 1.1 as kubectl reads it: `enabled: yes` is a boolean, which a ConfigMap's data refuses.
    await git.commit('refused', {
      'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\ndata:\n  enabled: yes\n',
      'b.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\n  annotations:\n    sluice.dev/sync-wave: "1"\ndata:\n  a: "1"\n',
    });
    await kubectl(['apply', '-f', '-'], stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: ns }, stringData: { username: 'bot', password: 'right' } }));
    expect((await kubectl(['apply', '--server-side', '-f', '-'], application('refused', url, 'creds'))).code).toBe(0);
    await waitFor('Failed', async () => (await app('refused')).status?.operationState?.phase === 'Failed', 30_000);
    const s = (await app('refused')).status!;
    expect(s.operationState?.message).toMatch(/^ConfigMap .*\/first: /);
    expect(s.conditions?.find((c) => c.type === 'SyncError')?.message).toMatch(/first/);
    expect(s.sync?.status).toBe('OutOfSync');
    expect(await exists('second')).toBe(false);
  });

  it('syncs an Application without automated policy only when the sync annotation asks', async () => {
    const url = await git.createRepo('manual');
    const sha = await git.commit('manual', { 'cm.yaml': stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'manual' }, data: { a: '1' } }) });
    expect((await kubectl(['apply', '--server-side', '-f', '-'], application('manual', url, 'good', false))).code).toBe(0);
    await waitFor('OutOfSync', async () => (await app('manual')).status?.sync?.status === 'OutOfSync' && (await app('manual')).status?.sync?.revision === sha);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await exists('manual')).toBe(false);
    expect((await kubectl(['annotate', '-n', ns, 'applications.sluice.dev/manual', `${SYNC_ANNOTATION}=1`])).code).toBe(0);
    await waitFor('Synced', async () => (await app('manual')).status?.sync?.status === 'Synced');
    expect(await exists('manual')).toBe(true);
    expect((await app('manual')).status?.history?.map((h) => h.revision)).toEqual([sha]);
  });

  it('creates the destination namespace with CreateNamespace=true, untracked', async () => {
    const url = await git.createRepo('createns');
    const target = `${ns}-created`;
    await git.commit('createns', { 'cm.yaml': stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'in-new-ns' }, data: { a: '1' } }) });
    const m = {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Application',
      metadata: { name: 'createns', namespace: ns },
      spec: { source: { repoURL: url }, destination: { namespace: target }, syncPolicy: { automated: { prune: true }, syncOptions: ['CreateNamespace=true'] }, credentials: { secretRef: { name: 'good' } } },
    };
    expect((await kubectl(['apply', '--server-side', '-f', '-'], stringify(m))).code).toBe(0);
    try {
      await waitFor('Synced', async () => (await app('createns')).status?.sync?.status === 'Synced');
      expect((await client.get(R.configMap, target, 'in-new-ns')).metadata?.name).toBe('in-new-ns');
      const created = await client.get(R.namespace, undefined, target);
      expect(created.metadata?.labels?.['sluice.dev/instance']).toBeUndefined();
      expect((await app('createns')).status?.resources?.map((r) => r.kind)).toEqual(['ConfigMap']);
    } finally {
      await kubectl(['delete', 'namespace', target, '--ignore-not-found', '--wait=false']);
    }
  });
});

// spec.ignoreDifferences and cascade deletion (Argo CD's resources finalizer) on the real apiserver, with a real Git
// server and the Application controller in-process.
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
import { RESOURCES_FINALIZER } from './delete/cascade.ts';
import { INSTANCE_LABEL, TRACKING_ANNOTATION } from './plan/plan.ts';
import { REFRESH_ANNOTATION } from './sync.ts';

type App = KubeObject & { status?: ApplicationStatus };
type ConfigMap = KubeObject & { data?: Record<string, string> };
type Deployment = KubeObject & { spec?: { replicas?: number; template?: { spec?: { containers?: { image?: string }[] } } } };

const configMap = (name: string, data: Record<string, string>): string => stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });
const deployment = (image: string, name = 'web'): string =>
  stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image }] } } },
  });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('ignoreDifferences and cascade deletion', () => {
  let ns: string;
  let dest: string;
  let git: GitServer;
  let url: string;
  let op: AppOperator;
  const { client } = testClient();
  const operator = testClient();

  const app = (name: string): Promise<App> => client.get<App>(R.application, ns, name);
  const gone = async (get: () => Promise<unknown>): Promise<boolean> => {
    try {
      await get();
      return false;
    } catch (e) {
      if (isNotFound(e)) return true;
      throw e;
    }
  };
  const cm = async (name: string): Promise<ConfigMap | undefined> => ((await gone(() => client.get(R.configMap, dest, name))) ? undefined : client.get<ConfigMap>(R.configMap, dest, name));
  const deploy = (): Promise<Deployment> => client.get<Deployment>(R.deployment, dest, 'web');
  const refresh = async (name: string): Promise<void> => {
    await client.mergePatch(R.application, ns, name, { metadata: { annotations: { [REFRESH_ANNOTATION]: String(Date.now()) } } });
  };
  const createApp = async (name: string, path: string, extra: { finalizers?: string[]; ignoreDifferences?: unknown[] } = {}): Promise<void> => {
    const manifest = {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Application',
      metadata: { name, namespace: ns, ...(extra.finalizers !== undefined ? { finalizers: extra.finalizers } : {}) },
      spec: {
        source: { repoURL: url, targetRevision: 'main', path },
        destination: { server: 'https://kubernetes.default.svc', namespace: dest },
        syncPolicy: { automated: { prune: true, selfHeal: true } },
        ...(extra.ignoreDifferences !== undefined ? { ignoreDifferences: extra.ignoreDifferences } : {}),
        pollInterval: '10s',
      },
    };
    expect((await kubectl(['apply', '--server-side', '--field-manager=sluice-test', '-f', '-'], stringify(manifest))).code).toBe(0);
  };
  const synced = async (name: string, revision?: string): Promise<boolean> => {
    const s = (await app(name)).status;
    return s?.sync?.status === 'Synced' && s.operationState?.phase === 'Succeeded' && (revision === undefined || s.sync.revision === revision);
  };

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('gitops-ign');
    dest = await createNamespace('gitops-ign-dest');
    git = await startGitServer();
    url = await git.createRepo('config');
    op = await startAppOperator(operator.client, [ns, dest]);
  });

  afterAll(async () => {
    await op.stop();
    await git.close();
    await deleteNamespace(dest);
    await deleteNamespace(ns);
  });

  describe('spec.ignoreDifferences', () => {
    beforeAll(async () => {
      const c = await git.commit('config', {
        'ignore/settings.yaml': configMap('settings', { color: 'blue', size: 'small', mode: 'fast' }),
        'ignore/deploy.yaml': deployment('nginx:1.27'),
      });
      await createApp('ign', 'ignore', {
        ignoreDifferences: [
          { kind: 'ConfigMap', name: 'settings', jsonPointers: ['/data/color', '/data/mode'] },
          { group: 'apps', kind: 'Deployment', managedFieldsManagers: ['ops-script'] },
        ],
      });
      await waitFor('ign Synced', () => synced('ign', c), 30_000);
    });

    it('keeps a live edit of an ignored pointer and stays Synced, while an edit of another field is healed', async () => {
      expect((await kubectl(['patch', '-n', dest, 'configmap/settings', '--type=merge', '-p', '{"data":{"color":"red"}}'])).code).toBe(0);
      await refresh('ign');
      await sleep(3000);
      expect((await cm('settings'))?.data?.color).toBe('red');
      expect((await app('ign')).status?.sync?.status).toBe('Synced');

      // A non-ignored edit is drift: the heal applies the ConfigMap, and that apply keeps color (edited) and mode
      // (never edited: Sluice still owns it, and leaving it out of the apply would have deleted it).
      expect((await kubectl(['patch', '-n', dest, 'configmap/settings', '--type=merge', '-p', '{"data":{"size":"huge"}}'])).code).toBe(0);
      await waitFor('size healed', async () => (await cm('settings'))?.data?.size === 'small', 15_000, 50);
      expect((await cm('settings'))?.data).toEqual({ color: 'red', size: 'small', mode: 'fast' });
      await waitFor('Synced after heal', () => synced('ign'), 15_000);

      // A Git change of an ignored field is not applied either; a change of another field is.
      const c2 = await git.commit('config', { 'ignore/settings.yaml': configMap('settings', { color: 'green', size: 'medium', mode: 'slow' }) });
      await refresh('ign');
      await waitFor('size medium', async () => (await cm('settings'))?.data?.size === 'medium', 15_000);
      await waitFor('Synced at c2', () => synced('ign', c2), 15_000);
      expect((await cm('settings'))?.data).toEqual({ color: 'red', size: 'medium', mode: 'fast' });
    });

    it('ignores fields owned by a manager named in managedFieldsManagers, and heals the others', async () => {
      expect((await kubectl(['patch', '-n', dest, 'deployment/web', '--field-manager=ops-script', '--type=merge', '-p', '{"spec":{"replicas":4}}'])).code).toBe(0);
      await refresh('ign');
      await sleep(3000);
      expect((await deploy()).spec?.replicas).toBe(4);
      expect((await app('ign')).status?.sync?.status).toBe('Synced');

      // Another manager's edit of the same object is healed, and the heal leaves ops-script's replicas alone.
      expect((await kubectl(['patch', '-n', dest, 'deployment/web', '--type=json', '-p', '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:9"}]'])).code).toBe(0);
      await waitFor('image healed', async () => (await deploy()).spec?.template?.spec?.containers?.[0]?.image === 'nginx:1.27', 15_000, 50);
      expect((await deploy()).spec?.replicas).toBe(4);
      await waitFor('Synced after heal', () => synced('ign'), 15_000);
    });

    it('refuses jqPathExpressions with an InvalidSpecError naming the field', async () => {
      await client.jsonPatch(R.application, ns, 'ign', [{ op: 'add', path: '/spec/ignoreDifferences/-', value: { group: 'apps', kind: 'Deployment', jqPathExpressions: ['.spec.replicas'] } }]);
      await waitFor('InvalidSpecError', async () => (await app('ign')).status?.conditions?.some((c) => c.type === 'InvalidSpecError') === true, 15_000);
      const message = (await app('ign')).status?.conditions?.find((c) => c.type === 'InvalidSpecError')?.message;
      expect(message).toContain('spec.ignoreDifferences[2].jqPathExpressions: is not supported');
      await client.jsonPatch(R.application, ns, 'ign', [{ op: 'remove', path: '/spec/ignoreDifferences/2' }]);
      await waitFor('valid again', async () => (await app('ign')).status?.conditions?.some((c) => c.type === 'InvalidSpecError') === false, 15_000);
    });
  });

  describe(`cascade deletion (${RESOURCES_FINALIZER})`, () => {
    it('deletes exactly the tracked objects, then removes the finalizer', async () => {
      const c = await git.commit('config', { 'cascade/a.yaml': configMap('casc-a', { count: '1' }), 'cascade/b.yaml': configMap('casc-b', { count: '2' }), 'cascade/deploy.yaml': deployment('nginx:1.27', 'casc-web') });
      await createApp('casc', 'cascade', { finalizers: [RESOURCES_FINALIZER] });
      await waitFor('casc Synced', () => synced('casc', c), 30_000);
      // Same labels, but no tracking id, or another app's: never ours to delete.
      const stranger = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'casc-stranger', namespace: dest, labels: { [INSTANCE_LABEL]: 'casc' } }, data: { count: '3' } };
      const imposter = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'casc-imposter', namespace: dest, labels: { [INSTANCE_LABEL]: 'casc' }, annotations: { [TRACKING_ANNOTATION]: `${ns}/other:/ConfigMap:${dest}/casc-imposter` } },
        data: { count: '4' },
      };
      for (const o of [stranger, imposter]) expect((await kubectl(['apply', '-f', '-'], stringify(o))).code).toBe(0);
      // casc-b is in the inventory, but someone handed it to another app (self-heal off, so it stays so): not ours.
      await client.mergePatch(R.application, ns, 'casc', { spec: { syncPolicy: null } });
      await waitFor('automated off', async () => (await app('casc')).metadata?.generation === (await app('casc')).status?.observedGeneration, 10_000);
      expect((await kubectl(['annotate', '-n', dest, 'configmap/casc-b', `${TRACKING_ANNOTATION}=${ns}/adopter:/ConfigMap:${dest}/casc-b`, '--overwrite'])).code).toBe(0);
      expect((await app('casc')).status?.resources?.map((r) => r.name)).toContain('casc-b');

      const t0 = Date.now();
      expect((await kubectl(['delete', 'application.sluice.dev', '-n', ns, 'casc', '--wait=false'])).code).toBe(0);
      await waitFor('casc gone', () => gone(() => app('casc')), 30_000);
      const ms = Date.now() - t0;
      expect(await cm('casc-a')).toBeUndefined();
      expect((await cm('casc-b'))?.data).toEqual({ count: '2' });
      // Foreground: the Application went only after the Deployment (and so its ReplicaSets) was really gone.
      expect(await gone(() => client.get(R.deployment, dest, 'casc-web'))).toBe(true);
      const rs = await client.list<KubeObject>(R.replicaSet, dest);
      expect(rs.items.filter((r) => r.metadata?.name?.startsWith('casc-web-') === true && r.metadata.deletionTimestamp === undefined)).toEqual([]);
      expect((await cm('casc-stranger'))?.data).toEqual({ count: '3' });
      expect((await cm('casc-imposter'))?.data).toEqual({ count: '4' });
      console.log(`cascade delete of a ConfigMap and a Deployment (foreground): ${ms} ms`);
    });

    it('leaves the objects when the Application has no finalizer', async () => {
      const c = await git.commit('config', { 'keep/a.yaml': configMap('keep-a', { count: '1' }) });
      await createApp('keep', 'keep');
      await waitFor('keep Synced', () => synced('keep', c), 30_000);
      expect((await kubectl(['delete', 'application.sluice.dev', '-n', ns, 'keep', '--wait=false'])).code).toBe(0);
      await waitFor('keep gone', () => gone(() => app('keep')), 30_000);
      await sleep(2000);
      expect((await cm('keep-a'))?.data).toEqual({ count: '1' });
    });

    it('keeps the finalizer and reports a DeletionError with an Event while a delete is refused, then finishes', async () => {
      const c = await git.commit('config', { 'guarded/a.yaml': configMap('guarded-a', { count: '1' }), 'guarded/b.yaml': configMap('guarded-b', { count: '2' }) });
      await createApp('guarded', 'guarded', { finalizers: [`${RESOURCES_FINALIZER}/background`] });
      await waitFor('guarded Synced', () => synced('guarded', c), 30_000);
      // A real admission refusal: a ValidatingAdmissionPolicy that forbids deleting guarded-b.
      const policy = `vap-${dest}`;
      const vap = {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name: policy },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['DELETE'], resources: ['configmaps'] }] },
          validations: [{ expression: `!(oldObject.metadata.name == 'guarded-b' && oldObject.metadata.namespace == '${dest}')`, message: 'guarded-b is protected' }],
        },
      };
      const binding = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: policy }, spec: { policyName: policy, validationActions: ['Deny'] } };
      expect((await kubectl(['apply', '-f', '-'], `${stringify(vap)}---\n${stringify(binding)}`)).code).toBe(0);
      try {
        // The policy takes effect asynchronously: wait until a delete of guarded-b is really refused (dry-run).
        await waitFor('policy active', async () => (await kubectl(['delete', '-n', dest, 'configmap/guarded-b', '--dry-run=server'])).code !== 0, 20_000);
        expect((await kubectl(['delete', 'application.sluice.dev', '-n', ns, 'guarded', '--wait=false'])).code).toBe(0);
        await waitFor('DeletionError', async () => (await app('guarded')).status?.conditions?.some((x) => x.type === 'DeletionError') === true, 20_000);
        const a = await app('guarded');
        expect(a.metadata?.finalizers).toContain(`${RESOURCES_FINALIZER}/background`);
        expect(a.status?.conditions?.find((x) => x.type === 'DeletionError')?.message).toMatch(/ConfigMap .*guarded-b: .*protected/);
        expect(await cm('guarded-a')).toBeUndefined();
        expect(await cm('guarded-b')).toBeDefined();
        const events = await client.list<KubeObject & { reason?: string; involvedObject?: { name?: string } }>(R.event, ns);
        expect(events.items.some((e) => e.reason === 'DeletionError' && e.involvedObject?.name === 'guarded')).toBe(true);
      } finally {
        await kubectl(['delete', 'validatingadmissionpolicybinding', policy, '--ignore-not-found']);
        await kubectl(['delete', 'validatingadmissionpolicy', policy, '--ignore-not-found']);
      }
      // The retry succeeds once the refusal is gone.
      await waitFor('guarded gone', () => gone(() => app('guarded')), 40_000);
      expect(await cm('guarded-b')).toBeUndefined();
    });
  });
});

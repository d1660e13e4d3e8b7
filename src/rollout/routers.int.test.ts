// The Istio (host and subset split) and NGINX routers driven by real Rollouts on the real apiserver; routing is
// checked by reading the objects, as no data plane runs here. Also: a new template mid-rollout, and a rollback.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createNamespace, deleteNamespace, waitFor } from '../../test/support/cluster.ts';
import { helpers, installAllCrds, rolloutManifest, runOperator, type InProcessOperator } from '../../test/support/rollouts.ts';
import type { KubeObject } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { POD_TEMPLATE_HASH_LABEL } from './hash.ts';
import { DESTINATION_RULE, VIRTUAL_SERVICE } from './traffic/istio.ts';
import { canaryIngressName, INGRESS } from './traffic/nginx.ts';

type VS = KubeObject & { spec?: { http?: { name?: string; route?: { destination?: { host?: string; subset?: string }; weight?: number }[]; match?: unknown[] }[] } };
type DR = KubeObject & { spec?: { subsets?: { name: string; labels?: Record<string, string> }[] } };
type Ing = KubeObject & { spec?: { rules?: { http?: { paths?: { backend?: { service?: { name?: string } } }[] } }[] } };

describe('traffic routers on real objects', () => {
  let ns: string;
  let op: InProcessOperator;
  let h: ReturnType<typeof helpers>;

  beforeAll(async () => {
    await installAllCrds();
    ns = await createNamespace('routers');
    op = await runOperator(ns);
    h = helpers(ns, op.client);
  });
  afterAll(async () => {
    await op.stop();
    await deleteNamespace(ns);
  });

  const vsWeights = async (name: string, key: 'host' | 'subset'): Promise<Record<string, number | undefined>> => {
    const vs = await op.client.get<VS>(VIRTUAL_SERVICE, ns, name);
    const primary = (vs.spec?.http ?? []).find((r) => r.name === 'primary');
    return Object.fromEntries((primary?.route ?? []).map((d) => [d.destination?.[key] ?? '', d.weight]));
  };

  it('Istio host split: weights on the VirtualService, a header route first in line, removed at the end', async () => {
    await h.service('pay-stable', 'pay');
    await h.service('pay-canary', 'pay');
    await h.apply({
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name: 'pay' },
      spec: { hosts: ['pay'], http: [{ name: 'primary', route: [{ destination: { host: 'pay-stable' }, weight: 100 }, { destination: { host: 'pay-canary' }, weight: 0 }] }] },
    });
    const canary = {
      canaryService: 'pay-canary',
      stableService: 'pay-stable',
      trafficRouting: { istio: { virtualService: { name: 'pay', routes: ['primary'] } }, managedRoutes: [{ name: 'beta-users' }] },
      steps: [{ setWeight: 20 }, { setHeaderRoute: { name: 'beta-users', match: [{ headerName: 'x-beta', headerValue: { exact: 'beta' } }] } }, { pause: {} }, { setWeight: 50 }, { pause: {} }],
    };
    await h.apply(rolloutManifest('pay', 'v1', canary));
    await waitFor('v1 Healthy', async () => (await h.rollout('pay')).status?.phase === 'Healthy', 60_000);
    await h.apply(rolloutManifest('pay', 'v2', canary));
    await waitFor('20/80 and the header route', async () => (await vsWeights('pay', 'host'))['pay-canary'] === 20 && (await h.rollout('pay')).status?.phase === 'Paused', 30_000);
    expect(await vsWeights('pay', 'host')).toEqual({ 'pay-stable': 80, 'pay-canary': 20 });
    const vs = await op.client.get<VS>(VIRTUAL_SERVICE, ns, 'pay');
    expect(vs.spec?.http?.[0]).toMatchObject({ name: 'sluice-beta-users', match: [{ headers: { 'x-beta': { exact: 'beta' } } }], route: [{ destination: { host: 'pay-canary' }, weight: 100 }] });

    await h.statusPatch('pay', { status: { pauseConditions: null } });
    await waitFor('50/50', async () => (await vsWeights('pay', 'host'))['pay-canary'] === 50 && (await h.rollout('pay')).status?.currentStepIndex === 4, 30_000);
    await h.statusPatch('pay', { status: { pauseConditions: null } });
    await waitFor('Healthy on v2', async () => {
      const s = (await h.rollout('pay')).status;
      return s?.phase === 'Healthy' && s.stableRS === s.currentPodHash;
    }, 60_000);
    expect(await vsWeights('pay', 'host')).toEqual({ 'pay-stable': 100, 'pay-canary': 0 });
    expect((await op.client.get<VS>(VIRTUAL_SERVICE, ns, 'pay')).spec?.http?.map((r) => r.name)).toEqual(['primary']);
  });

  it('Istio subset split: the DestinationRule subsets carry the right hashes before any weight moves', async () => {
    await h.service('cart', 'cart');
    await h.apply({
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'DestinationRule',
      metadata: { name: 'cart' },
      spec: { host: 'cart', subsets: [{ name: 'stable', labels: { app: 'cart' } }, { name: 'canary', labels: { app: 'cart' } }] },
    });
    await h.apply({
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name: 'cart' },
      spec: { hosts: ['cart'], http: [{ name: 'primary', route: [{ destination: { host: 'cart', subset: 'stable' }, weight: 100 }, { destination: { host: 'cart', subset: 'canary' }, weight: 0 }] }] },
    });
    const canary = {
      trafficRouting: { istio: { virtualService: { name: 'cart' }, destinationRule: { name: 'cart', canarySubsetName: 'canary', stableSubsetName: 'stable' } } },
      steps: [{ setWeight: 25 }, { pause: {} }],
    };
    await h.apply(rolloutManifest('cart', 'v1', canary));
    await waitFor('v1 Healthy', async () => (await h.rollout('cart')).status?.phase === 'Healthy', 60_000);
    const v1 = (await h.rollout('cart')).status?.stableRS;
    const subsets = async (): Promise<Record<string, string | undefined>> =>
      Object.fromEntries(((await op.client.get<DR>(DESTINATION_RULE, ns, 'cart')).spec?.subsets ?? []).map((x) => [x.name, x.labels?.[POD_TEMPLATE_HASH_LABEL]]));
    expect(await subsets()).toEqual({ stable: v1, canary: v1 });

    await h.apply(rolloutManifest('cart', 'v2', canary));
    // Watch every change until the weight moves: the canary subset must already name v2 when it does.
    let sawWeightBeforeSubset = false;
    await waitFor('25/75', async () => {
      const [w, sub] = [await vsWeights('cart', 'subset'), await subsets()];
      const v2 = (await h.rollout('cart')).status?.currentPodHash;
      if ((w.canary ?? 0) > 0 && sub.canary !== v2) sawWeightBeforeSubset = true;
      return w.canary === 25;
    }, 30_000, 20);
    expect(sawWeightBeforeSubset).toBe(false);
    const v2 = (await h.rollout('cart')).status?.currentPodHash;
    expect(await subsets()).toEqual({ stable: v1, canary: v2 });
    expect(await vsWeights('cart', 'subset')).toEqual({ stable: 75, canary: 25 });
  });

  it('NGINX: a canary Ingress follows the steps with canary-weight and a header route; the stable Ingress is never touched', async () => {
    await h.service('web-stable', 'web');
    await h.service('web-canary', 'web');
    const stableIngress = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'web', annotations: { team: 'storefront' } },
      spec: { ingressClassName: 'nginx', rules: [{ host: 'web.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web-stable', port: { number: 80 } } } }] } }] },
    };
    await h.apply(stableIngress);
    const before = await op.client.get<Ing>(INGRESS, ns, 'web');
    const canary = {
      canaryService: 'web-canary',
      stableService: 'web-stable',
      trafficRouting: { nginx: { stableIngress: 'web' }, managedRoutes: [{ name: 'testers' }] },
      steps: [{ setWeight: 10 }, { setHeaderRoute: { name: 'testers', match: [{ headerName: 'x-canary', headerValue: { exact: 'always' } }] } }, { pause: {} }, { setWeight: 40 }, { pause: {} }],
    };
    await h.apply(rolloutManifest('web', 'v1', canary));
    await waitFor('v1 Healthy', async () => (await h.rollout('web')).status?.phase === 'Healthy', 60_000);
    await h.apply(rolloutManifest('web', 'v2', canary));
    const canaryName = canaryIngressName('web', 'web');
    const canaryIng = async (): Promise<Ing | undefined> => op.client.get<Ing>(INGRESS, ns, canaryName).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e as Error)));
    await waitFor('canary Ingress at 10% with a header route', async () => {
      const a = (await canaryIng())?.metadata?.annotations ?? {};
      return a['nginx.ingress.kubernetes.io/canary-weight'] === '10' && a['nginx.ingress.kubernetes.io/canary-by-header'] === 'x-canary';
    }, 30_000);
    const c = await canaryIng();
    expect(c?.metadata?.annotations).toMatchObject({ 'nginx.ingress.kubernetes.io/canary': 'true', 'nginx.ingress.kubernetes.io/canary-by-header-value': 'always' });
    expect(c?.spec?.rules?.[0]?.http?.paths?.[0]?.backend?.service?.name).toBe('web-canary');
    await h.statusPatch('web', { status: { pauseConditions: null } });
    await waitFor('40%', async () => (await canaryIng())?.metadata?.annotations?.['nginx.ingress.kubernetes.io/canary-weight'] === '40', 30_000);
    await h.statusPatch('web', { status: { pauseConditions: null } });
    await waitFor('Healthy and the canary Ingress gone', async () => (await h.rollout('web')).status?.phase === 'Healthy' && (await canaryIng()) === undefined, 60_000);
    const after = await op.client.get<Ing>(INGRESS, ns, 'web');
    expect(after.metadata?.annotations).toEqual(before.metadata?.annotations);
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion); // never written
  });

  it('restarts at step 0 for a new template mid-rollout, and skips the steps going back to the stable revision', async () => {
    await h.service('api-stable', 'api');
    await h.service('api-canary', 'api');
    await h.apply({
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name: 'api' },
      spec: { hosts: ['api'], http: [{ name: 'primary', route: [{ destination: { host: 'api-stable' }, weight: 100 }, { destination: { host: 'api-canary' }, weight: 0 }] }] },
    });
    const canary = { canaryService: 'api-canary', stableService: 'api-stable', trafficRouting: { istio: { virtualService: { name: 'api' } } }, steps: [{ setWeight: 30 }, { pause: {} }, { setWeight: 60 }, { pause: {} }] };
    await h.apply(rolloutManifest('api', 'v1', canary));
    await waitFor('v1 Healthy', async () => (await h.rollout('api')).status?.phase === 'Healthy', 60_000);
    const v1 = (await h.rollout('api')).status?.stableRS;
    await h.apply(rolloutManifest('api', 'v2', canary));
    await waitFor('v2 at 30%', async () => (await vsWeights('api', 'host'))['api-canary'] === 30, 30_000);
    await h.statusPatch('api', { status: { pauseConditions: null } });
    await waitFor('v2 at 60%', async () => (await vsWeights('api', 'host'))['api-canary'] === 60 && (await h.rollout('api')).status?.phase === 'Paused', 30_000);

    await h.apply(rolloutManifest('api', 'v3', canary));
    await waitFor('v3 back at step 1, 30%', async () => {
      const s = (await h.rollout('api')).status;
      return s?.currentPodHash !== undefined && s.currentPodHash !== v1 && s.currentStepIndex === 1 && (await vsWeights('api', 'host'))['api-canary'] === 30 && (await h.selector('api-canary')) === s.currentPodHash;
    }, 30_000);

    await h.apply(rolloutManifest('api', 'v1', canary)); // back to the stable revision
    await waitFor('Healthy on v1 without steps', async () => {
      const s = (await h.rollout('api')).status;
      return s?.phase === 'Healthy' && s.currentPodHash === v1 && s.stableRS === v1;
    }, 30_000);
    expect(await vsWeights('api', 'host')).toEqual({ 'api-stable': 100, 'api-canary': 0 });
    expect(await h.selector('api-canary')).toBe(v1);
  });
});

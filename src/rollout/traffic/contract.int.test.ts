// The one contract every traffic router passes, on the real apiserver with each router's real objects:
// weights read back as written, repeats write nothing, managed routes come and go without touching anything else,
// and nothing outside the router's own fields changes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubectl } from '../../../test/support/cluster.ts';
import { installAllCrds } from '../../../test/support/rollouts.ts';
import { testClient } from '../../../test/support/operator.ts';
import type { KubeClient, KubeObject } from '../../kube/client.ts';
import type { ResourceType } from '../../kube/resource.ts';
import { GatewayApiRouter, HTTP_ROUTE } from './gatewayapi.ts';
import { DESTINATION_RULE, IstioRouter, VIRTUAL_SERVICE } from './istio.ts';
import { canaryIngressName, INGRESS, NginxRouter } from './nginx.ts';
import type { RouteTarget, TrafficRouter } from './router.ts';

interface Case {
  name: string;
  objects: (t: RouteTarget) => object[];
  make: (client: KubeClient) => TrafficRouter;
  /** The object the router edits, and the part of it the router must never change. */
  watched: { resource: ResourceType; name: (t: RouteTarget) => string; untouched: (o: KubeObject) => unknown };
  mirror: boolean;
  /** The weights the first weighted rule holds, by destination (host or Service): undefined for routers that split between two Services only. */
  weights?: (o: KubeObject) => Record<string, number>;
  /** A copy of the edited object with a malformed field, which the upstream CRD's schema refuses naming that field. */
  malformed?: { object: object; field: string };
  /** A valid routing object whose router edit the upstream schema refuses: the router must say which field. */
  refusedWrite?: { object: (t: RouteTarget) => object; act: (r: TrafficRouter, t: RouteTarget) => Promise<void>; field: string };
}

const svc = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: 'c' }, ports: [{ port: 80 }] } });
const spec = (o: KubeObject): Record<string, unknown> => (o as { spec?: Record<string, unknown> }).spec ?? {};
/** The first HTTP route's weights, by subset (subset split) or host. */
const virtualServiceWeights = (o: KubeObject): Record<string, number> =>
  Object.fromEntries(((spec(o).http as { route?: { destination?: { host?: string; subset?: string }; weight?: number }[] }[] | undefined)?.[0]?.route ?? []).map((d) => [d.destination?.subset ?? d.destination?.host ?? '', d.weight ?? 0]));

const CASES: Case[] = [
  {
    name: 'Gateway API HTTPRoute',
    objects: (t) => [
      svc(t.stableService),
      svc(t.canaryService),
      { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'r', labels: { team: 'a' } }, spec: { parentRefs: [{ name: 'gw' }], hostnames: ['c.example'], rules: [{ backendRefs: [{ name: t.stableService, port: 80, weight: 100 }, { name: t.canaryService, port: 80, weight: 0 }] }] } },
    ],
    make: (client) => new GatewayApiRouter({ client }, ['r']),
    watched: { resource: HTTP_ROUTE, name: () => 'r', untouched: (o) => ({ labels: o.metadata?.labels, parentRefs: spec(o).parentRefs, hostnames: spec(o).hostnames }) },
    mirror: true,
    weights: (o) => Object.fromEntries(((spec(o).rules as { backendRefs?: { name: string; weight?: number }[] }[] | undefined)?.[0]?.backendRefs ?? []).map((b) => [b.name, b.weight ?? 1])),
    malformed: { object: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'r' }, spec: { rules: { a: 1 } } }, field: 'spec.rules' },
    // The upstream schema allows 16 rules: a route that has them all leaves no room for a header route's rule.
    refusedWrite: {
      object: (t) => ({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'r' },
        spec: {
          parentRefs: [{ name: 'gw' }],
          rules: [
            { backendRefs: [{ name: t.stableService, port: 80, weight: 100 }, { name: t.canaryService, port: 80, weight: 0 }] },
            ...Array.from({ length: 15 }, (_, i) => ({ matches: [{ path: { type: 'PathPrefix', value: `/p${i}` } }], backendRefs: [{ name: t.stableService, port: 80 }] })),
          ],
        },
      }),
      act: (r, t) => r.setHeaderRoute(t, { name: 'beta', match: [{ headerName: 'x-beta', headerValue: { exact: 'on' } }] }),
      field: 'HTTPRoute .*/r: the apiserver refused the router.s write: spec.rules: Too many',
    },
  },
  {
    name: 'Istio VirtualService (host split)',
    objects: (t) => [
      svc(t.stableService),
      svc(t.canaryService),
      { apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualService', metadata: { name: 'vs' }, spec: { hosts: ['c'], gateways: ['mesh'], http: [{ name: 'primary', route: [{ destination: { host: t.stableService }, weight: 100 }, { destination: { host: t.canaryService }, weight: 0 }] }] } },
    ],
    make: (client) => new IstioRouter({ client }, [{ name: 'vs', routes: ['primary'] }]),
    watched: { resource: VIRTUAL_SERVICE, name: () => 'vs', untouched: (o) => ({ hosts: spec(o).hosts, gateways: spec(o).gateways }) },
    mirror: true,
    weights: virtualServiceWeights,
    malformed: { object: { apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualService', metadata: { name: 'vs' }, spec: { http: [{ name: 'primary', route: 'c-stable' }] } }, field: 'spec.http\\[0\\].route' },
  },
  {
    name: 'Istio VirtualService (subset split)',
    objects: () => [
      { apiVersion: 'networking.istio.io/v1beta1', kind: 'DestinationRule', metadata: { name: 'dr' }, spec: { host: 'c', subsets: [{ name: 'stable', labels: { app: 'c' } }, { name: 'canary', labels: { app: 'c' } }] } },
      { apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualService', metadata: { name: 'vs2' }, spec: { hosts: ['c'], http: [{ name: 'primary', route: [{ destination: { host: 'c', subset: 'stable' }, weight: 100 }, { destination: { host: 'c', subset: 'canary' }, weight: 0 }] }] } },
    ],
    make: (client) => new IstioRouter({ client }, [{ name: 'vs2', routes: [] }], { name: 'dr', canarySubsetName: 'canary', stableSubsetName: 'stable' }),
    watched: { resource: VIRTUAL_SERVICE, name: () => 'vs2', untouched: (o) => ({ hosts: spec(o).hosts }) },
    mirror: true,
    weights: virtualServiceWeights,
    malformed: { object: { apiVersion: 'networking.istio.io/v1beta1', kind: 'DestinationRule', metadata: { name: 'dr' }, spec: { subsets: [{ labels: { app: 'c' } }] } }, field: 'spec.subsets\\[0\\].name' },
  },
  {
    name: 'NGINX Ingress',
    objects: (t) => [
      svc(t.stableService),
      svc(t.canaryService),
      { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'ing', annotations: { owner: 'team-a' } }, spec: { rules: [{ host: 'c.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: t.stableService, port: { number: 80 } } } }] } }] } },
    ],
    make: (client) => new NginxRouter({ client }, { stableIngresses: ['ing'] }),
    // NGINX never edits the stable Ingress at all: the whole object is "untouched".
    watched: { resource: INGRESS, name: () => 'ing', untouched: (o) => ({ annotations: o.metadata?.annotations, spec: spec(o), rv: o.metadata?.resourceVersion }) },
    mirror: false,
  },
];

describe.each(CASES)('traffic router contract: $name', (c) => {
  let ns: string;
  const { client, log } = testClient();
  let t: RouteTarget;
  let router: TrafficRouter;
  let before: unknown;

  beforeAll(async () => {
    await installAllCrds();
    ns = await createNamespace('router-contract');
    t = { namespace: ns, rollout: 'ro', canaryService: 'c-canary', stableService: 'c-stable' };
    for (const o of c.objects(t)) {
      const res = await kubectl(['apply', '--server-side', '--field-manager=gitops-user', '-n', ns, '-f', '-'], stringify(o));
      expect(res.stderr).toBe('');
    }
    router = c.make(client);
    await router.pin?.(t, 'stable', 'h1');
    await router.pin?.(t, 'canary', 'h2');
    before = c.watched.untouched(await client.get(c.watched.resource, ns, c.watched.name(t)));
  });
  afterAll(async () => {
    await deleteNamespace(ns);
  });

  it('reads back every weight it writes', async () => {
    for (const w of [10, 35, 100, 0]) {
      await router.setWeight(t, w);
      expect(await router.readWeight(t)).toBe(w);
    }
  });

  it('writes nothing when asked for the weight it already has', async () => {
    await router.setWeight(t, 40);
    const writes = log.filter((l) => l.startsWith('PATCH') || l.startsWith('PUT') || l.startsWith('POST')).length;
    await router.setWeight(t, 40);
    expect(log.filter((l) => l.startsWith('PATCH') || l.startsWith('PUT') || l.startsWith('POST')).length).toBe(writes);
  });

  it('adds a header route and removes it again, leaving the weight alone', async () => {
    await router.setWeight(t, 20);
    await router.setHeaderRoute(t, { name: 'beta', match: [{ headerName: 'x-beta', headerValue: { exact: 'on' } }] });
    expect(await router.readWeight(t)).toBe(20);
    await router.removeManagedRoutes(t, ['beta']);
    expect(await router.readWeight(t)).toBe(20);
  });

  it(c.mirror ? 'mirrors a share of traffic as a managed route' : 'refuses to mirror, saying why', async () => {
    const mirrored = router.setMirrorRoute(t, { name: 'shadow', percentage: 25, match: [] });
    if (!c.mirror) {
      await expect(mirrored).rejects.toThrow(/cannot mirror/);
      return;
    }
    await mirrored;
    const o = JSON.stringify(await client.get(c.watched.resource, ns, c.watched.name(t)));
    expect(o).toContain('sluice-shadow');
    await router.removeManagedRoutes(t, ['shadow']);
    expect(JSON.stringify(await client.get(c.watched.resource, ns, c.watched.name(t)))).not.toContain('sluice-shadow');
  });

  // An experiment step's templates: their own Services take a share from the stable's, and give it back.
  it(c.weights !== undefined ? 'routes to extra Services (experiment templates) and takes them off again' : 'refuses extra Services, saying why', async () => {
    const extra = { additional: [{ service: 'c-exp-baseline', weight: 15 }, { service: 'c-exp-canary', weight: 15 }], remove: [] };
    if (c.weights === undefined) {
      await expect(router.setWeight(t, 20, extra)).rejects.toThrow(/two Services only/);
      return;
    }
    const weights = c.weights;
    const read = async (): Promise<Record<string, number>> => weights(await client.get(c.watched.resource, ns, c.watched.name(t)));
    const stable = (w: Record<string, number>): number | undefined => w[t.stableService] ?? w.stable;
    await router.setWeight(t, 20, extra);
    const w1 = await read();
    expect(w1['c-exp-baseline']).toBe(15);
    expect(w1['c-exp-canary']).toBe(15);
    expect(stable(w1)).toBe(50);
    expect(await router.readWeight(t)).toBe(20);
    await expect(router.setWeight(t, 80, extra)).rejects.toMatchObject({ name: 'RouterConfigError' });
    await router.setWeight(t, 20, { additional: [{ service: 'c-exp-canary', weight: 15 }], remove: ['c-exp-baseline'] });
    const w2 = await read();
    expect(w2['c-exp-baseline']).toBeUndefined();
    expect(stable(w2)).toBe(65);
    await router.setWeight(t, 20, { additional: [], remove: ['c-exp-canary'] });
    const w3 = await read();
    expect(Object.keys(w3).filter((k) => k.includes('exp'))).toEqual([]);
    expect(stable(w3)).toBe(80);
  });

  it('changes nothing outside the fields it owns', async () => {
    expect(c.watched.untouched(await client.get(c.watched.resource, ns, c.watched.name(t)))).toEqual(before);
    if (c.name === 'NGINX Ingress') {
      const canary = await client.get<KubeObject>(INGRESS, ns, canaryIngressName(t.rollout, 'ing'));
      expect(canary.metadata?.annotations?.['nginx.ingress.kubernetes.io/canary']).toBe('true');
      await (router as NginxRouter).cleanup(t);
      await expect(client.get(INGRESS, ns, canaryIngressName(t.rollout, 'ing'))).rejects.toMatchObject({ kind: 'NotFound' });
    }
  });

  it('pins revisions where it splits by subsets', async () => {
    if (router.readPins === undefined) return;
    expect(await router.readPins(t)).toEqual({ stable: 'h1', canary: 'h2' });
    const dr = await client.get<KubeObject & { spec?: { subsets?: { labels?: Record<string, string> }[] } }>(DESTINATION_RULE, ns, 'dr');
    expect(dr.spec?.subsets?.every((s) => s.labels?.app === 'c')).toBe(true); // the Git-owned labels stay
  });

  // The routing kinds are the upstream CRDs (test/crds/upstream.ts), so a malformed object never reaches a router.
  it('runs against the upstream schema: a malformed routing object is refused by the apiserver, naming the field', async () => {
    if (c.malformed === undefined) return; // Ingress is a built-in kind, validated as always
    const res = await kubectl(['replace', '-n', ns, '-f', '-'], stringify(c.malformed.object));
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(new RegExp(c.malformed.field));
  });

  // Last: it replaces the router's object.
  it('reports an edit the upstream schema refuses as a RouterConfigError naming the field, not a crash', async () => {
    if (c.refusedWrite === undefined) return; // no edit of this router can break its kind's schema
    const res = await kubectl(['replace', '-n', ns, '-f', '-'], stringify(c.refusedWrite.object(t)));
    expect(res.stderr).toBe('');
    await expect(c.refusedWrite.act(router, t)).rejects.toMatchObject({ name: 'RouterConfigError', message: expect.stringMatching(new RegExp(c.refusedWrite.field)) });
  });
});

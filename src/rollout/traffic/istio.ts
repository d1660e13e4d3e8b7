// Istio host-split: weights on the destinations of the VirtualService's HTTP routes whose hosts are the stable and
// canary Services. Header and mirror routes are extra HTTP routes named sluice-<route>, placed first.
import type { KubeObject } from '../../kube/client.ts';
import type { ResourceType } from '../../kube/resource.ts';
import { MANAGED_ROUTE_PREFIX, ROUTER_FIELD_MANAGER, RouterConfigError, type HeaderRoute, type MirrorRoute, type RouteTarget, type RouterDeps, type TrafficRouter } from './router.ts';

export const VIRTUAL_SERVICE: ResourceType = { group: 'networking.istio.io', version: 'v1beta1', kind: 'VirtualService', plural: 'virtualservices', namespaced: true };

interface Destination {
  destination?: { host?: string; subset?: string; port?: unknown };
  weight?: number;
  [k: string]: unknown;
}
interface HttpRoute {
  name?: string;
  match?: unknown[];
  route?: Destination[];
  mirror?: unknown;
  mirrorPercentage?: unknown;
  [k: string]: unknown;
}
type VirtualServiceObject = KubeObject & { spec?: { http?: HttpRoute[]; [k: string]: unknown } };

const hostIs = (d: Destination, svc: string): boolean => {
  const h = d.destination?.host ?? '';
  return h === svc || h.startsWith(`${svc}.`);
};

/** Pure: the HTTP routes with weights set on each named route (all, when `only` is empty) that sends to both Services. */
export function weighHttp(http: readonly HttpRoute[], t: RouteTarget, weight: number, only: readonly string[]): { http: HttpRoute[]; matched: number } {
  let matched = 0;
  const out = http.map((r) => {
    if (r.name?.startsWith(MANAGED_ROUTE_PREFIX) === true) return r;
    if (only.length > 0 && (r.name === undefined || !only.includes(r.name))) return r;
    const dests = r.route ?? [];
    if (!dests.some((d) => hostIs(d, t.canaryService)) || !dests.some((d) => hostIs(d, t.stableService))) return r;
    matched++;
    return { ...r, route: dests.map((d) => (hostIs(d, t.canaryService) ? { ...d, weight } : hostIs(d, t.stableService) ? { ...d, weight: 100 - weight } : d)) };
  });
  return { http: out, matched };
}

export class IstioRouter implements TrafficRouter {
  readonly type = 'istio';
  private readonly deps: RouterDeps;
  private readonly services: { name: string; routes: string[] }[];

  constructor(deps: RouterDeps, services: { name: string; routes: string[] }[]) {
    this.deps = deps;
    this.services = services;
  }

  private async edit(t: RouteTarget, name: string, change: (http: HttpRoute[]) => HttpRoute[]): Promise<void> {
    const vs = await this.deps.client.get<VirtualServiceObject>(VIRTUAL_SERVICE, t.namespace, name);
    const before = vs.spec?.http ?? [];
    const after = change(before);
    if (JSON.stringify(after) === JSON.stringify(before)) return;
    await this.deps.client.jsonPatch(VIRTUAL_SERVICE, t.namespace, name, [
      { op: 'test', path: '/metadata/resourceVersion', value: vs.metadata?.resourceVersion },
      { op: 'replace', path: '/spec/http', value: after },
    ], { fieldManager: ROUTER_FIELD_MANAGER });
  }

  async setWeight(t: RouteTarget, weight: number): Promise<void> {
    for (const vs of this.services) {
      await this.edit(t, vs.name, (http) => {
        const w = weighHttp(http, t, weight, vs.routes);
        if (w.matched === 0) throw new RouterConfigError(`VirtualService ${t.namespace}/${vs.name} has no HTTP route to both ${t.stableService} and ${t.canaryService}`);
        return w.http;
      });
    }
  }

  async setHeaderRoute(t: RouteTarget, route: HeaderRoute): Promise<void> {
    const name = `${MANAGED_ROUTE_PREFIX}${route.name}`;
    for (const vs of this.services) {
      await this.edit(t, vs.name, (http) => {
        const others = http.filter((r) => r.name !== name);
        if (route.match.length === 0) return others;
        const headers: Record<string, unknown> = {};
        for (const m of route.match as { headerName?: string; headerValue?: Record<string, string> }[]) headers[m.headerName ?? ''] = m.headerValue ?? {};
        return [{ name, match: [{ headers }], route: [{ destination: { host: t.canaryService }, weight: 100 }] }, ...others];
      });
    }
  }

  async setMirrorRoute(t: RouteTarget, route: MirrorRoute): Promise<void> {
    const name = `${MANAGED_ROUTE_PREFIX}${route.name}`;
    for (const vs of this.services) {
      await this.edit(t, vs.name, (http) => {
        const others = http.filter((r) => r.name !== name);
        const base = others.find((r) => (r.route ?? []).some((d) => hostIs(d, t.stableService)));
        if (base === undefined) throw new RouterConfigError(`VirtualService ${t.namespace}/${vs.name} has no route to ${t.stableService} to mirror`);
        return [{ ...base, name, ...(route.match.length > 0 ? { match: route.match } : {}), mirror: { host: t.canaryService }, mirrorPercentage: { value: route.percentage } }, ...others];
      });
    }
  }

  async removeManagedRoutes(t: RouteTarget, names: string[]): Promise<void> {
    const ours = new Set(names.map((n) => `${MANAGED_ROUTE_PREFIX}${n}`));
    for (const vs of this.services) await this.edit(t, vs.name, (http) => http.filter((r) => !(r.name !== undefined && ours.has(r.name))));
  }

  async readWeight(t: RouteTarget): Promise<number | undefined> {
    const first = this.services[0];
    if (first === undefined) return undefined;
    const vs = await this.deps.client.get<VirtualServiceObject>(VIRTUAL_SERVICE, t.namespace, first.name);
    for (const r of vs.spec?.http ?? []) {
      if (r.name?.startsWith(MANAGED_ROUTE_PREFIX) === true) continue;
      const c = (r.route ?? []).find((d) => hostIs(d, t.canaryService));
      if (c !== undefined && (r.route ?? []).some((d) => hostIs(d, t.stableService))) return c.weight ?? 0;
    }
    return undefined;
  }
}

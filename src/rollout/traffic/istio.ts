// Istio host-split: weights on the destinations of the VirtualService's HTTP routes whose hosts are the stable and
// canary Services. Header and mirror routes are extra HTTP routes named sluice-<route>, placed first.
import { z } from 'zod';
import type { ResourceType } from '../../kube/resource.ts';
import { POD_TEMPLATE_HASH_LABEL } from '../hash.ts';
import { applyRouting, getRouting, MANAGED_ROUTE_PREFIX, extraPort, NO_EXTRA, RouterConfigError, stableShare, type ExtraDestinations, type HeaderRoute, type MirrorRoute, type RouteTarget, type RouterDeps, type TrafficRouter } from './router.ts';

export const VIRTUAL_SERVICE: ResourceType = { group: 'networking.istio.io', version: 'v1beta1', kind: 'VirtualService', plural: 'virtualservices', namespaced: true };
export const DESTINATION_RULE: ResourceType = { group: 'networking.istio.io', version: 'v1beta1', kind: 'DestinationRule', plural: 'destinationrules', namespaced: true };

export interface SubsetConfig {
  name: string;
  canarySubsetName: string;
  stableSubsetName: string;
}
// What the router reads, checked (getRouting); everything else is kept as it is.
const destinationRuleSchema = z.looseObject({
  metadata: z.looseObject({ name: z.string().optional(), resourceVersion: z.string().optional() }).optional(),
  spec: z.looseObject({ subsets: z.array(z.looseObject({ name: z.string(), labels: z.record(z.string(), z.string()).optional() })).optional() }).optional(),
});
const destinationSchema = z.looseObject({
  destination: z.looseObject({ host: z.string().optional(), subset: z.string().optional(), port: z.unknown().optional() }).optional(),
  weight: z.number().optional(),
});
const httpRouteSchema = z.looseObject({
  name: z.string().optional(),
  match: z.array(z.unknown()).optional(),
  route: z.array(destinationSchema).optional(),
  mirror: z.unknown().optional(),
  mirrorPercentage: z.unknown().optional(),
});
const virtualServiceSchema = z.looseObject({
  metadata: z.looseObject({ name: z.string().optional(), resourceVersion: z.string().optional() }).optional(),
  spec: z.looseObject({ http: z.array(httpRouteSchema).optional() }).optional(),
});
type Destination = z.infer<typeof destinationSchema>;
type HttpRoute = z.infer<typeof httpRouteSchema>;

const hostIs = (d: Destination, svc: string): boolean => {
  const h = d.destination?.host ?? '';
  return h === svc || h.startsWith(`${svc}.`);
};

/** Host split matches destinations by Service host; subset split by DestinationRule subset name. */
function matcher(t: RouteTarget, subsets: SubsetConfig | undefined): { canary: (d: Destination) => boolean; stable: (d: Destination) => boolean } {
  if (subsets !== undefined) return { canary: (d) => d.destination?.subset === subsets.canarySubsetName, stable: (d) => d.destination?.subset === subsets.stableSubsetName };
  return { canary: (d) => hostIs(d, t.canaryService), stable: (d) => hostIs(d, t.stableService) };
}

/** Pure: the HTTP routes with weights set on each named route (all, when `only` is empty) that sends to both Services. */
export function weighHttp(http: readonly HttpRoute[], t: RouteTarget, weight: number, only: readonly string[], subsets?: SubsetConfig, extra: ExtraDestinations = NO_EXTRA, where = 'VirtualService'): { http: HttpRoute[]; matched: number } {
  let matched = 0;
  const is = matcher(t, subsets);
  const stable = stableShare(where, weight, extra);
  // Extra destinations (experiment templates) are their own Services: matched by host, never by subset.
  const extraNames = [...extra.remove, ...extra.additional.map((d) => d.service)];
  const isExtra = (d: Destination): boolean => !is.canary(d) && !is.stable(d) && d.destination?.subset === undefined && extraNames.some((n) => hostIs(d, n));
  const out = http.map((r) => {
    if (r.name?.startsWith(MANAGED_ROUTE_PREFIX) === true) return r;
    if (only.length > 0 && (r.name === undefined || !only.includes(r.name))) return r;
    const dests = r.route ?? [];
    const canary = dests.find(is.canary);
    if (canary === undefined || !dests.some(is.stable)) return r;
    matched++;
    const kept = dests.filter((d) => !isExtra(d)).map((d) => (is.canary(d) ? { ...d, weight } : is.stable(d) ? { ...d, weight: stable } : d));
    const canaryPort = canary.destination?.port as { number?: number } | undefined;
    const added = extra.additional.map((d) => {
      const number = extraPort(canaryPort?.number, d.ports);
      return { destination: { host: d.service, ...(number !== undefined ? { port: { ...canaryPort, number } } : {}) }, weight: d.weight };
    });
    return { ...r, route: [...kept, ...added] };
  });
  return { http: out, matched };
}

export class IstioRouter implements TrafficRouter {
  readonly type = 'istio';
  private readonly deps: RouterDeps;
  private readonly services: { name: string; routes: string[] }[];
  private readonly subsets: SubsetConfig | undefined;

  constructor(deps: RouterDeps, services: { name: string; routes: string[] }[], subsets?: SubsetConfig) {
    this.deps = deps;
    this.services = services;
    this.subsets = subsets;
    if (subsets !== undefined) {
      this.pin = (t, role, hash) => this.pinSubset(t, role, hash);
      this.readPins = (t) => this.readSubsets(t);
    }
  }

  pin?: (t: RouteTarget, role: 'canary' | 'stable', hash: string) => Promise<void>;
  readPins?: (t: RouteTarget) => Promise<{ canary?: string; stable?: string }>;

  /** Subset split: the DestinationRule subset of a role selects the revision's pods by hash label. */
  private async pinSubset(t: RouteTarget, role: 'canary' | 'stable', hash: string): Promise<void> {
    const cfg = this.subsets;
    if (cfg === undefined) return;
    const subset = role === 'canary' ? cfg.canarySubsetName : cfg.stableSubsetName;
    const dr = await getRouting(this.deps.client, DESTINATION_RULE, t.namespace, cfg.name, destinationRuleSchema);
    const subsets = dr.spec?.subsets ?? [];
    if (!subsets.some((x) => x.name === subset)) throw new RouterConfigError(`DestinationRule ${t.namespace}/${cfg.name} has no subset ${subset}`);
    const next = subsets.map((x) => (x.name === subset ? { ...x, labels: { ...(x.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash } } : x));
    await applyRouting(this.deps.client, DESTINATION_RULE, { metadata: { name: cfg.name, namespace: t.namespace, resourceVersion: dr.metadata?.resourceVersion }, spec: { subsets: next } });
  }

  private async readSubsets(t: RouteTarget): Promise<{ canary?: string; stable?: string }> {
    const cfg = this.subsets;
    if (cfg === undefined) return {};
    const dr = await getRouting(this.deps.client, DESTINATION_RULE, t.namespace, cfg.name, destinationRuleSchema);
    const of = (n: string): string | undefined => dr.spec?.subsets?.find((x) => x.name === n)?.labels?.[POD_TEMPLATE_HASH_LABEL];
    return { canary: of(cfg.canarySubsetName), stable: of(cfg.stableSubsetName) };
  }

  private async edit(t: RouteTarget, name: string, change: (http: HttpRoute[]) => HttpRoute[]): Promise<void> {
    const vs = await getRouting(this.deps.client, VIRTUAL_SERVICE, t.namespace, name, virtualServiceSchema);
    const before = vs.spec?.http ?? [];
    const after = change(before);
    if (JSON.stringify(after) === JSON.stringify(before)) return;
    // Server-side apply of just this list, as its own manager, conditional on the version read: a GitOps sync sees
    // the field as another controller's declared intent and leaves it alone (it does not revert Apply-owned fields).
    await applyRouting(this.deps.client, VIRTUAL_SERVICE, { metadata: { name, namespace: t.namespace, resourceVersion: vs.metadata?.resourceVersion }, spec: { http: after } });
  }

  async setWeight(t: RouteTarget, weight: number, extra: ExtraDestinations = NO_EXTRA): Promise<void> {
    for (const vs of this.services) {
      await this.edit(t, vs.name, (http) => {
        const w = weighHttp(http, t, weight, vs.routes, this.subsets, extra, `VirtualService ${t.namespace}/${vs.name}`);
        if (w.matched === 0) throw new RouterConfigError(`VirtualService ${t.namespace}/${vs.name} has no HTTP route to both the stable and canary ${this.subsets ? 'subsets' : 'Services'}`);
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
        const is = matcher(t, this.subsets);
        const base = others.find((r) => r.name?.startsWith(MANAGED_ROUTE_PREFIX) !== true && (r.route ?? []).some(is.stable));
        if (base === undefined) throw new RouterConfigError(`VirtualService ${t.namespace}/${vs.name} has no route to the stable ${this.subsets ? 'subset' : 'Service'} to mirror`);
        const canaryDest = (base.route ?? []).find(is.canary)?.destination;
        const mirror = this.subsets !== undefined ? { host: canaryDest?.host ?? '', subset: this.subsets.canarySubsetName } : { host: t.canaryService };
        return [{ ...base, name, ...(route.match.length > 0 ? { match: route.match } : {}), mirror, mirrorPercentage: { value: route.percentage } }, ...others];
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
    const vs = await getRouting(this.deps.client, VIRTUAL_SERVICE, t.namespace, first.name, virtualServiceSchema);
    const is = matcher(t, this.subsets);
    for (const r of vs.spec?.http ?? []) {
      if (r.name?.startsWith(MANAGED_ROUTE_PREFIX) === true) continue;
      const c = (r.route ?? []).find(is.canary);
      if (c !== undefined && (r.route ?? []).some(is.stable)) return c.weight ?? 0;
    }
    return undefined;
  }
}

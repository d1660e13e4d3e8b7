// Gateway API: weights on the backendRefs of the HTTPRoute rules that send to the stable and canary Services;
// header routes are extra rules (named sluice-<route>) that send matching requests to the canary only.
import { z } from 'zod';
import type { ResourceType } from '../../kube/resource.ts';
import { applyRouting, getRouting, MANAGED_ROUTE_PREFIX, extraPort, NO_EXTRA, RouterConfigError, stableShare, type ExtraDestinations, type HeaderRoute, type MirrorRoute, type RouteTarget, type RouterDeps, type TrafficRouter } from './router.ts';

export const HTTP_ROUTE: ResourceType = { group: 'gateway.networking.k8s.io', version: 'v1', kind: 'HTTPRoute', plural: 'httproutes', namespaced: true };

// What the router reads, checked (getRouting); everything else is kept as it is.
const backendRefSchema = z.looseObject({ name: z.string(), port: z.number().optional(), weight: z.number().optional() });
const ruleSchema = z.looseObject({
  name: z.string().optional(),
  matches: z.array(z.unknown()).optional(),
  backendRefs: z.array(backendRefSchema).optional(),
  filters: z.array(z.unknown()).optional(),
});
const httpRouteSchema = z.looseObject({
  metadata: z.looseObject({ name: z.string().optional(), resourceVersion: z.string().optional() }).optional(),
  spec: z.looseObject({ rules: z.array(ruleSchema).optional() }).optional(),
});
type Rule = z.infer<typeof ruleSchema>;

/**
 * Pure: the rules with weights set on every rule that routes to both Services; extra destinations are backendRefs on
 * the canary's port, added or re-weighted, and the removed ones dropped.
 */
export function weighRules(rules: readonly Rule[], t: RouteTarget, weight: number, extra: ExtraDestinations = NO_EXTRA, where = 'HTTPRoute'): { rules: Rule[]; matched: number } {
  let matched = 0;
  const stable = stableShare(where, weight, extra);
  const extraNames = new Set([...extra.remove, ...extra.additional.map((d) => d.service)].filter((n) => n !== t.canaryService && n !== t.stableService));
  const out = rules.map((r) => {
    const refs = r.backendRefs ?? [];
    if (r.name?.startsWith(MANAGED_ROUTE_PREFIX) === true) return r;
    const canary = refs.find((b) => b.name === t.canaryService);
    const hasStable = refs.some((b) => b.name === t.stableService);
    if (canary === undefined || !hasStable) return r;
    matched++;
    const kept = refs.filter((b) => !extraNames.has(b.name)).map((b) => (b.name === t.canaryService ? { ...b, weight } : b.name === t.stableService ? { ...b, weight: stable } : b));
    const added = extra.additional.map((d) => {
      const port = extraPort(canary.port, d.ports);
      return { name: d.service, ...(port !== undefined ? { port } : {}), weight: d.weight };
    });
    return { ...r, backendRefs: [...kept, ...added] };
  });
  return { rules: out, matched };
}

export class GatewayApiRouter implements TrafficRouter {
  readonly type = 'gatewayAPI';
  private readonly deps: RouterDeps;
  private readonly routes: string[];

  constructor(deps: RouterDeps, routes: string[]) {
    this.deps = deps;
    this.routes = routes;
  }

  private async edit(t: RouteTarget, name: string, change: (rules: Rule[]) => Rule[]): Promise<void> {
    const route = await getRouting(this.deps.client, HTTP_ROUTE, t.namespace, name, httpRouteSchema);
    const before = route.spec?.rules ?? [];
    const after = change(before);
    if (JSON.stringify(after) === JSON.stringify(before)) return;
    // Conditional on what we read: a concurrent writer (a GitOps sync) makes this fail and the reconcile retry.
    // Server-side apply of just this list, as its own manager, conditional on the version read: a GitOps sync sees
    // the field as another controller's declared intent and leaves it alone (it does not revert Apply-owned fields).
    await applyRouting(this.deps.client, HTTP_ROUTE, { metadata: { name, namespace: t.namespace, resourceVersion: route.metadata?.resourceVersion }, spec: { rules: after } });
  }

  async setWeight(t: RouteTarget, weight: number, extra: ExtraDestinations = NO_EXTRA): Promise<void> {
    for (const name of this.routes) {
      await this.edit(t, name, (rules) => {
        const w = weighRules(rules, t, weight, extra, `HTTPRoute ${t.namespace}/${name}`);
        if (w.matched === 0) throw new RouterConfigError(`HTTPRoute ${t.namespace}/${name} has no rule with backendRefs to both ${t.stableService} and ${t.canaryService}`);
        return w.rules;
      });
    }
  }

  async setHeaderRoute(t: RouteTarget, route: HeaderRoute): Promise<void> {
    const ruleName = `${MANAGED_ROUTE_PREFIX}${route.name}`;
    for (const name of this.routes) {
      await this.edit(t, name, (rules) => {
        const others = rules.filter((r) => r.name !== ruleName);
        if (route.match.length === 0) return others; // an empty match removes the route, as in Argo
        const template = rules.find((r) => (r.backendRefs ?? []).some((b) => b.name === t.canaryService));
        const port = template?.backendRefs?.find((b) => b.name === t.canaryService)?.port;
        const headers = route.match.map((m) => headerMatch(m));
        const rule: Rule = { name: ruleName, matches: [{ headers }], backendRefs: [{ name: t.canaryService, ...(port !== undefined ? { port } : {}), weight: 100 }] };
        return [rule, ...others];
      });
    }
  }

  async setMirrorRoute(t: RouteTarget, route: MirrorRoute): Promise<void> {
    const ruleName = `${MANAGED_ROUTE_PREFIX}${route.name}`;
    for (const name of this.routes) {
      await this.edit(t, name, (rules) => {
        const others = rules.filter((r) => r.name !== ruleName);
        const base = others.find((r) => (r.backendRefs ?? []).some((b) => b.name === t.stableService));
        if (base === undefined) throw new RouterConfigError(`HTTPRoute ${t.namespace}/${name} has no rule to ${t.stableService} to mirror`);
        const port = base.backendRefs?.find((b) => b.name === t.canaryService)?.port;
        const rule: Rule = {
          ...base,
          name: ruleName,
          filters: [...(base.filters ?? []), { type: 'RequestMirror', requestMirror: { backendRef: { name: t.canaryService, ...(port !== undefined ? { port } : {}) }, percent: route.percentage } }],
        };
        return [rule, ...others];
      });
    }
  }

  async removeManagedRoutes(t: RouteTarget, names: string[]): Promise<void> {
    const ours = new Set(names.map((n) => `${MANAGED_ROUTE_PREFIX}${n}`));
    for (const name of this.routes) await this.edit(t, name, (rules) => rules.filter((r) => !(r.name !== undefined && ours.has(r.name))));
  }

  async readWeight(t: RouteTarget): Promise<number | undefined> {
    const name = this.routes[0];
    if (name === undefined) return undefined;
    const route = await getRouting(this.deps.client, HTTP_ROUTE, t.namespace, name, httpRouteSchema);
    for (const r of route.spec?.rules ?? []) {
      if (r.name?.startsWith(MANAGED_ROUTE_PREFIX) === true) continue;
      const c = r.backendRefs?.find((b) => b.name === t.canaryService);
      if (c !== undefined && r.backendRefs?.some((b) => b.name === t.stableService) === true) return c.weight ?? 1;
    }
    return undefined;
  }
}

function headerMatch(m: unknown): { name: string; type: string; value: string } {
  const x = m as { headerName?: string; headerValue?: { exact?: string; regex?: string; prefix?: string } };
  const v = x.headerValue ?? {};
  if (v.regex !== undefined) return { name: x.headerName ?? '', type: 'RegularExpression', value: v.regex };
  if (v.prefix !== undefined) return { name: x.headerName ?? '', type: 'RegularExpression', value: `^${v.prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*` };
  return { name: x.headerName ?? '', type: 'Exact', value: v.exact ?? '' };
}

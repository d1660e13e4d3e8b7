// NGINX Ingress: a canary Ingress of our own (a copy of the stable Ingress's rules sent to the canary Service, with
// canary annotations); the stable Ingress is never touched. Header routes use canary-by-header on that Ingress.
import type { KubeObject } from '../../kube/client.ts';
import { isNotFound } from '../../kube/errors.ts';
import type { ResourceType } from '../../kube/resource.ts';
import { applyRouting, NO_EXTRA, RouterConfigError, type ExtraDestinations, type HeaderRoute, type MirrorRoute, type RouteTarget, type RouterDeps, type TrafficRouter } from './router.ts';

export const INGRESS: ResourceType = { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress', plural: 'ingresses', namespaced: true };

type IngressObject = KubeObject & { spec?: { ingressClassName?: string; rules?: { host?: string; http?: { paths?: { backend?: { service?: { name?: string } } }[] } }[]; tls?: unknown[] } };

export const canaryIngressName = (rollout: string, stable: string): string => `${rollout}-${stable}-canary`.slice(0, 253);

/** Pure: the canary Ingress for a stable one: same hosts and paths, backends swapped to the canary Service. */
export function canaryIngress(stable: IngressObject, t: RouteTarget, prefix: string, annotations: Record<string, string>, owner: { uid: string } | undefined): IngressObject {
  const rules = (stable.spec?.rules ?? []).map((r) => ({
    ...r,
    http: {
      ...r.http,
      paths: (r.http?.paths ?? []).map((p) => (p.backend?.service?.name === t.stableService ? { ...p, backend: { ...p.backend, service: { ...p.backend.service, name: t.canaryService } } } : p)),
    },
  }));
  if (!rules.some((r) => r.http.paths.some((p) => p.backend?.service?.name === t.canaryService))) {
    throw new RouterConfigError(`Ingress ${t.namespace}/${stable.metadata?.name ?? ''} has no path to ${t.stableService}`);
  }
  return {
    metadata: {
      name: canaryIngressName(t.rollout, stable.metadata?.name ?? ''),
      namespace: t.namespace,
      annotations: { ...annotations, [`${prefix}/canary`]: 'true' },
      ...(owner !== undefined ? { ownerReferences: [{ apiVersion: 'sluice.dev/v1alpha1', kind: 'Rollout', name: t.rollout, uid: owner.uid, controller: true, blockOwnerDeletion: true }] } : {}),
    },
    spec: { ...(stable.spec?.ingressClassName !== undefined ? { ingressClassName: stable.spec.ingressClassName } : {}), rules },
  };
}

export class NginxRouter implements TrafficRouter {
  readonly type = 'nginx';
  private readonly deps: RouterDeps;
  private readonly stableIngresses: string[];
  private readonly prefix: string;
  private readonly extra: Record<string, string>;
  private readonly owner: { uid: string } | undefined;

  constructor(deps: RouterDeps, o: { stableIngresses: string[]; annotationPrefix?: string; additionalIngressAnnotations?: Record<string, string>; ownerUid?: string }) {
    this.deps = deps;
    this.stableIngresses = o.stableIngresses;
    this.prefix = o.annotationPrefix ?? 'nginx.ingress.kubernetes.io';
    this.extra = o.additionalIngressAnnotations ?? {};
    this.owner = o.ownerUid !== undefined ? { uid: o.ownerUid } : undefined;
  }

  /** Applies the canary Ingress (the whole object is ours) with the given canary annotations. */
  private async applyCanary(t: RouteTarget, annotations: Record<string, string>): Promise<void> {
    for (const name of this.stableIngresses) {
      const stable = await this.deps.client.get<IngressObject>(INGRESS, t.namespace, name);
      const extra = Object.fromEntries(Object.entries(this.extra).map(([k, v]) => [`${this.prefix}/${k}`, v]));
      await applyRouting(this.deps.client, INGRESS, canaryIngress(stable, t, this.prefix, { ...extra, ...annotations }, this.owner));
    }
  }

  private async annotate(t: RouteTarget, change: Record<string, string | undefined>): Promise<void> {
    // Read fresh: the router object is rebuilt every reconcile, and another replica may have written since.
    const next = { ...(await this.readAnnotations(t)) };
    for (const [k, v] of Object.entries(change)) {
      if (v === undefined) delete next[`${this.prefix}/${k}`];
      else next[`${this.prefix}/${k}`] = v;
    }
    await this.applyCanary(t, next);
  }

  private async readAnnotations(t: RouteTarget): Promise<Record<string, string>> {
    const first = this.stableIngresses[0];
    if (first === undefined) return {};
    try {
      const c = await this.deps.client.get<IngressObject>(INGRESS, t.namespace, canaryIngressName(t.rollout, first));
      return Object.fromEntries(Object.entries(c.metadata?.annotations ?? {}).filter(([k]) => k.startsWith(`${this.prefix}/canary-`)));
    } catch (err) {
      if (isNotFound(err)) return {};
      throw err;
    }
  }

  async setWeight(t: RouteTarget, weight: number, extra: ExtraDestinations = NO_EXTRA): Promise<void> {
    // ingress-nginx splits between one canary Ingress and its main one: no third Service (validation says so too).
    if (extra.additional.length > 0) throw new RouterConfigError(`NGINX Ingress cannot send traffic to experiment Services (${extra.additional.map((d) => d.service).join(', ')}): it splits between two Services only`);
    const current = await this.readWeight(t);
    if (current === weight) return;
    if (weight === 0 && current === undefined) return; // nothing to route yet, nothing to create
    await this.annotate(t, { 'canary-weight': String(weight) });
  }

  async setHeaderRoute(t: RouteTarget, route: HeaderRoute): Promise<void> {
    const m = route.match[0] as { headerName?: string; headerValue?: { exact?: string; regex?: string; prefix?: string } } | undefined;
    if (m === undefined) {
      await this.annotate(t, { 'canary-by-header': undefined, 'canary-by-header-value': undefined, 'canary-by-header-pattern': undefined });
      return;
    }
    const v = m.headerValue ?? {};
    await this.annotate(t, {
      'canary-by-header': m.headerName ?? '',
      'canary-by-header-value': v.exact,
      'canary-by-header-pattern': v.regex ?? (v.prefix !== undefined ? `^${v.prefix}.*` : undefined),
    });
  }

  setMirrorRoute(t: RouteTarget, route: MirrorRoute): Promise<void> {
    return Promise.reject(new RouterConfigError(`NGINX Ingress cannot mirror traffic (route ${route.name} of ${t.namespace}/${t.rollout}); use Istio or the Gateway API`));
  }

  async removeManagedRoutes(t: RouteTarget): Promise<void> {
    if ((await this.readWeight(t)) === undefined) return;
    await this.annotate(t, { 'canary-by-header': undefined, 'canary-by-header-value': undefined, 'canary-by-header-pattern': undefined });
  }

  /** Removes the canary Ingress at the end of a rollout: nothing stays routed to the canary Service. */
  async cleanup(t: RouteTarget): Promise<void> {
    for (const name of this.stableIngresses) {
      try {
        await this.deps.client.delete(INGRESS, t.namespace, canaryIngressName(t.rollout, name));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  async readWeight(t: RouteTarget): Promise<number | undefined> {
    const a = await this.readAnnotations(t);
    const w = a[`${this.prefix}/canary-weight`];
    return w === undefined ? undefined : Number(w);
  }
}

// Data-plane EMULATOR, pure part: what a mesh would do with the objects in the apiserver. Reads an Istio
// VirtualService's weights, the Services' selectors and the ReplicaSets' pod templates, and answers "which revision
// serves a request, and what does that revision run". No I/O here; emulator.ts polls the apiserver and calls these.
import { z } from 'zod';

const envVar = z.looseObject({ name: z.string(), value: z.string().optional() });
const container = z.looseObject({ name: z.string().optional(), image: z.string().optional(), env: z.array(envVar).optional() });

export const replicaSetShape = z.looseObject({
  metadata: z.looseObject({ name: z.string(), labels: z.record(z.string(), z.string()).optional() }),
  spec: z.looseObject({
    replicas: z.number().optional(),
    template: z.looseObject({
      metadata: z.looseObject({ labels: z.record(z.string(), z.string()).optional() }).optional(),
      spec: z.looseObject({ containers: z.array(container).optional() }).optional(),
    }).optional(),
  }).optional(),
  status: z.looseObject({ readyReplicas: z.number().optional() }).optional(),
});
export type ReplicaSetShape = z.infer<typeof replicaSetShape>;

export const serviceShape = z.looseObject({
  metadata: z.looseObject({ name: z.string() }),
  spec: z.looseObject({ selector: z.record(z.string(), z.string()).optional() }).optional(),
});
export type ServiceShape = z.infer<typeof serviceShape>;

const destination = z.looseObject({ destination: z.looseObject({ host: z.string().optional() }).optional(), weight: z.number().optional() });
export const virtualServiceShape = z.looseObject({
  metadata: z.looseObject({ name: z.string() }),
  spec: z.looseObject({ http: z.array(z.looseObject({ name: z.string().optional(), route: z.array(destination).optional() })).optional() }).optional(),
});
export type VirtualServiceShape = z.infer<typeof virtualServiceShape>;

/** One revision as the emulator runs it: a ReplicaSet with ready pods becomes one demo-app process. */
export interface Revision {
  replicaSet: string;
  /** The template's labels: Services select revisions by them. */
  labels: Record<string, string>;
  image: string;
  /** The image tag: what a build would bake in as VERSION. */
  version: string;
  /** The first container's literal env (valueFrom entries are not emulated). */
  env: Record<string, string>;
}

/** The ReplicaSets with at least one ready pod (kwok makes scheduled pods Ready), as revisions to run. */
export function readyRevisions(replicaSets: readonly ReplicaSetShape[]): Revision[] {
  return replicaSets
    .filter((rs) => (rs.status?.readyReplicas ?? 0) > 0 && (rs.spec?.replicas ?? 0) > 0)
    .map((rs) => {
      const c = rs.spec?.template?.spec?.containers?.[0];
      const image = c?.image ?? '';
      const tag = /:([^:/@]+)$/.exec(image)?.[1] ?? 'latest';
      const env = Object.fromEntries((c?.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value ?? '']));
      return { replicaSet: rs.metadata.name, labels: rs.spec?.template?.metadata?.labels ?? {}, image, version: tag, env };
    });
}

/** A route destination resolved: the Service, its weight, and the revisions its selector picks. */
export interface Backend {
  service: string;
  weight: number;
  replicaSets: string[];
}

const serviceOfHost = (host: string): string => host.split('.')[0] ?? host;

const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>): boolean =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/**
 * The weighted destinations of the named HTTP route (the first one when `route` is undefined), each resolved to the
 * running revisions its Service selects. A destination without a weight gets 100 when it is alone, else 0 (Istio's
 * rule); a Service that is missing or selects no running revision has no replicaSets ("no healthy upstream").
 */
export function backends(vs: VirtualServiceShape | undefined, route: string | undefined, services: readonly ServiceShape[], running: readonly Revision[]): Backend[] {
  const http = vs?.spec?.http ?? [];
  const r = route === undefined ? http[0] : http.find((h) => h.name === route);
  const dests = r?.route ?? [];
  return dests.map((d) => {
    const service = serviceOfHost(d.destination?.host ?? '');
    const selector = services.find((s) => s.metadata.name === service)?.spec?.selector;
    return {
      service,
      weight: d.weight ?? (dests.length === 1 ? 100 : 0),
      replicaSets: running.filter((rev) => selects(selector, rev.labels)).map((rev) => rev.replicaSet),
    };
  });
}

/**
 * Smooth weighted round robin (as nginx does it): over any run of `sum(weights)` picks each key is chosen exactly
 * `weight` times, evenly spread, so a 20% weight is 20% of the requests, not 20% on average.
 */
export class WeightedPicker {
  private current = new Map<string, number>();

  pick(weights: readonly { key: string; weight: number }[]): string | undefined {
    const live = weights.filter((w) => w.weight > 0);
    if (live.length === 0) return undefined;
    const total = live.reduce((s, w) => s + w.weight, 0);
    let best: { key: string; score: number } | undefined;
    const next = new Map<string, number>();
    for (const w of live) {
      const score = (this.current.get(w.key) ?? 0) + w.weight;
      next.set(w.key, score);
      if (best === undefined || score > best.score) best = { key: w.key, score };
    }
    if (best === undefined) return undefined;
    next.set(best.key, best.score - total);
    this.current = next;
    return best.key;
  }
}

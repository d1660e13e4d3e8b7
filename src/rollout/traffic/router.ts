// One interface for every traffic router (DESIGN: ports and adapters). A router changes only what it owns in the
// objects it is pointed at, conditionally on what it read, so a GitOps sync of the same object does not fight it.
import type { z } from 'zod';
import type { KubeClient, KubeObject } from '../../kube/client.ts';
import { KubeApiError } from '../../kube/errors.ts';
import type { ResourceType } from '../../kube/resource.ts';

export interface RouteTarget {
  namespace: string;
  rollout: string;
  canaryService: string;
  stableService: string;
}

export interface HeaderRoute {
  name: string;
  match: unknown[];
}

export interface MirrorRoute {
  name: string;
  percentage: number;
  match: unknown[];
}

/** Services beside the canary and the stable (an experiment step's templates): who gets a share now, who no longer. */
export interface ExtraDestinations {
  additional: { service: string; weight: number; ports?: number[] }[];
  remove: string[];
}

/**
 * The port a backend reference to an extra Service uses: the canary's, when that Service exposes it (or its ports are
 * unknown); otherwise the Service's first port (an experiment Service exposes its containers' ports).
 */
export function extraPort(canaryPort: number | undefined, ports: readonly number[] | undefined): number | undefined {
  if (ports === undefined || ports.length === 0 || (canaryPort !== undefined && ports.includes(canaryPort))) return canaryPort;
  return ports[0];
}

export const NO_EXTRA: ExtraDestinations = { additional: [], remove: [] };

/** The stable's share once the canary and the extra destinations have theirs; more than 100 in all is refused. */
export function stableShare(where: string, weight: number, extra: ExtraDestinations): number {
  const rest = 100 - weight - extra.additional.reduce((sum, d) => sum + d.weight, 0);
  if (rest < 0) throw new RouterConfigError(`${where}: the canary's weight ${weight} and the experiment templates' ${extra.additional.map((d) => `${d.service}=${d.weight}`).join(', ')} add up to more than 100`);
  return rest;
}

export interface TrafficRouter {
  readonly type: string;
  /**
   * Sends `weight` percent to the canary Service, each extra destination its weight (adding it to the rules that
   * route to both), drops the removed ones, and gives the rest to the stable Service.
   */
  setWeight(t: RouteTarget, weight: number, extra?: ExtraDestinations): Promise<void>;
  setHeaderRoute(t: RouteTarget, route: HeaderRoute): Promise<void>;
  setMirrorRoute(t: RouteTarget, route: MirrorRoute): Promise<void>;
  /** Removes every header and mirror route this router added (abort, promotion). */
  removeManagedRoutes(t: RouteTarget, names: string[]): Promise<void>;
  /** After promotion: removes objects that exist only for a canary (optional; most routers edit shared objects). */
  cleanup?(t: RouteTarget): Promise<void>;
  /**
   * Routers that split by revision themselves (Istio DestinationRule subsets) pin each role to a revision hash
   * here instead of through Service selectors; `readPins` tells where each role points now.
   */
  pin?(t: RouteTarget, role: 'canary' | 'stable', hash: string): Promise<void>;
  readPins?(t: RouteTarget): Promise<{ canary?: string; stable?: string }>;
  /** The canary weight the routing object holds now, read back; undefined when it has no such object yet. */
  readWeight(t: RouteTarget): Promise<number | undefined>;
}

/** Raised when a routing object the Rollout names does not exist or does not route to its Services. */
export class RouterConfigError extends Error {
  override readonly name = 'RouterConfigError';
}

/**
 * Reads a routing object and checks the parts a router uses against `schema`: a malformed one (a CRD without a
 * structural schema lets anything through) is a RouterConfigError naming the field, never a TypeError mid-edit.
 */
export async function getRouting<T extends KubeObject>(client: KubeClient, rt: ResourceType, namespace: string, name: string, schema: z.ZodType<T>): Promise<T> {
  const raw = await client.get<KubeObject>(rt, namespace, name);
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = (issue?.path ?? []).map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  throw new RouterConfigError(`${rt.kind} ${namespace}/${name}: ${field}: ${issue?.message ?? 'invalid'}`);
}

export const ROUTER_FIELD_MANAGER = 'sluice-rollout';

/**
 * Server-side applies a router's edit as its own field manager. A write the kind's schema refuses (the upstream
 * CRDs' OpenAPI and CEL rules, or a built-in kind's validation) is the user's routing object at fault, not a
 * transient error: a RouterConfigError naming the field the apiserver names.
 */
export async function applyRouting(client: KubeClient, rt: ResourceType, obj: KubeObject): Promise<void> {
  try {
    await client.apply(rt, obj, ROUTER_FIELD_MANAGER, { force: true });
  } catch (err) {
    if (!(err instanceof KubeApiError) || err.kind !== 'Invalid') throw err;
    const where = `${rt.kind} ${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    const causes = err.causes.map((c) => `${c.field ?? '(object)'}: ${c.message ?? 'invalid'}`);
    throw new RouterConfigError(`${where}: the apiserver refused the router's write: ${causes.length > 0 ? causes.join('; ') : err.message}`, { cause: err });
  }
}
export const MANAGED_ROUTE_PREFIX = 'sluice-';

export interface RouterDeps {
  client: KubeClient;
}

// What the sharded GitOps tests check on Applications and their managed objects (src/gitops/sharded*.int.test.ts).
import type { ApplicationStatus } from '../../src/api/application/schema.ts';
import type { KubeObject } from '../../src/kube/client.ts';
import { TRACKING_ANNOTATION } from '../../src/gitops/plan/plan.ts';
import { OWNER_LABEL } from '../../src/runtime/sharding/decide.ts';

export type App = KubeObject & { status?: ApplicationStatus };

export const ownerOf = (o: KubeObject): string | undefined => o.metadata?.labels?.[OWNER_LABEL];

/** Every managed object carries the owner label of the app its tracking id names. */
export function objectsFollowApps(apps: App[], objects: KubeObject[]): boolean {
  const owners = new Map(apps.map((a) => [`${a.metadata?.namespace}/${a.metadata?.name}`, ownerOf(a)]));
  return objects.every((m) => owners.get((m.metadata?.annotations?.[TRACKING_ANNOTATION] ?? '').split(':')[0] ?? '') === ownerOf(m));
}

/** Each object's uid by name: a deleted and recreated object shows as a changed uid. */
export const uidsOf = (objects: KubeObject[]): Map<string, string | undefined> => new Map(objects.map((m) => [m.metadata?.name ?? '', m.metadata?.uid]));

/** When each app's last sync operation started. */
export const syncStarts = (apps: App[]): Map<string, string | undefined> => new Map(apps.map((a) => [a.metadata?.name ?? '', a.status?.operationState?.startedAt]));

/** Which of `names` ran a sync operation since `before` (syncStarts). */
export const resyncedSince = (apps: App[], before: Map<string, string | undefined>, names: string[]): (string | undefined)[] =>
  apps.filter((a) => names.includes(a.metadata?.name ?? '') && a.status?.operationState?.startedAt !== before.get(a.metadata?.name ?? '')).map((a) => a.metadata?.name);

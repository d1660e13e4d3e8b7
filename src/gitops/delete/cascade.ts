// Cascade deletion: an Application deleted while it carries Argo CD's resources finalizer takes the objects it
// tracks with it; the finalizer goes only once they are gone. Without the finalizer the apiserver removes the
// Application at once and its objects stay (nothing here runs).
//
// Only an object whose live tracking annotation is this Application's id for that very object is deleted (the same
// rule as prune, DESIGN invariant 6): an object with the same labels but no (or another) tracking id stays.
import type { KubeClient, KubeObject } from '../../kube/client.ts';
import type { Discovery } from '../../kube/discovery.ts';
import { isNotFound } from '../../kube/errors.ts';
import { plan, refKey, refString, splitApiVersion, syncOptions, TRACKING_ANNOTATION, trackingId, type AppId, type ObjectRef } from '../plan/plan.ts';

/** Argo CD's finalizer names: the bare one and `/foreground` delete in the foreground, `/background` in the background. */
export const RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';
const VARIANTS: Record<string, 'Foreground' | 'Background'> = {
  [RESOURCES_FINALIZER]: 'Foreground',
  [`${RESOURCES_FINALIZER}/foreground`]: 'Foreground',
  [`${RESOURCES_FINALIZER}/background`]: 'Background',
};

/** The resources finalizer an Application carries, if any. Pure. */
export function cascadeFinalizer(finalizers: readonly string[] | undefined): { name: string; propagation: 'Foreground' | 'Background' } | undefined {
  const name = (finalizers ?? []).find((f) => VARIANTS[f] !== undefined);
  return name === undefined ? undefined : { name, propagation: VARIANTS[name] ?? 'Foreground' };
}

/** The ref a live object would have in this Application's inventory (its tracking id is checked against it). */
export function refOfLive(obj: KubeObject): ObjectRef {
  const { group, version } = splitApiVersion(obj.apiVersion ?? 'v1');
  return { group, version, kind: obj.kind ?? '', namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' };
}

export interface CascadeResult {
  /** Delete requests sent in this pass. */
  deleted: number;
  /** Tracked objects that still exist (being deleted, or just asked to): the finalizer stays until none remain. */
  remaining: ObjectRef[];
  /** Objects kept on purpose (`Delete=false`). */
  kept: ObjectRef[];
  failed: { ref: ObjectRef; message: string }[];
}

/**
 * One pass: deletes, in reverse sync order (last wave first, Namespaces and CRDs last), every candidate that still
 * carries this Application's tracking id. Candidates are the inventory (status.resources) plus objects the
 * label-selected watches hold with this app's tracking id (applied but not yet in status when the app was deleted).
 */
export async function cascadeDelete(
  deps: { client: KubeClient; discovery: Discovery },
  app: AppId,
  candidates: ObjectRef[],
  propagation: 'Foreground' | 'Background',
): Promise<CascadeResult> {
  const unique = [...new Map(candidates.map((r) => [refKey(r), r])).values()];
  const ordered = plan({ app, destinationNamespace: undefined, rendered: { ok: true, manifests: [] }, namespaced: () => true, inventory: unique, prune: true, allowEmpty: true }).prune;
  const out: CascadeResult = { deleted: 0, remaining: [], kept: [], failed: [] };
  for (const ref of ordered) {
    const apiVersion = ref.group === '' ? (ref.version ?? 'v1') : `${ref.group}/${ref.version ?? 'v1'}`;
    try {
      const rt = await deps.discovery.resolve(apiVersion, ref.kind);
      if (rt === undefined) continue; // the kind is no longer served: nothing of it can exist
      const ns = rt.namespaced ? ref.namespace : undefined;
      let live: KubeObject;
      try {
        live = await deps.client.get<KubeObject>(rt, ns, ref.name);
      } catch (err) {
        if (isNotFound(err)) continue;
        throw err;
      }
      if (live.metadata?.annotations?.[TRACKING_ANNOTATION] !== trackingId(app, ref)) continue; // not ours (any more)
      if (syncOptions(live.metadata?.annotations).get('Delete') === 'false') {
        out.kept.push(ref);
        continue;
      }
      if (live.metadata?.deletionTimestamp === undefined) {
        await deps.client.delete(rt, ns, ref.name, { propagationPolicy: propagation, uid: live.metadata?.uid });
        out.deleted++;
      }
      out.remaining.push(ref);
    } catch (err) {
      if (isNotFound(err)) continue;
      out.failed.push({ ref, message: `${refString(ref)}: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  return out;
}

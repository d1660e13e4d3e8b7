// The compare stage of a reconcile: every planned object against the cluster. An object found in sync before, with
// the same manifest fingerprint and no change since but status or other managers' labels/annotations, needs no
// dry-run; otherwise a server-side dry-run apply says whether applying would change it.
import type { IgnoreDifference } from '../api/application/ignore.ts';
import type { KubeObject } from '../kube/client.ts';
import { isNotFound, KubeApiError } from '../kube/errors.ts';
import type { ResourceType } from '../kube/resource.ts';
import { applyManifest, isPermanentApplyError, type ApplyOutcome } from './apply/apply.ts';
import { drifted, fingerprint, liveState, unchangedSince } from './diff/drift.ts';
import { needsManagedFields, respectIgnored, rulesFor } from './diff/ignore.ts';
import { assessHealth } from './health/health.ts';
import { refKey, type ObjectRef, type PlannedObject } from './plan/plan.ts';
import type { AppMemory, Compared, SyncDeps } from './sync-shared.ts';

/** How long a compare waits for a just-opened watch of a managed kind to list, before asking object by object. */
const WATCH_SYNC_WAIT_MS = 10_000;

/** Compares every planned object, after making sure the controller watches their kinds. */
export async function compareAll(d: SyncDeps, objects: PlannedObject[], memory: AppMemory, ignore: IgnoreDifference[]): Promise<Compared[]> {
  const rts = await resolveKinds(d, objects);
  const kinds = [...new Map(rts.filter((r): r is ResourceType => r !== undefined).map((r) => [`${r.group}/${r.plural}`, r])).values()];
  d.onKinds?.(kinds);
  await d.waitForWatches?.(kinds, WATCH_SYNC_WAIT_MS);
  return Promise.all(objects.map((o, i) => compare(d, o, rts[i], memory, rulesFor(ignore, o.ref))));
}

/** Each object's resource type, one discovery lookup per kind. */
function resolveKinds(d: SyncDeps, objects: PlannedObject[]): Promise<(ResourceType | undefined)[]> {
  const byKind = new Map<string, Promise<ResourceType | undefined>>();
  return Promise.all(
    objects.map((o) => {
      const k = `${o.manifest.apiVersion} ${o.manifest.kind}`;
      let r = byKind.get(k);
      if (r === undefined) byKind.set(k, (r = d.discovery.resolve(o.manifest.apiVersion, o.manifest.kind)));
      return r;
    }),
  );
}

async function compare(d: SyncDeps, obj: PlannedObject, rt: ResourceType | undefined, memory: AppMemory, rules: IgnoreDifference[]): Promise<Compared> {
  if (rt === undefined) return { obj, rt, live: undefined, synced: false, health: { status: 'Missing' }, message: 'kind not served yet' };
  const key = refKey(obj.ref);
  const seen = memory.inSync.get(key);
  // The watch caches drop managedFields: rules naming managers need the object from the apiserver. A watch miss
  // is taken as it is (absent or not labelled: applying changes it either way) unless the live object matters
  // beyond that: ignoreDifferences adopts its values, and an object found in sync before may only lag the watch.
  const live = await getLive(d, rt, obj.ref, needsManagedFields(rules), rules.length === 0 && seen === undefined);
  if (live === undefined) return { obj, rt, live, synced: false, health: { status: 'Missing' } };
  const manifest = respectIgnored<KubeObject>(obj.manifest, live, rules);
  const fp = fingerprint(manifest);
  const rv = live.metadata?.resourceVersion ?? '';
  // The manifest found in sync before, on an object whose content did not change since (status, a controller's
  // annotation): no dry-run needed.
  if (seen !== undefined && seen.fp === fp && (seen.rv === rv || unchangedSince(seen.state, manifest, live))) {
    seen.rv = rv;
    return { obj, rt, live, synced: true, health: assessHealth(live), manifest };
  }
  let outcome: ApplyOutcome;
  try {
    outcome = await applyManifest(d.client, rt, manifest, { dryRun: true });
  } catch (err) {
    if (!isPermanentApplyError(err)) throw err;
    return { obj, rt, live, synced: false, health: assessHealth(live), message: (err as Error).message, manifest };
  }
  const synced = !drifted(live, outcome.object, rules);
  if (synced) memory.inSync.set(key, { rv, fp, state: liveState(live) });
  else memory.inSync.delete(key);
  return { obj, rt, live, synced, health: assessHealth(live), manifest };
}

/** The live object, from the watch cache when it has it; undefined when it does not exist. */
export async function getLive(d: SyncDeps, rt: ResourceType, ref: ObjectRef, withManagedFields = false, missMeansAbsent = false): Promise<KubeObject | undefined> {
  // A watched copy makes a quiet app cost no requests; a miss may be an object not labelled yet, so ask.
  const cached = withManagedFields || d.liveFromCache === undefined ? 'unknown' : d.liveFromCache(rt, ref.namespace, ref.name);
  if (cached !== undefined && cached !== 'unknown') return cached;
  if (cached === undefined && missMeansAbsent) return undefined;
  try {
    return await d.client.get<KubeObject>(rt, ref.namespace === '' ? undefined : ref.namespace, ref.name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** An object's resource type; a kind the server does not serve is a NotFound. */
export async function resolveRef(d: SyncDeps, o: PlannedObject): Promise<ResourceType> {
  const rt = await d.discovery.resolve(o.manifest.apiVersion, o.manifest.kind);
  if (rt === undefined) throw new KubeApiError({ kind: 'NotFound', status: 404, message: `${o.manifest.kind} not served` });
  return rt;
}

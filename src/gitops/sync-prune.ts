// The prune stage of a sync: inventoried objects that left Git, deleted only when they still carry this app's
// tracking id and allow it (plan.ts pruneVerdict).
import { isNotFound } from '../kube/errors.ts';
import { pruneVerdict, refKey, type AppId, type ObjectRef } from './plan/plan.ts';
import { getLive } from './sync-compare.ts';
import { refFields, type AppMemory, type SyncDeps, type SyncResultResource } from './sync-shared.ts';

/** Deletes `refs` in order (reverse wave order), adding a result each. A failed delete is returned, to stay tracked. */
export async function pruneAll(d: SyncDeps, app: AppId, refs: ObjectRef[], memory: AppMemory, results: SyncResultResource[]): Promise<{ pruned: number; failedPrunes: ObjectRef[] }> {
  const failedPrunes: ObjectRef[] = [];
  let pruned = 0;
  for (const ref of refs) {
    const apiVersion = ref.group === '' ? (ref.version ?? 'v1') : `${ref.group}/${ref.version ?? 'v1'}`;
    const rt = await d.discovery.resolve(apiVersion, ref.kind);
    if (rt === undefined) {
      results.push({ ...refFields(ref), status: 'PruneSkipped', message: 'kind no longer served' });
      continue;
    }
    const live = await getLive(d, rt, ref);
    const verdict = pruneVerdict(app, ref, live);
    if (!verdict.delete) {
      results.push({ ...refFields(ref), status: 'PruneSkipped', message: verdict.reason });
      continue;
    }
    try {
      await d.client.delete(rt, ref.namespace === '' ? undefined : ref.namespace, ref.name, { propagationPolicy: 'Background', uid: live?.metadata?.uid });
      pruned++;
      memory.inSync.delete(refKey(ref));
      results.push({ ...refFields(ref), status: 'Pruned', message: 'pruned' });
    } catch (err) {
      if (isNotFound(err)) continue;
      failedPrunes.push(ref);
      results.push({ ...refFields(ref), status: 'SyncFailed', message: `prune failed: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  return { pruned, failedPrunes };
}

// The apply stage of a sync: stage by stage (namespaces and CRDs, then each sync wave), one kind after another
// within a stage and the objects of one kind in parallel, waiting for a stage's health before the next; then prune.
import type { Logger } from '../log/logger.ts';
import type { KubeObject } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { R, type ResourceType } from '../kube/resource.ts';
import { applyManifest, isPermanentApplyError, SYNC_FIELD_MANAGER, type ApplyOutcome } from './apply/apply.ts';
import { forEachBounded } from './apply/pool.ts';
import { fingerprint, liveState } from './diff/drift.ts';
import { assessHealth, type Health } from './health/health.ts';
import type { HookPhase } from './hooks/hooks.ts';
import { refKey, refString, stages, type AppId, type ObjectRef, type Plan, type PlannedObject } from './plan/plan.ts';
import { getLive, resolveRef } from './sync-compare.ts';
import { runHookPhase, type HookPhaseRun } from './sync-hooks.ts';
import { pruneAll } from './sync-prune.ts';
import { refFields, type AppMemory, type Compared, type SyncDeps, type SyncResultResource, type SyncRun } from './sync-shared.ts';

/**
 * Applies in flight at once within one kind of one wave. The client's rate limiter (qps/burst) still paces them;
 * this only stops one round trip at a time from being the limit.
 */
export const APPLY_CONCURRENCY = 16;
const CRD_ESTABLISHED_TIMEOUT_MS = 30_000;

/** What the applies of one sync share: the compare (updated as objects are applied), results and a count. */
interface ApplyRun {
  d: SyncDeps;
  byKey: Map<string, Compared>;
  memory: AppMemory;
  log: Logger;
  results: SyncResultResource[];
  applied: number;
}

/** The sync operation this run belongs to: its start time names its hooks; `prior` are its earlier results. */
export interface OperationRef {
  startedAt: string;
  prior: SyncResultResource[];
}

/**
 * PreSync hooks, then stage by stage waiting for health between stages, Sync hooks, prune, PostSync hooks. A
 * failure anywhere runs the SyncFail hooks (created, not waited for) and applies nothing further.
 */
export async function runSync(d: SyncDeps, app: AppId, plan: Plan, compared: Compared[], memory: AppMemory, log: Logger, createNamespace: string | undefined, op: OperationRef): Promise<SyncRun> {
  await ensureNamespace(d, plan, log, createNamespace);
  const run: ApplyRun = { d, byKey: new Map(compared.map((c) => [refKey(c.obj.ref), c])), memory, log, results: [], applied: 0 };
  // Stopped before the prune stage: what was to be pruned stays in the inventory, so a later run still prunes it.
  const stopped = (phase: 'Running' | 'Failed', message: string): SyncRun => ({ phase, message, results: run.results, compared: [...run.byKey.values()], failedPrunes: plan.prune });
  const hooks = async (phase: HookPhase): Promise<HookPhaseRun> => {
    const out = await runHookPhase(d, app, plan.hooks, phase, op.startedAt, [...op.prior, ...run.results], log);
    run.results.push(...out.results);
    return out;
  };
  const fail = async (message: string): Promise<SyncRun> => {
    if (!plan.hooks.some((h) => h.phases.includes('SyncFail'))) return stopped('Failed', message);
    const after = await hooks('SyncFail');
    return stopped('Failed', `${message} (SyncFail hooks: ${after.state === 'failed' ? after.message : 'started'})`);
  };
  const phaseDone = async (phase: HookPhase): Promise<SyncRun | undefined> => {
    if (!plan.hooks.some((h) => h.phases.includes(phase))) return undefined;
    const out = await hooks(phase);
    return out.state === 'done' ? undefined : out.state === 'running' ? stopped('Running', out.message) : await fail(out.message);
  };
  const pre = await phaseDone('PreSync');
  if (pre !== undefined) return pre;
  const all = stages(plan.apply);
  // Sync and PostSync hooks run once everything before them is healthy, the last stage included.
  const waitLast = plan.hooks.some((h) => h.phases.includes('Sync') || h.phases.includes('PostSync'));
  for (let s = 0; s < all.length; s++) {
    const stage = all[s] ?? [];
    const failed = await applyStage(run, stage);
    if (failed !== undefined) return fail(failed);
    // Later stages wait for this one to be healthy (a wave is a promise that its objects work, not just exist).
    if (s < all.length - 1 || waitLast) {
      const wait = await stageHealth(run, stage);
      if (wait !== undefined) return wait.phase === 'Failed' ? fail(wait.message) : stopped(wait.phase, wait.message);
    }
  }
  const sync = await phaseDone('Sync');
  if (sync !== undefined) return sync;
  // Prune (plan.prune is already in reverse wave order). A failed delete keeps the object in the inventory.
  const { pruned, failedPrunes } = await pruneAll(d, app, plan.prune, memory, run.results);
  const post = failedPrunes.length > 0 ? undefined : await phaseDone('PostSync');
  if (post !== undefined) return { ...post, failedPrunes };
  const hooksRun = [...op.prior, ...run.results].filter((r) => r.hookPhase === 'Succeeded').length;
  const message = `${run.applied} applied, ${pruned} pruned${hooksRun > 0 ? `, ${hooksRun} hook(s) succeeded` : ''}${failedPrunes.length > 0 ? `, ${failedPrunes.length} prune(s) failed` : ''}`;
  return { phase: failedPrunes.length > 0 ? 'Failed' : 'Succeeded', message, results: run.results, compared: [...run.byKey.values()], failedPrunes };
}

/**
 * Argo CD's CreateNamespace=true: the destination namespace is created when the repository does not declare it.
 * It is deliberately not tracked (no label, no annotation, not in the inventory), so it is never pruned.
 */
async function ensureNamespace(d: SyncDeps, plan: Plan, log: Logger, name: string | undefined): Promise<void> {
  if (name === undefined || plan.apply.some((o) => o.ref.kind === 'Namespace' && o.ref.group === '' && o.ref.name === name)) return;
  try {
    await d.client.get(R.namespace, undefined, name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await d.client.apply(R.namespace, { metadata: { name } }, SYNC_FIELD_MANAGER);
    log.info({ namespace: name }, 'created the destination namespace (CreateNamespace=true)');
  }
}

/**
 * Within a stage, one kind after another (Argo CD's order: ConfigMaps exist before the Deployments that mount
 * them), and the objects of one kind in parallel. Returns the operation's message when an apply failed.
 */
async function applyStage(run: ApplyRun, stage: PlannedObject[]): Promise<string | undefined> {
  for (const batch of kindBatches(stage)) {
    const done: (SyncResultResource | undefined)[] = [];
    try {
      await forEachBounded(batch, APPLY_CONCURRENCY, async (obj, i) => {
        await applyOne(run, obj, (r) => (done[i] = r));
      });
    } catch (err) {
      if (!(err instanceof StageFailure)) throw err;
      run.results.push(...done.filter((r) => r !== undefined), { ...refFields(err.ref), status: 'SyncFailed', message: err.message });
      return `${refString(err.ref)}: ${err.summary}`;
    }
    run.results.push(...done.filter((r) => r !== undefined));
  }
  return undefined;
}

/**
 * Applies one object unless the compare found it in sync; a permanent failure is a StageFailure. The result is
 * recorded as soon as the apply succeeds (before a CRD's wait), so a sibling's failure still reports it.
 */
async function applyOne(run: ApplyRun, obj: PlannedObject, record: (r: SyncResultResource) => void): Promise<void> {
  const c = run.byKey.get(refKey(obj.ref));
  if (c === undefined || c.synced) return;
  const rt = c.rt ?? (await run.d.discovery.resolve(obj.manifest.apiVersion, obj.manifest.kind));
  if (rt === undefined) throw new StageFailure(obj.ref, `the server does not serve ${obj.manifest.kind} in ${obj.manifest.apiVersion}`, 'kind not served');
  const manifest = c.manifest ?? obj.manifest;
  let out: ApplyOutcome;
  try {
    out = await applyManifest(run.d.client, rt, manifest, { dryRun: false });
  } catch (err) {
    if (!isPermanentApplyError(err)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    run.log.warn({ object: refString(obj.ref), err: message }, 'apply failed');
    throw new StageFailure(obj.ref, message, message);
  }
  run.applied++;
  const kept = out.respected.map((f) => `${f.field} (${f.manager})`);
  record({ ...refFields(obj.ref), status: 'Synced', message: kept.length > 0 ? `left to other managers: ${kept.join(', ')}` : 'applied' });
  run.memory.inSync.set(refKey(obj.ref), { rv: out.object.metadata?.resourceVersion ?? '', fp: fingerprint(manifest), state: liveState(out.object) });
  run.byKey.set(refKey(obj.ref), { ...c, rt, live: out.object, synced: true, health: assessHealth(out.object) });
  if (obj.ref.kind === 'CustomResourceDefinition') {
    await waitEstablished(run.d, rt, obj.ref.name);
    // Its kinds were looked up (and missed) when planning: look again now that they are served.
    const spec = (obj.manifest as { spec?: { group?: string; versions?: { name?: string }[] } }).spec;
    for (const v of spec?.versions ?? []) if (spec?.group !== undefined && v.name !== undefined) run.d.discovery.invalidate(`${spec.group}/${v.name}`);
  }
}

/** Looks at a stage's objects again: undefined when all are Healthy, else why the sync stops here. */
async function stageHealth(run: ApplyRun, stage: PlannedObject[]): Promise<{ phase: 'Running' | 'Failed'; message: string } | undefined> {
  const fresh = await Promise.all(stage.map(async (o) => ({ o, live: await getLive(run.d, run.byKey.get(refKey(o.ref))?.rt ?? (await resolveRef(run.d, o)), o.ref) })));
  for (const { o, live } of fresh) {
    const c = run.byKey.get(refKey(o.ref));
    if (c !== undefined) run.byKey.set(refKey(o.ref), { ...c, live, health: assessHealth(live) });
  }
  const waiting: { o: PlannedObject; h: Health }[] = fresh.map(({ o, live }) => ({ o, h: assessHealth(live) })).filter(({ h }) => h.status !== 'Healthy');
  const degraded = waiting.find(({ h }) => h.status === 'Degraded');
  if (degraded !== undefined) return { phase: 'Failed', message: `${refString(degraded.o.ref)} is Degraded: ${degraded.h.message ?? ''}` };
  const w = waiting[0];
  if (w === undefined) return undefined;
  const wave = stage[0]?.wave === -Infinity ? 'namespaces/CRDs' : stage[0]?.wave;
  return { phase: 'Running', message: `waiting for ${waiting.length} object(s) of wave ${String(wave)} to become healthy: ${refString(w.o.ref)} is ${w.h.status}` };
}

/** A custom resource of a CRD applied in this sync needs the CRD Established (and discovery refreshed) first. */
async function waitEstablished(d: SyncDeps, rt: ResourceType, name: string): Promise<void> {
  const deadline = Date.now() + CRD_ESTABLISHED_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const crd = await d.client.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(rt, undefined, name);
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`CustomResourceDefinition ${name} not Established within ${CRD_ESTABLISHED_TIMEOUT_MS / 1000} s`);
}

/** A permanent failure of one object's apply: the operation fails, reporting it. */
class StageFailure extends Error {
  override readonly name = 'StageFailure';
  readonly ref: ObjectRef;
  readonly summary: string;
  constructor(ref: ObjectRef, message: string, summary: string) {
    super(message);
    this.ref = ref;
    this.summary = summary;
  }
}

/** Consecutive objects of one kind (a stage is sorted by kind). */
function kindBatches(stage: PlannedObject[]): PlannedObject[][] {
  const out: PlannedObject[][] = [];
  for (const o of stage) {
    const last = out[out.length - 1];
    const head = last?.[0];
    if (last !== undefined && head !== undefined && head.ref.group === o.ref.group && head.ref.kind === o.ref.kind) last.push(o);
    else out.push([o]);
  }
  return out;
}

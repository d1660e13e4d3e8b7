// The hook stage of a sync: runs the hooks of one phase wave by wave (hooks/hooks.ts decides each step), creating
// them, waiting for them to finish and deleting them by their delete policy. Resumable like the waves: what this
// operation's hooks did is recorded in syncResult (hookPhase, syncPhase) and on the objects (HOOK_OPERATION), so a
// later reconcile of the same operation continues instead of running a hook twice.
import type { Logger } from '../log/logger.ts';
import type { KubeObject } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import type { ResourceType } from '../kube/resource.ts';
import { applyManifest, isPermanentApplyError } from './apply/apply.ts';
import { assessHealth } from './health/health.ts';
import { HOOK_OPERATION, hookOutcome, hookStep, type HookPhase, type HookRunPhase } from './hooks/hooks.ts';
import { refKey, refString, stages, TRACKING_ANNOTATION, trackingId, type AppId, type PlannedHook } from './plan/plan.ts';
import { refFields, type SyncDeps, type SyncResultResource } from './sync-shared.ts';

const GONE_TIMEOUT_MS = 30_000;

export interface HookPhaseRun {
  state: 'done' | 'running' | 'failed';
  message: string;
  results: SyncResultResource[];
}

interface Ctx {
  d: SyncDeps;
  app: AppId;
  phase: HookPhase;
  /** The operation's start time: names the hook objects it created. */
  operation: string;
  recorded: Map<string, HookRunPhase>;
  log: Logger;
  results: SyncResultResource[];
}

/** Runs (or continues) the hooks of `phase`; `prior` are the operation's results from earlier reconciles. */
export async function runHookPhase(d: SyncDeps, app: AppId, hooks: PlannedHook[], phase: HookPhase, operation: string, prior: SyncResultResource[], log: Logger): Promise<HookPhaseRun> {
  const mine = hooks.filter((h) => h.phases.includes(phase));
  const recorded = new Map<string, HookRunPhase>();
  for (const r of prior) {
    if (r.syncPhase === phase && (r.hookPhase === 'Running' || r.hookPhase === 'Succeeded' || r.hookPhase === 'Failed')) {
      recorded.set(refKey({ group: r.group ?? '', kind: r.kind, namespace: r.namespace ?? '', name: r.name }), r.hookPhase);
    }
  }
  const ctx: Ctx = { d, app, phase, operation, recorded, log, results: [] };
  // `stages` groups consecutive objects of one wave (hooks are sorted by wave).
  for (const wave of stages(mine)) {
    const steps = await Promise.all(wave.map((h) => stepOne(ctx, h)));
    const failed = steps.find((s) => s.failed !== undefined);
    if (failed?.failed !== undefined) return { state: 'failed', message: failed.failed, results: ctx.results };
    const waiting = steps.filter((s) => s.waiting !== undefined);
    if (waiting.length > 0) return { state: 'running', message: `waiting for ${waiting.length} ${phase} hook(s): ${waiting[0]?.waiting ?? ''}`, results: ctx.results };
  }
  return { state: 'done', message: `${mine.length} ${phase} hook(s) succeeded`, results: ctx.results };
}

/** One hook's next step, carried out. */
async function stepOne(ctx: Ctx, h: PlannedHook): Promise<{ failed?: string; waiting?: string }> {
  const { d, phase } = ctx;
  const rt = await d.discovery.resolve(h.manifest.apiVersion, h.manifest.kind);
  const name = refString(h.ref);
  const record = (hookPhase: HookRunPhase, message: string): void =>
    void ctx.results.push({ ...refFields(h.ref), status: hookPhase === 'Failed' ? 'SyncFailed' : 'Synced', message, hookPhase, syncPhase: phase });
  if (rt === undefined) {
    record('Failed', `the server does not serve ${h.manifest.kind} in ${h.manifest.apiVersion}`);
    return { failed: `${phase} hook ${name}: kind not served` };
  }
  const live = await get(ctx, rt, h);
  if (live !== undefined && live.metadata?.annotations?.[TRACKING_ANNOTATION] !== trackingId(ctx.app, h.ref)) {
    record('Failed', 'an object of that name exists and is not this Application’s');
    return { failed: `${phase} hook ${name}: an object of that name exists and is not this Application’s` };
  }
  const ours = live !== undefined && live.metadata?.annotations?.[HOOK_OPERATION] === ctx.operation;
  const health = assessHealth(live);
  const podPhase = (live as { status?: { phase?: string } } | undefined)?.status?.phase;
  const step = hookStep({
    recorded: ctx.recorded.get(refKey(h.ref)),
    live: live === undefined ? 'absent' : ours ? 'ours' : 'older',
    outcome: hookOutcome(h.ref.kind, health, podPhase),
    deletePolicies: h.deletePolicies,
  });
  if (step.do === 'wait') return { waiting: `${name} is ${health.status}${health.message !== undefined ? ` (${health.message})` : ''}` };
  if (step.do === 'done') {
    const why = step.message ?? (step.phase === 'Failed' ? (health.message ?? 'failed') : 'succeeded');
    if (!ctx.recorded.has(refKey(h.ref)) || ctx.recorded.get(refKey(h.ref)) === 'Running') record(step.phase, why);
    if (step.deleteNow && live !== undefined) await remove(ctx, rt, h, live);
    return step.phase === 'Failed' ? { failed: `${phase} hook ${name} failed: ${why}` } : {};
  }
  if (step.deleteOlderFirst && live !== undefined) await remove(ctx, rt, h, live, true);
  const manifest = { ...h.manifest, metadata: { ...h.manifest.metadata, annotations: { ...h.manifest.metadata.annotations, [HOOK_OPERATION]: ctx.operation } } };
  try {
    await applyManifest(d.client, rt, manifest, { dryRun: false });
  } catch (err) {
    if (!isPermanentApplyError(err)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    record('Failed', message);
    return { failed: `${phase} hook ${name}: ${message}` };
  }
  ctx.log.info({ hook: name, phase }, 'hook created');
  record('Running', 'created');
  return { waiting: `${name} was created` };
}

async function get(ctx: Ctx, rt: ResourceType, h: PlannedHook): Promise<KubeObject | undefined> {
  try {
    return await ctx.d.client.get<KubeObject>(rt, h.ref.namespace === '' ? undefined : h.ref.namespace, h.ref.name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Deletes a hook object (its pods with it); `wait` until it is gone, so one of the same name can be created. */
async function remove(ctx: Ctx, rt: ResourceType, h: PlannedHook, live: KubeObject, wait = false): Promise<void> {
  const ns = h.ref.namespace === '' ? undefined : h.ref.namespace;
  try {
    await ctx.d.client.delete(rt, ns, h.ref.name, { propagationPolicy: 'Background', uid: live.metadata?.uid });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!wait) return;
  const deadline = Date.now() + GONE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const now = await get(ctx, rt, h);
    if (now === undefined || now.metadata?.uid !== live.metadata?.uid) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${refString(h.ref)}: the hook of an earlier sync was not deleted within ${GONE_TIMEOUT_MS / 1000} s`);
}

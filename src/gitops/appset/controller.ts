// The ApplicationSet controller's shell: reads the set and the Applications it owns, asks the generators and the
// template (pure: generators.ts, decide.ts) what should exist, and makes it so by server-side apply (field manager
// `sluice-applicationset`) and delete. Generated Applications carry a controller ownerReference to the set, so
// deleting the set lets the garbage collector delete them (and their resources unless preserveResourcesOnDeletion).
//
// Triggers: the set; its Applications (a person deleting or editing one); cluster Secrets (clusters generator);
// a git generator's poll interval (a requeue).
import type { ApplicationSetStatus } from '../../api/applicationset/schema.ts';
import { applicationSetSchema, type ApplicationSet } from '../../api/applicationset/schema.ts';
import { validateApplicationSet } from '../../api/applicationset/validate.ts';
import { checkSpec } from '../../api/common/check.ts';
import { removeCondition, setCondition } from '../../api/common/conditions.ts';
import { jsonEqual } from '../../api/common/equal.ts';
import type { Condition } from '../../api/common/meta.ts';
import { formatSpecErrors } from '../../api/common/errors.ts';
import type { ClusterRegistry } from '../../fleet/registry.ts';
import type { KubeClient, KubeObject } from '../../kube/client.ts';
import { isNotFound } from '../../kube/errors.ts';
import { apiVersionOf, R } from '../../kube/resource.ts';
import type { Controller, ReconcileRequest, ReconcileResult } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { Manager } from '../../runtime/manager.ts';
import type { GitCredentials, GitSource } from '../source/git.ts';
import { readCredentials } from '../source/credentials.ts';
import { REFRESH_ANNOTATION } from '../sync-shared.ts';
import { desiredApplications, generatedHash, GENERATED_HASH_ANNOTATION, planChanges, type Desired, type ExistingApp } from './decide.ts';
import { gitUses } from './git.ts';
import { GIT_POLL_MS, GitTreeReader } from './git-read.ts';
import { REVERSE_DELETION_FINALIZER, reverseDeletion, setReverseFinalizer, wantsReverseDeletion } from './deletion.ts';
import { credentialsRefFor, decideWave, gitSourcesToPin, pinSpec, revisionKey, targetRevisionsOf, type WaveApp } from './rollingsync.ts';
import { generate, usesClusters, type AnyGenerator, type Observed } from './generators.ts';
import type { TemplateError } from './template.ts';

export const APPSET_MANAGER = 'sluice-applicationset';
/** Argo CD's condition types, so alerts written for Argo CD's ApplicationSets keep matching. */
export const ERROR_OCCURRED = 'ErrorOccurred';
export const RESOURCES_UP_TO_DATE = 'ResourcesUpToDate';
/** RollingSync's progress: where the wave is, or where it stopped and why (Argo CD's condition type). */
export const ROLLOUT_PROGRESSING = 'RolloutProgressing';

type SetObject = KubeObject & { status?: ApplicationSetStatus };
type AppObject = KubeObject & { spec?: unknown; status?: { sync?: { status?: string }; health?: { status?: string; message?: string }; observedGeneration?: number } };

export interface ApplicationSetControllerDeps {
  client: KubeClient;
  events: EventRecorder;
  workers: number;
  clusters?: ClusterRegistry;
  /** For the git generator; without it a git generator is an error naming it. */
  source?: GitSource;
}

export function registerApplicationSetController(manager: Manager, deps: ApplicationSetControllerDeps): Controller {
  const sets = manager.cache<SetObject>(R.applicationSet);
  const apps = manager.cache<AppObject>(R.application);
  apps.addIndex('appset-owner', (a) => (a.metadata?.ownerReferences ?? []).filter((r) => r.controller === true && r.kind === 'ApplicationSet').map((r) => `${a.metadata?.namespace ?? ''}/${r.name}`));

  const writeStatus = async (req: ReconcileRequest, raw: SetObject, status: ApplicationSetStatus): Promise<void> => {
    if (jsonEqual(raw.status ?? {}, status)) return;
    await deps.client.apply(R.applicationSet, { metadata: { name: req.name, namespace: req.namespace }, status }, APPSET_MANAGER, { force: true, subresource: 'status' });
  };

  const reader = deps.source !== undefined ? new GitTreeReader(deps.source) : undefined;

  // RollingSync pins Git sources to commits: a branch's commit, per set, read again on the same terms as directories.
  const commits = new Map<string, { at: number; token: string; commit: string }>();
  const pinned = async (set: ApplicationSet, desired: Desired): Promise<{ desired: Desired; errors: TemplateError[] }> => {
    const errors: TemplateError[] = [];
    const found = new Map<string, string>();
    const setKey = `${set.metadata.namespace ?? ''}/${set.metadata.name ?? ''}`;
    const token = JSON.stringify([set.metadata.generation, set.metadata.annotations?.[REFRESH_ANNOTATION]]);
    const pollMs = Math.min(GIT_POLL_MS, ...gitUses(set.spec.generators).map((u) => (u.requeueAfterSeconds ?? GIT_POLL_MS / 1000) * 1000));
    for (const [url, rev] of gitSourcesToPin(desired.apps.map((a) => a.spec))) {
      const key = `${setKey}#${revisionKey(url, rev)}`;
      const hit = commits.get(key);
      if (hit !== undefined && hit.token === token && Date.now() - hit.at < pollMs) {
        found.set(revisionKey(url, rev), hit.commit);
        continue;
      }
      if (deps.source === undefined) {
        errors.push({ field: 'spec.strategy', message: 'RollingSync pins Git revisions: the git source is not enabled in this operator' });
        break;
      }
      const ref = credentialsRefFor(desired.apps.map((a) => a.spec), url);
      let creds: GitCredentials | undefined;
      try {
        // Applications live in the set's namespace: a Secret without a namespace is read there, as theirs would be.
        creds = ref === undefined ? undefined : await readCredentials(deps.client, ref.namespace ?? set.metadata.namespace ?? '', ref.name);
      } catch (err) {
        errors.push({ field: 'spec.template.spec.credentials.secretRef', message: `resolving ${rev ?? 'HEAD'} of ${url}: ${err instanceof Error ? err.message : String(err)}` });
        continue;
      }
      try {
        const commit = (await deps.source.resolve(url, rev, creds)).commit;
        commits.set(key, { at: Date.now(), token, commit });
        found.set(revisionKey(url, rev), commit);
      } catch (err) {
        errors.push({ field: 'spec.template.spec.source.targetRevision', message: `resolving ${rev ?? 'HEAD'} of ${url}: ${err instanceof Error ? err.message : String(err)}` });
      }
    }
    const apps = desired.apps.map((d) => {
      const { [GENERATED_HASH_ANNOTATION]: _old, ...annotations } = d.annotations;
      const app = { ...d, annotations, spec: pinSpec(d.spec, found) };
      return { ...app, annotations: { ...annotations, [GENERATED_HASH_ANNOTATION]: generatedHash(app) } };
    });
    return { desired: { ...desired, apps }, errors };
  };

  const observe = async (set: ApplicationSet): Promise<{ observed: Observed; errors: TemplateError[] }> => {
    const errors: TemplateError[] = [];
    const clusters = deps.clusters?.list().map((c) => ({ name: c.name, server: c.server, labels: c.labels, annotations: c.annotations })) ?? [];
    const uses = gitUses(set.spec.generators);
    if (deps.clusters === undefined && usesClusters(set.spec.generators)) errors.push({ field: 'spec.generators', message: 'the clusters generator needs remote clusters enabled in this operator (--cluster-secret-namespace)' });
    if (uses.length === 0) return { observed: { clusters }, errors };
    if (reader === undefined) return { observed: { clusters }, errors: [...errors, ...uses.map((u) => ({ field: `${u.at}.git`, message: 'the git generator is not enabled in this operator' }))] };
    const token = JSON.stringify([set.metadata.generation, set.metadata.annotations?.[REFRESH_ANNOTATION]]);
    const read = await reader.read(`${set.metadata.namespace ?? ''}/${set.metadata.name ?? ''}`, token, uses);
    return { observed: { clusters, git: read.trees }, errors: [...errors, ...read.errors] };
  };

  const ownedBy = (raw: SetObject): AppObject[] => apps.byIndex('appset-owner', `${raw.metadata?.namespace ?? ''}/${raw.metadata?.name ?? ''}`).filter((a) => a.metadata?.ownerReferences?.some((r) => r.uid === raw.metadata?.uid));

  /** The set is being deleted with Reverse order: one step's Applications at a time, then the finalizer comes off. */
  const deleteInReverse = async (req: ReconcileRequest, raw: SetObject): Promise<ReconcileResult | void> => {
    const check = checkSpec(applicationSetSchema, { ...raw, status: undefined }, validateApplicationSet);
    const steps = check.ok ? (check.value.spec.strategy?.rollingSync?.steps ?? []) : [];
    const owned = ownedBy(raw);
    const next = reverseDeletion(steps, owned.map((a) => ({ name: a.metadata?.name ?? '', labels: a.metadata?.labels ?? {}, deleting: a.metadata?.deletionTimestamp !== undefined })));
    if (next.done) {
      await setReverseFinalizer(deps.client, raw, false);
      req.log.info('reverse deletion done: every generated Application is gone');
      return;
    }
    const preserve = check.ok && check.value.spec.syncPolicy?.preserveResourcesOnDeletion === true;
    for (const name of next.remove) {
      const a = owned.find((o) => o.metadata?.name === name);
      await deleteApp(deps.client, req.namespace ?? '', { name, finalizers: Array.isArray(a?.metadata?.finalizers) ? (a.metadata.finalizers as string[]) : [], ...(a?.metadata?.uid !== undefined ? { uid: a.metadata.uid } : {}) }, preserve);
    }
    req.log.info({ step: next.step + 1, deleted: next.remove, waitingFor: next.waitingFor }, 'reverse deletion: deleting a step');
    // Their deletion events enqueue the set too; the poll is a backstop for a resources finalizer that takes long.
    return { requeueAfterMs: 5_000 };
  };

  const reconcile = async (req: ReconcileRequest): Promise<ReconcileResult | void> => {
    const raw = sets.get(req.namespace, req.name);
    if (raw === undefined || raw.metadata?.deletionTimestamp !== undefined) {
      reader?.forget(req.key);
      for (const k of commits.keys()) if (k.startsWith(`${req.key}#`)) commits.delete(k);
      if (raw !== undefined && (raw.metadata?.finalizers as string[] | undefined)?.includes(REVERSE_DELETION_FINALIZER) === true) return deleteInReverse(req, raw);
      return;
    }
    const now = new Date().toISOString();
    const check = checkSpec(applicationSetSchema, { ...raw, status: undefined }, validateApplicationSet);
    if (!check.ok) {
      await writeStatus(req, raw, { ...raw.status, conditions: setCondition(raw.status?.conditions, { type: ERROR_OCCURRED, status: 'True', reason: 'InvalidSpec', message: formatSpecErrors(check.errors) }, now) });
      return;
    }
    const set = check.value;
    await setReverseFinalizer(deps.client, raw, wantsReverseDeletion(set.spec));
    const { observed, errors: observeErrors } = await observe(set);
    const generated = generate(set.spec.generators, observed);
    const rendered = desiredApplications(set.spec, generated.sets, req.namespace ?? '');
    const steps = set.spec.strategy?.type === 'RollingSync' ? (set.spec.strategy.rollingSync?.steps ?? []) : undefined;
    const pin = steps !== undefined ? await pinned(set, rendered) : { desired: rendered, errors: [] };
    const desired = pin.desired;
    const owned = ownedBy(raw);
    const existing: ExistingApp[] = owned.map((a) => ({
      name: a.metadata?.name ?? '',
      labels: a.metadata?.labels ?? {},
      annotations: a.metadata?.annotations ?? {},
      finalizers: Array.isArray(a.metadata?.finalizers) ? (a.metadata.finalizers as string[]) : [],
      spec: a.spec,
      deleting: a.metadata?.deletionTimestamp !== undefined,
      ...(a.metadata?.uid !== undefined ? { uid: a.metadata.uid } : {}),
    }));
    const generatorErrors = [...observeErrors, ...generated.errors, ...pin.errors];
    const changes = planChanges(desired, existing, generatorErrors.length === 0);
    let wave: ReturnType<typeof decideWave> | undefined;
    if (steps !== undefined) {
      const byName = new Map(owned.map((a) => [a.metadata?.name ?? '', a]));
      const changed = new Set(changes.apply.map((d) => d.name));
      const waveApps: WaveApp[] = desired.apps.map((d) => {
        const a = byName.get(d.name);
        return { name: d.name, labels: d.labels, changed: changed.has(d.name), observed: a !== undefined && a.status?.observedGeneration === a.metadata?.generation, sync: a?.status?.sync?.status, health: a?.status?.health?.status, healthMessage: a?.status?.health?.message, targetRevisions: targetRevisionsOf(a?.spec) };
      });
      wave = decideWave(steps, waveApps, raw.status?.applicationStatus ?? [], now);
      // An unresolved revision would release the branch unpinned: nothing is updated until it resolves.
      const allowed = new Set(pin.errors.length > 0 ? [] : wave.update);
      changes.apply = changes.apply.filter((d) => allowed.has(d.name));
    }
    const owner = { apiVersion: apiVersionOf(R.applicationSet), kind: 'ApplicationSet', name: req.name, uid: raw.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true };
    for (const d of changes.apply) {
      await deps.client.apply(R.application, { metadata: { name: d.name, namespace: req.namespace, labels: d.labels, annotations: d.annotations, ...(d.finalizers.length > 0 ? { finalizers: d.finalizers } : {}), ownerReferences: [owner] }, spec: d.spec }, APPSET_MANAGER, { force: true });
      req.log.info({ app: d.name }, existing.some((e) => e.name === d.name) ? 'application updated' : 'application created');
    }
    const preserve = set.spec.syncPolicy?.preserveResourcesOnDeletion === true;
    for (const e of changes.delete) await deleteApp(deps.client, req.namespace ?? '', e, preserve);
    for (const e of changes.delete) req.log.info({ app: e.name, preserveResources: preserve }, 'application deleted: no longer generated');

    const all = [...generatorErrors, ...desired.errors];
    let conditions: Condition[] | undefined = raw.status?.conditions;
    conditions =
      all.length > 0
        ? setCondition(conditions, { type: ERROR_OCCURRED, status: 'True', reason: generatorErrors.length > 0 ? 'ApplicationGenerationFromParamsError' : 'ApplicationParamsError', message: all.map((e) => `${e.field}: ${e.message}`).join('; ').slice(0, 4000) }, now)
        : removeCondition(conditions, ERROR_OCCURRED);
    conditions = wave !== undefined ? setCondition(conditions, { type: ROLLOUT_PROGRESSING, ...wave.condition }, now) : removeCondition(conditions, ROLLOUT_PROGRESSING);
    conditions = setCondition(conditions, { type: RESOURCES_UP_TO_DATE, status: all.length === 0 ? 'True' : 'False', reason: all.length === 0 ? 'ApplicationSetUpToDate' : 'ErrorOccurred', message: `${desired.apps.length} Applications generated` }, now);
    const byName = new Map(owned.map((a) => [a.metadata?.name ?? '', a]));
    const resources = desired.apps.map((d) => {
      const a = byName.get(d.name);
      return { name: d.name, namespace: req.namespace, ...(a?.status?.sync?.status !== undefined ? { status: a.status.sync.status } : {}), ...(a?.status?.health?.status !== undefined ? { health: { status: a.status.health.status } } : {}) };
    });
    const hadError = raw.status?.conditions?.find((c) => c.type === ERROR_OCCURRED)?.message;
    const nowError = conditions.find((c) => c.type === ERROR_OCCURRED)?.message;
    if (nowError !== undefined && nowError !== hadError) await deps.events.record(raw, 'Warning', ERROR_OCCURRED, nowError.slice(0, 1000));
    const haltedBefore = raw.status?.conditions?.find((c) => c.type === ROLLOUT_PROGRESSING)?.reason === 'RolloutHalted';
    if (wave?.condition.reason === 'RolloutHalted' && !haltedBefore) {
      await deps.events.record(raw, 'Warning', 'RolloutHalted', wave.condition.message.slice(0, 1000));
      req.log.warn({ reason: wave.condition.message }, 'rolling sync halted');
    }
    const { applicationStatus: _old, ...rest } = raw.status ?? {};
    await writeStatus(req, raw, { ...rest, conditions, resources, ...(wave !== undefined ? { applicationStatus: wave.statuses } : {}) });
    const gitPoll = gitUses(set.spec.generators).map((u) => (u.requeueAfterSeconds ?? GIT_POLL_MS / 1000) * 1000);
    const next = Math.min(...gitPoll, steps !== undefined ? GIT_POLL_MS : Infinity);
    return Number.isFinite(next) ? { requeueAfterMs: next } : undefined;
  };

  const controller = manager.addController({
    name: 'applicationset',
    for: sets,
    reconciler: { reconcile },
    workers: deps.workers,
    owns: [apps as unknown as ReturnType<Manager['cache']>],
  });
  deps.clusters?.onChange(() => {
    for (const s of sets.list()) if (usesClusters((s as { spec?: { generators?: AnyGenerator[] } }).spec?.generators ?? [])) controller.enqueue(`${s.metadata?.namespace}/${s.metadata?.name}`);
  });
  return controller;
}

/** Deletes a generated Application; with preserveResourcesOnDeletion, its resources finalizer is taken off first. */
async function deleteApp(client: KubeClient, namespace: string, e: Pick<ExistingApp, 'name' | 'finalizers'> & { uid?: string }, preserve: boolean): Promise<void> {
  try {
    if (preserve && e.finalizers.length > 0) {
      // Conditional on the list read: a concurrent change makes the patch fail and the next reconcile retry.
      await client.jsonPatch(R.application, namespace, e.name, [
        { op: 'test', path: '/metadata/finalizers', value: e.finalizers },
        { op: 'replace', path: '/metadata/finalizers', value: e.finalizers.filter((f) => !f.startsWith('resources-finalizer.argocd.argoproj.io')) },
      ]);
    }
    await client.delete(R.application, namespace, e.name, e.uid !== undefined ? { uid: e.uid } : {});
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

// The Application controller's shell: reads the caches, judges the spec, runs the sync (sync.ts) and writes status.
//
// Triggers: the Application itself; the poll interval (a requeue); and the managed objects: for every kind an app
// manages, one cluster-wide (or per watched namespace) watch selected by the `sluice.dev/instance` label maps an
// event to its app through the tracking annotation, so drift is seen within a second and healed when selfHeal is
// on. The same watches serve live objects to the comparison, so a quiet app costs no apiserver request.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplicationStatus } from '../api/application/schema.ts';
import { sameJson } from './equal.ts';
import { parseDuration } from '../api/common/duration.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import { Discovery } from '../kube/discovery.ts';
import { R, type ResourceType } from '../kube/resource.ts';
import type { Controller, ReconcileRequest, ReconcileResult } from '../runtime/controller.ts';
import type { EventRecorder } from '../runtime/events.ts';
import type { Cache, Manager } from '../runtime/manager.ts';
import { setCondition } from '../api/common/conditions.ts';
import { cascadeDelete, cascadeFinalizer, refOfLive } from './delete/cascade.ts';
import { sameState } from './diff/drift.ts';
import { assessHealth } from './health/health.ts';
import { INSTANCE_LABEL, refKey, refString, TRACKING_ANNOTATION } from './plan/plan.ts';
import { GitSource, type SourceLimits } from './source/git.ts';
import { HelmRepository } from './source/helmrepo.ts';
import { appSpecStatus, appSpecStatusChanged, checkApplication, INVALID_SPEC_ERROR } from './spec.ts';
import { REFRESH_ANNOTATION, Syncer, type AppMemory } from './sync.ts';
import { ReplayGuard, type WebhookDeps, type WebhookSecrets } from './webhook/webhook.ts';

export const GITOPS_STATUS_MANAGER = 'sluice';
/** Argo CD's condition type when an Application's resources cannot be deleted. */
export const DELETION_ERROR = 'DeletionError';
const DELETE_POLL_MS = 1_000;
const DELETE_RETRY_MS = 10_000;

type ApplicationObject = KubeObject & { status?: ApplicationStatus };

export interface ApplicationControllerDeps {
  client: KubeClient;
  events: EventRecorder;
  workers: number;
  /** Bare Git repositories live here (one per repository URL). Default: $SLUICE_GIT_CACHE or <tmp>/sluice-git. */
  gitCacheDir?: string;
  /** Deadline and size limits of Git sources (flags --git-timeout, --git-max-*). */
  gitLimits?: Partial<SourceLimits>;
  /** Overrides for tests. */
  source?: GitSource;
  discovery?: Discovery;
}

/**
 * A change to a managed object that cannot change its app's status or call for a sync: the object was in sync, its
 * state (drift.ts liveState) and health are the same, and labels and annotations only gained keys (a controller's
 * revision annotation; additions cannot break what the manifest declares). Deployments' status updates are most
 * events of a large app: each used to cost a full reconcile of every object.
 */
export function quietChange(memory: AppMemory | undefined, rt: ResourceType, old: KubeObject, obj: KubeObject): boolean {
  const m = obj.metadata;
  if (memory === undefined || m?.name === undefined) return false;
  const ref = { group: rt.group, kind: rt.kind, namespace: rt.namespaced ? (m.namespace ?? '') : '', name: m.name };
  if (!memory.inSync.has(refKey(ref))) return false;
  const onlyAdded = (a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean => Object.entries(a ?? {}).every(([k, v]) => b?.[k] === v);
  return (
    onlyAdded(old.metadata?.labels, m.labels) &&
    onlyAdded(old.metadata?.annotations, m.annotations) &&
    sameJson(assessHealth(old), assessHealth(obj)) &&
    sameState(old, obj)
  );
}

/** The app a managed object belongs to, from its tracking annotation (`<ns>/<name>:...`). */
export function appKeyOf(obj: KubeObject): string | undefined {
  const id = obj.metadata?.annotations?.[TRACKING_ANNOTATION];
  const i = id?.indexOf(':') ?? -1;
  return id === undefined || i <= 0 ? undefined : id.slice(0, i);
}

export function registerApplicationController(manager: Manager, deps: ApplicationControllerDeps): Controller {
  const apps = manager.cache<ApplicationObject>(R.application);
  const cacheDir = deps.gitCacheDir ?? process.env.SLUICE_GIT_CACHE ?? join(tmpdir(), 'sluice-git');
  mkdirSync(cacheDir, { recursive: true });
  const source = deps.source ?? new GitSource({ cacheDir, ...(deps.gitLimits !== undefined ? { limits: deps.gitLimits } : {}) });
  const discovery = deps.discovery ?? new Discovery(deps.client);
  const memories = new Map<string, AppMemory & { checked?: { at: number; generation: number } }>();
  const watched = new Map<string, Cache<KubeObject>>();
  const listed = new Map<string, { until: number; done: Promise<void> }>();

  const watchKinds = (kinds: ResourceType[]): void => {
    for (const rt of kinds) {
      const id = `${rt.group}/${rt.plural}`;
      if (watched.has(id)) continue;
      const cache = manager.cache<KubeObject>(rt, { labelSelector: INSTANCE_LABEL });
      cache.on((ev, obj, old) => {
        const key = appKeyOf(obj);
        if (key === undefined) return;
        if (ev === 'update' && old !== undefined && quietChange(memories.get(key), rt, old, obj)) return;
        controller.enqueue(key);
      });
      watched.set(id, cache);
    }
  };

  const syncer = new Syncer({
    client: deps.client,
    discovery,
    source,
    charts: new HelmRepository(),
    onKinds: watchKinds,
    waitForWatches: async (kinds, timeoutMs) => {
      const now = Date.now();
      const pending = kinds.flatMap((rt) => {
        const id = `${rt.group}/${rt.plural}`;
        const c = watched.get(id);
        if (c === undefined || c.hasSynced()) return [];
        // One waiter per watch however many reconciles ask, and a deadline over its whole life: a watch that never
        // lists (no RBAC to list the kind) is waited for once, then compares fall back to GETs.
        let w = listed.get(id);
        if (w === undefined) listed.set(id, (w = { until: now + timeoutMs, done: Promise.all(c.informers.map((i) => i.waitForSync())).then(() => undefined) }));
        return w.until > now ? [w] : [];
      });
      if (pending.length === 0) return;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((r) => (timer = setTimeout(r, Math.max(...pending.map((w) => w.until)) - now)));
      await Promise.race([Promise.all(pending.map((w) => w.done)), deadline]);
      clearTimeout(timer);
    },
    liveFromCache: (rt, namespace, name) => {
      const cache = watched.get(`${rt.group}/${rt.plural}`);
      if (cache === undefined || !cache.hasSynced()) return 'unknown';
      return cache.get(rt.namespaced ? namespace : undefined, name);
    },
  });

  const writeStatus = async (req: ReconcileRequest, status: ApplicationStatus): Promise<void> => {
    const written = await deps.client.apply<KubeObject>(R.application, { metadata: { name: req.name, namespace: req.namespace }, status }, GITOPS_STATUS_MANAGER, {
      force: true,
      subresource: 'status',
    });
    controller.expectations.expect(req.key, written.metadata?.resourceVersion);
  };

  const reconcile = async (req: ReconcileRequest): Promise<ReconcileResult | void> => {
    const raw = apps.get(req.namespace, req.name);
    const now = (): string => new Date().toISOString();
    if (raw === undefined || raw.metadata?.deletionTimestamp !== undefined) {
      memories.delete(req.key);
      if (raw !== undefined) return finalize(req, raw, now);
      return;
    }
    const generation = raw.metadata?.generation ?? 0;
    const check = checkApplication(raw);
    if (!check.ok) {
      const next = appSpecStatus(raw.status, check, generation, now());
      if (!appSpecStatusChanged(raw.status, next)) return;
      await writeStatus(req, { ...raw.status, ...next });
      req.log.warn({ errors: check.errors }, 'invalid spec');
      await deps.events.record(raw, 'Warning', INVALID_SPEC_ERROR, next.conditions.find((c) => c.type === INVALID_SPEC_ERROR)?.message ?? '');
      return;
    }
    const app = check.value;
    let memory = memories.get(req.key);
    if (memory === undefined) {
      memory = { inSync: new Map() };
      memories.set(req.key, memory);
    }
    const pollMs = parseDuration(app.spec.pollInterval);
    const specStatus = appSpecStatus(raw.status, check, generation, now());
    const prev: ApplicationStatus = { ...raw.status, ...specStatus };
    const outcome = await syncer.reconcile(app, { ...raw, status: prev }, memory, req.log, now);
    const { reconciledAt: _a, ...before } = raw.status ?? {};
    const { reconciledAt: _b, ...after } = outcome.status;
    // reconciledAt moves only with a write that changes something else: a quiet poll costs no write.
    if (!sameJson(before, after)) await writeStatus(req, { ...outcome.status, reconciledAt: now() });
    for (const e of outcome.events) await deps.events.record(raw, e.type, e.reason, e.message);
    return { requeueAfterMs: Math.min(outcome.requeueAfterMs, pollMs) };
  };

  /** A deleted Application: with the resources finalizer, delete what it tracks, then let it go (cascade.ts). */
  const finalize = async (req: ReconcileRequest, raw: ApplicationObject, now: () => string): Promise<ReconcileResult | void> => {
    const f: unknown = raw.metadata?.finalizers;
    const finalizers = Array.isArray(f) ? f.filter((x): x is string => typeof x === 'string') : [];
    const fin = cascadeFinalizer(finalizers);
    if (fin === undefined) return;
    const id = { namespace: req.namespace ?? '', name: req.name };
    const inventory = (raw.status?.resources ?? []).map((r) => ({ group: r.group ?? '', version: r.version, kind: r.kind, namespace: r.namespace ?? '', name: r.name, syncWave: r.syncWave }));
    // Objects applied but not yet in status: the label-selected watches know them by tracking id.
    const watchedRefs = [...watched.values()].flatMap((c) => c.list()).filter((o) => appKeyOf(o) === req.key).map(refOfLive);
    const result = await cascadeDelete({ client: deps.client, discovery }, id, [...inventory, ...watchedRefs], fin.propagation);
    if (result.failed.length > 0) {
      const message = `deleting the Application's resources (finalizer ${fin.name}): ${result.failed.map((f) => f.message).join('; ')}`.slice(0, 2000);
      const had = raw.status?.conditions?.find((c) => c.type === DELETION_ERROR)?.message;
      if (had !== message) {
        await writeStatus(req, { ...raw.status, conditions: setCondition(raw.status?.conditions, { type: DELETION_ERROR, status: 'True', reason: 'DeletionFailed', message }, now()) });
        await deps.events.record(raw, 'Warning', DELETION_ERROR, message.slice(0, 1000));
        req.log.warn({ failed: result.failed.length }, 'cascade delete failed: the finalizer stays');
      }
      return { requeueAfterMs: DELETE_RETRY_MS };
    }
    if (result.remaining.length > 0) {
      if (result.deleted > 0) req.log.info({ deleted: result.deleted, remaining: result.remaining.length }, 'deleting the Application\'s resources');
      return { requeueAfterMs: DELETE_POLL_MS };
    }
    const i = (Array.isArray(f) ? f : []).indexOf(fin.name);
    await deps.events.record(raw, 'Normal', 'ResourcesDeleted', `every tracked resource is gone${result.kept.length > 0 ? ` (kept by Delete=false: ${result.kept.map(refString).join(', ')})` : ''}; removing ${fin.name}`);
    // A JSON patch that tests the finalizer it removes: a concurrent change to the list makes it fail and retry.
    await deps.client.jsonPatch(R.application, req.namespace, req.name, [
      { op: 'test', path: `/metadata/finalizers/${i}`, value: fin.name },
      { op: 'remove', path: `/metadata/finalizers/${i}` },
    ]);
    req.log.info({ finalizer: fin.name }, 'resources deleted, finalizer removed');
  };

  const controller = manager.addController({ name: 'application', for: apps, reconciler: { reconcile }, workers: deps.workers });
  return controller;
}

/**
 * What the webhook route needs (src/gitops/webhook): the Applications from the shared cache, and a refresh that
 * sets the refresh annotation (so any replica can take the webhook and the leader acts).
 */
export function applicationWebhook(manager: Manager, client: KubeClient, secrets: WebhookSecrets): WebhookDeps {
  type Src = { repoURL?: string; targetRevision?: string };
  const apps = manager.cache<ApplicationObject & { spec?: { source?: Src; sources?: Src[] } }>(R.application);
  return {
    secrets,
    replay: new ReplayGuard(),
    apps: () =>
      // Every source of spec.sources: a push to the values repository refreshes the app too.
      apps.list().flatMap((a) =>
        (a.spec?.sources ?? (a.spec?.source !== undefined ? [a.spec.source] : [])).flatMap((src) =>
          src.repoURL === undefined ? [] : [{ key: `${a.metadata?.namespace}/${a.metadata?.name}`, repoURL: src.repoURL, targetRevision: src.targetRevision }],
        ),
      ),
    refresh: async (key) => {
      const i = key.indexOf('/');
      await client.mergePatch(R.application, key.slice(0, i), key.slice(i + 1), { metadata: { annotations: { [REFRESH_ANNOTATION]: new Date().toISOString() } } });
    },
  };
}

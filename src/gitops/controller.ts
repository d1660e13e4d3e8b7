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
import type { Manager } from '../runtime/manager.ts';
import { setCondition } from '../api/common/conditions.ts';
import { cascadeDelete, cascadeFinalizer, refOfLive } from './delete/cascade.ts';
import { sameState } from './diff/drift.ts';
import { assessHealth } from './health/health.ts';
import { refKey, refString, TRACKING_ANNOTATION } from './plan/plan.ts';
import { GitSource, type SourceLimits } from './source/git.ts';
import { HelmRepository } from './source/helmrepo.ts';
import { appSpecStatus, appSpecStatusChanged, checkApplication, INVALID_SPEC_ERROR } from './spec.ts';
import { REFRESH_ANNOTATION, type AppMemory } from './sync.ts';
import { comparisonError } from './sync-status.ts';
import { SyncTarget, type TargetShared } from './target.ts';
import { IN_CLUSTER_NAME, IN_CLUSTER_SERVER } from '../api/application/schema.ts';
import { KubeApiError } from '../kube/errors.ts';
import type { ClusterRegistry, RemoteCluster } from '../fleet/registry.ts';
import { ReplayGuard } from '../server/replay.ts';
import type { AppRef, WebhookDeps, WebhookSecrets } from './webhook/webhook.ts';
import { gitUses } from './appset/git.ts';

export const GITOPS_STATUS_MANAGER = 'sluice';
/** Argo CD's condition type when an Application's resources cannot be deleted. */
export const DELETION_ERROR = 'DeletionError';
const DELETE_POLL_MS = 1_000;
const DELETE_RETRY_MS = 10_000;
/** An app on an unreachable cluster looks again this often (the registry's probe also wakes it on recovery). */
const UNREACHABLE_RETRY_MS = 15_000;

type ApplicationObject = KubeObject & { status?: ApplicationStatus };

export interface ApplicationControllerDeps {
  client: KubeClient;
  events: EventRecorder;
  workers: number;
  /** Bare Git repositories live here (one per repository URL). Default: $SLUICE_GIT_CACHE or <tmp>/sluice-git. */
  gitCacheDir?: string;
  /** Remote clusters (src/fleet); without it only the operator's own cluster is a destination. */
  clusters?: ClusterRegistry;
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
  const memories = new Map<string, AppMemory & { target?: string }>();
  const shared: TargetShared = {
    homeClient: deps.client,
    source,
    charts: new HelmRepository(),
    shard: manager.shard,
    onEvent: (rt, ev, obj, old) => {
      const key = appKeyOf(obj);
      if (key === undefined) return;
      // Only for an app this replica holds (sharded: the old owner's watch still sees the objects leave on a move).
      const slash = key.indexOf('/');
      if (apps.get(key.slice(0, slash), key.slice(slash + 1)) === undefined) return;
      // Sharded: an object leaving this shard's watch was deleted or relabelled; its app looks for it live again.
      if (ev === 'delete') {
        const m = memories.get(key);
        if (m !== undefined) m.adopted = false;
      }
      if (ev === 'update' && old !== undefined && quietChange(memories.get(key), rt, old, obj)) return;
      controller.enqueue(key);
    },
  };
  const local = new SyncTarget({ name: IN_CLUSTER_NAME, client: deps.client, discovery, openCache: (rt, labelSelector) => manager.cache<KubeObject>(rt, { labelSelector }) }, shared);
  // Remote targets by cluster name, rebuilt when the registry rebuilds the cluster (a new RemoteCluster object).
  const remotes = new Map<string, { cluster: RemoteCluster; target: SyncTarget }>();
  const targetOf = (rc: RemoteCluster): SyncTarget => {
    const had = remotes.get(rc.spec.name);
    if (had?.cluster === rc) return had.target;
    const target = new SyncTarget({ name: rc.spec.name, client: rc.client, discovery: rc.discovery, openCache: (rt, sel) => rc.cache(rt, sel) }, shared);
    remotes.set(rc.spec.name, { cluster: rc, target });
    return target;
  };
  // A cluster that appears, changes, goes, or changes reachability: its apps (those naming it) look again.
  deps.clusters?.onChange((name) => {
    if (name === undefined) return;
    const rc = remotes.get(name);
    if (rc !== undefined && deps.clusters?.resolve({ name }).kind !== 'remote') remotes.delete(name);
    for (const a of apps.list()) {
      const dest = (a as { spec?: { destination?: { name?: string; server?: string } } }).spec?.destination;
      if (dest?.name === name || (dest?.server !== undefined && dest.server.replace(/\/+$/, '') === (rc?.cluster.spec.server ?? deps.clusters?.list().find((c) => c.name === name)?.server))) controller.enqueue(`${a.metadata?.namespace}/${a.metadata?.name}`);
    }
  });
  /** The target an Application's destination names, or why there is none (a condition naming the field). */
  const resolveTarget = (dest: { server?: string; name?: string; namespace?: string }): { target: SyncTarget; remote?: RemoteCluster } | { field: string; message: string } => {
    if (deps.clusters === undefined) {
      const server = dest.server?.replace(/\/+$/, '');
      if ((server === undefined || server === IN_CLUSTER_SERVER) && (dest.name === undefined || dest.name === IN_CLUSTER_NAME)) return { target: local };
      return { field: dest.server !== undefined ? 'spec.destination.server' : 'spec.destination.name', message: 'remote clusters are not enabled in this operator' };
    }
    const r = deps.clusters.resolve(dest);
    if (r.kind === 'local') return { target: local };
    if (r.kind === 'error') return r;
    // The Secret's `namespaces` limits what the cluster may be given (its watches are scoped to them too).
    const allowed = r.cluster.spec.namespaces;
    if (allowed.length > 0 && (dest.namespace === undefined || !allowed.includes(dest.namespace))) {
      return { field: 'spec.destination.namespace', message: `cluster "${r.cluster.spec.name}" is limited to namespaces ${allowed.join(', ')} (its Secret's namespaces), got "${dest.namespace ?? ''}"` };
    }
    return { target: targetOf(r.cluster), remote: r.cluster };
  };

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
    const resolved = resolveTarget(app.spec.destination);
    if (!('target' in resolved)) return destinationFailed(req, raw, generation, resolved, now);
    const { target, remote } = resolved;
    let memory = memories.get(req.key);
    // What the memory says was in sync, it says of one cluster: a new destination starts afresh.
    if (memory === undefined || memory.target !== target.cluster.name) {
      memory = { inSync: new Map(), target: target.cluster.name };
      memories.set(req.key, memory);
    }
    const pollMs = parseDuration(app.spec.pollInterval);
    const specStatus = appSpecStatus(raw.status, check, generation, now());
    const prev: ApplicationStatus = { ...raw.status, ...specStatus };
    // An unreachable cluster: a condition, nothing applied and nothing pruned, and a look again soon.
    if (remote !== undefined && !remote.health.reachable) return clusterUnreachable(req, raw, prev, remote, remote.health.message ?? '', now);
    let outcome;
    try {
      outcome = await target.syncer.reconcile(app, { ...raw, status: prev }, memory, req.log, now);
    } catch (err) {
      if (remote === undefined || !(err instanceof KubeApiError) || !['Network', 'Timeout'].includes(err.kind)) throw err;
      remote.report({ reachable: false, message: `unreachable: ${err.kind}: ${err.message}` });
      return clusterUnreachable(req, raw, prev, remote, `unreachable: ${err.kind}: ${err.message}`, now);
    }
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
    const dest = (raw as { spec?: { destination?: { server?: string; name?: string; namespace?: string } } }).spec?.destination ?? {};
    const resolved = resolveTarget(dest);
    if (!('target' in resolved)) {
      await deletionFailed(req, raw, `destination: ${resolved.field}: ${resolved.message}`, now);
      return { requeueAfterMs: DELETE_RETRY_MS };
    }
    const target = resolved.target;
    const watchedRefs = target.watchedObjects().filter((o) => appKeyOf(o) === req.key).map(refOfLive);
    const result = await cascadeDelete({ client: target.cluster.client, discovery: target.cluster.discovery }, id, [...inventory, ...watchedRefs], fin.propagation);
    if (result.failed.length > 0) {
      await deletionFailed(req, raw, `deleting the Application's resources (finalizer ${fin.name}): ${result.failed.map((f) => f.message).join('; ')}`, now);
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

  const deletionFailed = async (req: ReconcileRequest, raw: ApplicationObject, text: string, now: () => string): Promise<void> => {
    const message = text.slice(0, 2000);
    if (raw.status?.conditions?.find((c) => c.type === DELETION_ERROR)?.message === message) return;
    await writeStatus(req, { ...raw.status, conditions: setCondition(raw.status?.conditions, { type: DELETION_ERROR, status: 'True', reason: 'DeletionFailed', message }, now()) });
    await deps.events.record(raw, 'Warning', DELETION_ERROR, message.slice(0, 1000));
    req.log.warn({ reason: message }, 'cascade delete failed: the finalizer stays');
  };

  /** The destination names no usable cluster: InvalidSpecError naming the field (Argo CD's condition for it). */
  const destinationFailed = async (req: ReconcileRequest, raw: ApplicationObject, generation: number, e: { field: string; message: string }, now: () => string): Promise<void> => {
    const message = `${e.field}: ${e.message}`;
    const conditions = setCondition(raw.status?.conditions, { type: INVALID_SPEC_ERROR, status: 'True', reason: 'InvalidDestination', message }, now());
    if (raw.status?.observedGeneration === generation && sameJson(raw.status.conditions ?? [], conditions)) return;
    await writeStatus(req, { ...raw.status, observedGeneration: generation, conditions });
    req.log.warn({ field: e.field }, 'destination names no usable cluster');
    await deps.events.record(raw, 'Warning', INVALID_SPEC_ERROR, message.slice(0, 1000));
  };

  const clusterUnreachable = async (req: ReconcileRequest, raw: ApplicationObject, prev: ApplicationStatus, rc: RemoteCluster, why: string, now: () => string): Promise<ReconcileResult> => {
    const status = comparisonError(prev, `cluster "${rc.spec.name}" (${rc.spec.server}): ${why}`.slice(0, 2000), now());
    const { reconciledAt: _a, ...before } = raw.status ?? {};
    const { reconciledAt: _b, ...after } = status;
    if (!sameJson(before, after)) await writeStatus(req, { ...status, reconciledAt: now() });
    return { requeueAfterMs: UNREACHABLE_RETRY_MS };
  };

  // An app that leaves this replica's cache (deleted, or moved to another shard) is forgotten at once: if it comes
  // back, its next reconcile starts afresh (its objects taken over again), whatever is still queued.
  apps.on((ev, obj) => {
    if (ev === 'delete') memories.delete(`${obj.metadata?.namespace}/${obj.metadata?.name}`);
  });
  const controller = manager.addController({ name: 'application', for: apps, reconciler: { reconcile }, workers: deps.workers });
  return controller;
}

/**
 * What the webhook route needs (src/gitops/webhook): the Applications from the shared cache, and a refresh that
 * sets the refresh annotation (so any replica can take the webhook and the leader acts). With `applicationSets`
 * (fleet mode), the ApplicationSets whose git generators read the pushed repository too (keys `ApplicationSet/<ns>/
 * <name>`), so a commit reaches their generators and a RollingSync wave at once, not at the next poll.
 */
export function applicationWebhook(manager: Manager, client: KubeClient, secrets: WebhookSecrets, opts: { applicationSets?: boolean } = {}): WebhookDeps {
  type Src = { repoURL?: string; targetRevision?: string };
  // Every Application, not only this shard's: a push reaching any replica refreshes them all (through the apiserver).
  const apps = manager.cache<ApplicationObject & { spec?: { source?: Src; sources?: Src[] } }>(R.application, { shard: false });
  const sets = opts.applicationSets === true ? manager.cache<KubeObject & { spec?: { generators?: unknown } }>(R.applicationSet, { shard: false }) : undefined;
  return {
    secrets,
    replay: new ReplayGuard(),
    apps: () => [
      // Every source of spec.sources: a push to the values repository refreshes the app too.
      ...apps.list().flatMap((a) =>
        (a.spec?.sources ?? (a.spec?.source !== undefined ? [a.spec.source] : [])).flatMap((src) =>
          src.repoURL === undefined ? [] : [{ key: `${a.metadata?.namespace}/${a.metadata?.name}`, repoURL: src.repoURL, targetRevision: src.targetRevision }],
        ),
      ),
      ...(sets?.list() ?? []).flatMap((set) => applicationSetRefs(set)),
    ],
    refresh: async (key) => {
      const [resource, rest] = key.startsWith(SET_KEY) ? [R.applicationSet, key.slice(SET_KEY.length)] : [R.application, key];
      const i = rest.indexOf('/');
      await client.mergePatch(resource, rest.slice(0, i), rest.slice(i + 1), { metadata: { annotations: { [REFRESH_ANNOTATION]: new Date().toISOString() } } });
    },
  };
}

const SET_KEY = 'ApplicationSet/';

/**
 * A set's git generators (inside a matrix too) as webhook refs, and with RollingSync its template's Git sources; a
 * spec the set would refuse has none.
 */
export function applicationSetRefs(set: KubeObject & { spec?: SetSpec }): AppRef[] {
  const generators = Array.isArray(set.spec?.generators) ? (set.spec.generators as Parameters<typeof gitUses>[0]) : [];
  let uses: ReturnType<typeof gitUses>;
  try {
    uses = gitUses(generators);
  } catch {
    return [];
  }
  const key = `${SET_KEY}${set.metadata?.namespace}/${set.metadata?.name}`;
  const refs: AppRef[] = uses.filter((u) => typeof u.repoURL === 'string').map((u) => ({ key, repoURL: u.repoURL, ...(u.revision !== undefined ? { targetRevision: u.revision } : {}) }));
  // RollingSync pins the template's Git sources to commits: a push to them must reach the set (which moves the pins
  // step by step), whatever its generators are (a list or clusters generator reads no repository).
  return [...refs, ...(rollingSync(set) ? templateSources(set).map((s) => ({ key, ...s })) : [])];
}

type SetSpec = { generators?: unknown; strategy?: unknown; template?: unknown };
const rollingSync = (set: KubeObject & { spec?: SetSpec }): boolean => (set.spec?.strategy as { type?: unknown } | undefined)?.type === 'RollingSync';

/** The template's literal Git sources (a templated repoURL names no repository until rendered: the generators' refs cover it). */
function templateSources(set: KubeObject & { spec?: SetSpec }): { repoURL: string; targetRevision?: string }[] {
  const spec = (set.spec?.template as { spec?: { source?: unknown; sources?: unknown } } | undefined)?.spec;
  const sources = Array.isArray(spec?.sources) ? (spec.sources as unknown[]) : spec?.source !== undefined ? [spec.source] : [];
  return sources.flatMap((src) => {
    const s = src as { repoURL?: unknown; targetRevision?: unknown; chart?: unknown };
    if (typeof s.repoURL !== 'string' || s.repoURL.includes('{{') || s.chart !== undefined) return [];
    return [{ repoURL: s.repoURL, ...(typeof s.targetRevision === 'string' && !s.targetRevision.includes('{{') ? { targetRevision: s.targetRevision } : {}) }];
  });
}

// One Application reconcile after the spec check: Git → render → plan → compare → (sync: ordered apply, prune) →
// status. Each step is a module; this file sequences them and turns failures into status (errors are data).
//
// The sync is a resumable state machine without hidden state: every reconcile recomputes the plan and the live
// comparison; an operation waiting for a wave's health is `operationState.phase: Running` and the next reconcile
// simply continues from the first stage that is not synced and healthy. Memory (`AppMemory`) only saves requests.
import type { Application, ApplicationStatus } from '../api/application/schema.ts';
import { parseIgnoreDifferences, type IgnoreDifference } from '../api/application/ignore.ts';
import { HISTORY_LIMIT, RETRY_BACKOFF_DEFAULTS } from '../api/application/schema.ts';
import { parseDuration } from '../api/common/duration.ts';
import { removeCondition, setCondition } from '../api/common/conditions.ts';
import type { Logger } from '../log/logger.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import type { Discovery } from '../kube/discovery.ts';
import { isNotFound, KubeApiError } from '../kube/errors.ts';
import { R, type ResourceType } from '../kube/resource.ts';
import { applyManifest, isPermanentApplyError, SYNC_FIELD_MANAGER, type ApplyOutcome } from './apply/apply.ts';
import { forEachBounded } from './apply/pool.ts';
import { decideSync } from './decide.ts';
import { drifted, fingerprint, liveState, unchangedSince } from './diff/drift.ts';
import { needsManagedFields, respectIgnored, rulesFor } from './diff/ignore.ts';
import { assessHealth, worst, type Health } from './health/health.ts';
import { plan as makePlan, pruneVerdict, refKey, refString, stages, type AppId, type ObjectRef, type Plan, type PlannedObject } from './plan/plan.ts';
import { Lru, ParsedFileCache } from './render/cache.ts';
import { render } from './render/render.ts';
import { RenderError, type RenderedManifest } from './render/yaml.ts';
import { readCredentials } from './source/credentials.ts';
import { normalizePath, SourceError, type GitCredentials, type GitSource } from './source/git.ts';
import { RevisionNotFoundError } from './source/revision.ts';

/** Argo CD's condition types, so alerts written for Argo CD keep working. */
export const COMPARISON_ERROR = 'ComparisonError';
export const SYNC_ERROR = 'SyncError';
/** Set to a new value (a timestamp) to make the next reconcile check Git at once instead of at the next poll. */
export const REFRESH_ANNOTATION = 'sluice.dev/refresh';
/**
 * Set to a new value (a timestamp) to run one sync now, automated or not (the CLI's `sync` verb). Prune follows
 * syncPolicy.automated.prune, or is asked for by the word `prune` after the value ("2026-01-01T00:00:00Z prune",
 * what `kubectl sluice app sync --prune` writes). The request holds until its operation finishes (a sync waiting on
 * a wave keeps it). The handled value is remembered in memory only: after a restart a still-present value causes
 * one more sync, which is harmless (a sync is idempotent).
 */
export const SYNC_ANNOTATION = 'sluice.dev/sync';

/** Does a sync request's value ask for prune? */
export const syncRequestPrunes = (value: string | undefined): boolean => value?.trim().split(/\s+/).slice(1).includes('prune') === true;

/** How often a sync that waits for a wave's health looks again. */
export const WAVE_POLL_MS = 2_000;
const CRD_ESTABLISHED_TIMEOUT_MS = 30_000;
/**
 * Applies in flight at once within one kind of one wave. The client's rate limiter (qps/burst) still paces them;
 * this only stops one round trip at a time from being the limit.
 */
export const APPLY_CONCURRENCY = 16;
/** How long a compare waits for a just-opened watch of a managed kind to list, before asking object by object. */
const WATCH_SYNC_WAIT_MS = 10_000;

type SyncResultResource = NonNullable<NonNullable<NonNullable<ApplicationStatus['operationState']>['syncResult']>['resources']>[number];
type ResourceStatus = NonNullable<ApplicationStatus['resources']>[number];

export interface SyncDeps {
  client: KubeClient;
  discovery: Discovery;
  source: GitSource;
  /**
   * Live objects from a label-selected watch when it has synced ('unknown' before). A miss is an object that does
   * not exist or does not carry the instance label yet.
   */
  liveFromCache?: (rt: ResourceType, namespace: string, name: string) => KubeObject | undefined | 'unknown';
  /** Resolves when the watches of these kinds have listed (or at the deadline): one list instead of a GET each. */
  waitForWatches?: (kinds: ResourceType[], timeoutMs: number) => Promise<void>;
  /** Told of every kind the app manages, so the controller can watch it. */
  onKinds?: (kinds: ResourceType[]) => void;
}

/** What the controller remembers between reconciles of one app; losing it (a restart) costs one full compare. */
export interface AppMemory {
  /**
   * refKey → what was last found in sync: the live resourceVersion, the desired manifest's fingerprint, and the
   * live state (drift.ts liveState) then.
   */
  inSync: Map<string, { rv: string; fp: string; state: string }>;
  /** The last ls-remote: reconciles triggered by managed objects within the poll interval reuse its commit. */
  source?: { at: number; key: string; commit: string; base?: string; fetchRef?: string };
  /** The value of the sync annotation last acted on. */
  syncToken?: string;
}

export interface SyncOutcome {
  status: ApplicationStatus;
  requeueAfterMs: number;
  events: { type: 'Normal' | 'Warning'; reason: string; message: string }[];
}

interface Compared {
  obj: PlannedObject;
  rt: ResourceType | undefined;
  live: KubeObject | undefined;
  synced: boolean;
  health: Health;
  message?: string;
  /** What a sync applies: the planned manifest with spec.ignoreDifferences respected against `live`. */
  manifest?: KubeObject;
}

type Rendered = { ok: true; manifests: RenderedManifest[] } | { ok: false; error: string };

export class Syncer {
  private readonly d: SyncDeps;
  /** Render results by commit, path and render options: a poll that finds the same commit renders nothing. */
  private readonly renders = new Lru<Rendered>(200);
  /** File parses by blob: a commit that changes one file parses (and reads) one. */
  private readonly parsed = new ParsedFileCache();

  constructor(deps: SyncDeps) {
    this.d = deps;
  }

  async reconcile(app: Application, raw: KubeObject & { status?: ApplicationStatus }, memory: AppMemory, log: Logger, now: () => string): Promise<SyncOutcome> {
    const id: AppId = { namespace: raw.metadata?.namespace ?? '', name: raw.metadata?.name ?? '' };
    const prev = raw.status ?? {};
    const pollMs = parseDuration(app.spec.pollInterval);
    const path = normalizePath(app.spec.source.path);
    const events: SyncOutcome['events'] = [];
    const started = Date.now();

    // 1. Source: ls-remote, and a shallow fetch only when the commit is new here.
    const source = await this.checkSource(app, raw, id, memory, pollMs, log);
    if (typeof source !== 'string') {
      const status = this.comparisonError(prev, `source: ${source.error.message}`, now());
      if (prev.conditions?.find((c) => c.type === COMPARISON_ERROR)?.message !== `source: ${source.error.message}`) log.warn({ err: source.error.message }, 'source failed');
      return { status, requeueAfterMs: source.error instanceof SourceError && source.error.transient ? Math.min(pollMs, 30_000) : pollMs, events: [] };
    }
    const commit = source;
    // Where a reconcile's time goes (debug level): source, render, plan, compare, sync, in ms since the start.
    const marks: Record<string, number> = { source: Date.now() - started };
    const mark = (what: string): void => void (marks[what] = Date.now() - started);

    // 2. Render (cached by commit, path and options).
    const renderKey = `${app.spec.source.repoURL}@${commit}:${path}:${fingerprint({ d: app.spec.source.directory, k: app.spec.source.kustomize })}`;
    let rendered = this.renders.get(renderKey);
    if (rendered === undefined) {
      rendered = await this.render(app, commit, path);
      this.renders.set(renderKey, rendered);
    }

    mark('render');
    // 3. Plan.
    if (rendered.ok) await this.d.discovery.resolveAll(rendered.manifests.map((m) => ({ apiVersion: m.manifest.apiVersion, kind: m.manifest.kind })));
    const automated = app.spec.syncPolicy?.automated;
    const syncToken = raw.metadata?.annotations?.[SYNC_ANNOTATION];
    const manual = syncToken !== undefined && syncToken !== memory.syncToken;
    const inventory: ObjectRef[] = (prev.resources ?? []).map((r) => ({ group: r.group ?? '', version: r.version, kind: r.kind, namespace: r.namespace ?? '', name: r.name, syncWave: r.syncWave }));
    const plan = makePlan({
      app: id,
      destinationNamespace: app.spec.destination.namespace,
      rendered,
      namespaced: (apiVersion, kind) => this.d.discovery.cached(apiVersion, kind)?.namespaced,
      inventory,
      prune: automated?.prune === true || (manual && syncRequestPrunes(syncToken)),
      allowEmpty: automated?.allowEmpty === true,
    });
    if (plan.errors.length > 0) {
      const status = this.comparisonError(prev, plan.errors.join('; '), now(), commit);
      // Said once per new error (as an Event and a log line), not on every reconcile that finds it again.
      if (prev.conditions?.find((c) => c.type === COMPARISON_ERROR)?.message !== status.conditions?.find((c) => c.type === COMPARISON_ERROR)?.message) {
        log.warn({ errors: plan.errors }, 'render or plan failed: nothing applied, nothing pruned');
        events.push({ type: 'Warning', reason: COMPARISON_ERROR, message: plan.errors.join('; ').slice(0, 1000) });
      }
      return { status, requeueAfterMs: pollMs, events };
    }

    mark('plan');
    // 4. Compare every planned object with the cluster.
    const byKind = new Map<string, Promise<ResourceType | undefined>>();
    const rts = await Promise.all(
      plan.apply.map((o) => {
        const k = `${o.manifest.apiVersion} ${o.manifest.kind}`;
        let r = byKind.get(k);
        if (r === undefined) byKind.set(k, (r = this.d.discovery.resolve(o.manifest.apiVersion, o.manifest.kind)));
        return r;
      }),
    );
    const kinds = [...new Map(rts.filter((r): r is ResourceType => r !== undefined).map((r) => [`${r.group}/${r.plural}`, r])).values()];
    this.d.onKinds?.(kinds);
    await this.d.waitForWatches?.(kinds, WATCH_SYNC_WAIT_MS);
    const ignore = parseIgnoreDifferences(app.spec.ignoreDifferences).rules;
    let compared = await Promise.all(plan.apply.map((o, i) => this.compare(o, rts[i], memory, rulesFor(ignore, o.ref))));
    const outOfSync = compared.some((c) => !c.synced) || plan.prune.length > 0;

    mark('compare');
    // 5. Sync or not (decide.ts), retrying failed attempts with the policy's backoff and limit.
    const lastOp = prev.operationState;
    const retry = app.spec.syncPolicy?.retry;
    const decision = decideSync({
      commit,
      outOfSync,
      policy: app.spec.syncPolicy,
      lastOperation: lastOp,
      manualRequest: manual,
      backoff: {
        durationMs: parseDuration(retry?.backoff?.duration ?? RETRY_BACKOFF_DEFAULTS.duration),
        factor: retry?.backoff?.factor ?? RETRY_BACKOFF_DEFAULTS.factor,
        maxDurationMs: parseDuration(retry?.backoff?.maxDuration ?? RETRY_BACKOFF_DEFAULTS.maxDuration),
      },
      nowMs: Date.now(),
    });
    let operation = prev.operationState;
    let history = prev.history ?? [];
    let failedPrunes: ObjectRef[] = [];
    // The next poll is due one interval after the last ls-remote, whatever triggered this reconcile.
    let requeueAfterMs = Math.max(100, pollMs - (Date.now() - (memory.source?.at ?? Date.now())));
    if (decision.retryInMs !== undefined) requeueAfterMs = Math.min(requeueAfterMs, Math.max(100, decision.retryInMs));
    if (decision.sync) {
      // An operation waiting on a wave continues: its start time and the results of earlier stages carry over.
      const continuing = decision.continuing;
      const startedAt = continuing ? (lastOp?.startedAt ?? now()) : now();
      const createNamespace = app.spec.syncPolicy?.syncOptions?.includes('CreateNamespace=true') === true ? app.spec.destination.namespace : undefined;
      const run = await this.sync(id, plan, compared, memory, log, createNamespace);
      if (run.phase !== 'Running') memory.syncToken = syncToken;
      failedPrunes = run.failedPrunes;
      compared = run.compared;
      const finished = run.phase !== 'Running';
      // A failure at the commit that failed last time (not a person's request) is one more retry.
      const retried = run.phase === 'Failed' && lastOp?.phase === 'Failed' && lastOp.syncResult?.revision === commit && !manual;
      operation = {
        phase: run.phase,
        message: run.message,
        ...(retried ? { retryCount: (lastOp.retryCount ?? 0) + 1 } : {}),
        startedAt,
        ...(finished ? { finishedAt: now() } : {}),
        syncResult: { revision: commit, resources: continuing ? mergeResults(lastOp?.syncResult?.resources ?? [], run.results) : run.results },
      };
      if (run.phase === 'Running') requeueAfterMs = WAVE_POLL_MS;
      if (run.phase === 'Succeeded') {
        const last = history[history.length - 1];
        history = [...history, { id: (last?.id ?? -1) + 1, revision: commit, deployedAt: now(), source: app.spec.source }].slice(-HISTORY_LIMIT);
        events.push({ type: 'Normal', reason: 'SyncSucceeded', message: `synced ${commit.slice(0, 7)}: ${run.message}` });
      } else if (run.phase !== 'Running') {
        events.push({ type: 'Warning', reason: 'SyncFailed', message: `sync of ${commit.slice(0, 7)} failed: ${run.message}` });
      }
      log.info({ phase: run.phase, revision: commit, message: run.message }, 'sync');
    }

    mark('sync');
    log.debug({ ms: marks, objects: plan.apply.length, synced: decision.sync }, 'reconcile timings');
    // 6. Status.
    const resources: ResourceStatus[] = [
      ...compared.map((c) => ({ ...refFields(c.obj.ref), status: c.synced ? ('Synced' as const) : ('OutOfSync' as const), health: c.health, ...(c.obj.ref.syncWave !== undefined ? { syncWave: c.obj.ref.syncWave } : {}) })),
      // Still tracked: kept because prune is off, the render is empty, or the delete failed.
      ...plan.orphaned.map((o) => ({ ...refFields(o.ref), status: 'OutOfSync' as const, ...(o.ref.syncWave !== undefined ? { syncWave: o.ref.syncWave } : {}) })),
      ...failedPrunes.map((r) => ({ ...refFields(r), status: 'OutOfSync' as const, ...(r.syncWave !== undefined ? { syncWave: r.syncWave } : {}) })),
    ];
    const synced = resources.every((r) => r.status === 'Synced');
    let conditions = removeCondition(prev.conditions, COMPARISON_ERROR);
    conditions =
      operation?.phase === 'Failed' || operation?.phase === 'Error'
        ? setCondition(conditions, { type: SYNC_ERROR, status: 'True', reason: 'SyncFailed', message: operation.message }, now())
        : removeCondition(conditions, SYNC_ERROR);
    const status: ApplicationStatus = {
      ...prev,
      sync: { status: synced ? 'Synced' : 'OutOfSync', revision: commit },
      health: stripEmpty(worst(compared.map((c) => c.health))),
      resources,
      conditions,
      history,
      ...(operation !== undefined ? { operationState: operation } : {}),
    };
    return { status, requeueAfterMs, events };
  }

  /**
   * The commit targetRevision names. Within the poll interval (and with the same spec and refresh annotation) the
   * last answer is reused: reconciles triggered by managed objects must not turn into ls-remotes.
   */
  private async checkSource(app: Application, raw: KubeObject, id: AppId, memory: AppMemory, pollMs: number, log: Logger): Promise<string | { error: SourceError | RevisionNotFoundError }> {
    // A new value of the refresh or sync annotation (the CLI and webhooks set them) asks for an ls-remote now.
    const refresh = raw.metadata?.annotations?.[REFRESH_ANNOTATION];
    const sync = raw.metadata?.annotations?.[SYNC_ANNOTATION];
    const base = fingerprint({ url: app.spec.source.repoURL, rev: app.spec.source.targetRevision, creds: app.spec.credentials, gen: raw.metadata?.generation });
    const key = fingerprint({ base, refresh, sync });
    const checked = memory.source;
    if (checked !== undefined && checked.key === key && Date.now() - checked.at < pollMs) return checked.commit;
    try {
      const ref = app.spec.credentials?.secretRef;
      const creds: GitCredentials | undefined = ref === undefined ? undefined : await readCredentials(this.d.client, ref.namespace ?? id.namespace, ref.name);
      // A refresh (webhook, CLI) of an unchanged spec whose ref was fetched before: one incremental fetch names the tip.
      const known = checked?.base === base && checked.key !== key ? checked.fetchRef : undefined;
      const tip = known === undefined ? undefined : await this.d.source.fetchTip(app.spec.source.repoURL, known, creds);
      if (tip !== undefined) {
        memory.source = { at: Date.now(), key, commit: tip, base, fetchRef: known };
        log.debug({ commit: tip, previous: checked?.commit, why: 'refresh' }, 'fetched the tip');
        return tip;
      }
      const resolved = await this.d.source.resolve(app.spec.source.repoURL, app.spec.source.targetRevision, creds);
      const commit = await this.d.source.ensure(app.spec.source.repoURL, resolved, creds);
      memory.source = { at: Date.now(), key, commit, base, ...(resolved.kind === 'ref' && resolved.fetchRef.startsWith('refs/') ? { fetchRef: resolved.fetchRef } : {}) };
      log.debug({ commit, previous: checked?.commit, why: checked === undefined ? 'first' : checked.key === key ? 'interval' : 'spec or refresh' }, 'checked the remote');
      return commit;
    } catch (err) {
      if (err instanceof SourceError || err instanceof RevisionNotFoundError) return { error: err };
      throw err;
    }
  }

  private async render(app: Application, commit: string, path: string): Promise<Rendered> {
    const url = app.spec.source.repoURL;
    try {
      const cached = this.parsed.pin(path === '' ? '' : `${path}/`);
      const files = await this.d.source.readFiles(url, commit, path, { known: cached.known });
      const out = await render({ source: app.spec.source, path, files, readRepo: () => this.d.source.readFiles(url, commit, ''), parsed: cached.parsed });
      return { ok: true, manifests: out.manifests };
    } catch (err) {
      if (err instanceof RenderError || err instanceof SourceError) return { ok: false, error: err.message };
      throw err;
    }
  }

  private async compare(obj: PlannedObject, rt: ResourceType | undefined, memory: AppMemory, rules: IgnoreDifference[]): Promise<Compared> {
    if (rt === undefined) return { obj, rt, live: undefined, synced: false, health: { status: 'Missing' }, message: 'kind not served yet' };
    const key = refKey(obj.ref);
    const seen = memory.inSync.get(key);
    // The watch caches drop managedFields: rules naming managers need the object from the apiserver. A watch miss
    // is taken as it is (absent or not labelled: applying changes it either way) unless the live object matters
    // beyond that: ignoreDifferences adopts its values, and an object found in sync before may only lag the watch.
    const live = await this.live(rt, obj.ref, needsManagedFields(rules), rules.length === 0 && seen === undefined);
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
      outcome = await applyManifest(this.d.client, rt, manifest, { dryRun: true });
    } catch (err) {
      if (!isPermanentApplyError(err)) throw err;
      return { obj, rt, live, synced: false, health: assessHealth(live), message: (err as Error).message, manifest };
    }
    const synced = !drifted(live, outcome.object, rules);
    if (synced) memory.inSync.set(key, { rv, fp, state: liveState(live) });
    else memory.inSync.delete(key);
    return { obj, rt, live, synced, health: assessHealth(live), manifest };
  }

  private async live(rt: ResourceType, ref: ObjectRef, withManagedFields = false, missMeansAbsent = false): Promise<KubeObject | undefined> {
    // A watched copy makes a quiet app cost no requests; a miss may be an object not labelled yet, so ask.
    const cached = withManagedFields || this.d.liveFromCache === undefined ? 'unknown' : this.d.liveFromCache(rt, ref.namespace, ref.name);
    if (cached !== undefined && cached !== 'unknown') return cached;
    if (cached === undefined && missMeansAbsent) return undefined;
    try {
      return await this.d.client.get<KubeObject>(rt, ref.namespace === '' ? undefined : ref.namespace, ref.name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Applies stage by stage, waiting for health between stages, then prunes. */
  private async sync(
    app: AppId,
    plan: Plan,
    compared: Compared[],
    memory: AppMemory,
    log: Logger,
    createNamespace: string | undefined,
  ): Promise<{ phase: 'Running' | 'Failed' | 'Succeeded'; message: string; results: SyncResultResource[]; compared: Compared[]; failedPrunes: ObjectRef[] }> {
    const results: SyncResultResource[] = [];
    // Argo CD's CreateNamespace=true: the destination namespace is created when the repository does not declare it.
    // It is deliberately not tracked (no label, no annotation, not in the inventory), so it is never pruned.
    if (createNamespace !== undefined && !plan.apply.some((o) => o.ref.kind === 'Namespace' && o.ref.group === '' && o.ref.name === createNamespace)) {
      try {
        await this.d.client.get(R.namespace, undefined, createNamespace);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await this.d.client.apply(R.namespace, { metadata: { name: createNamespace } }, SYNC_FIELD_MANAGER);
        log.info({ namespace: createNamespace }, 'created the destination namespace (CreateNamespace=true)');
      }
    }
    const byKey = new Map(compared.map((c) => [refKey(c.obj.ref), c]));
    const all = stages(plan.apply);
    let applied = 0;
    for (let s = 0; s < all.length; s++) {
      const stage = all[s] ?? [];
      // Within a stage, one kind after another (Argo CD's order: ConfigMaps exist before the Deployments that mount
      // them), and the objects of one kind in parallel.
      for (const batch of kindBatches(stage)) {
        const done: (SyncResultResource | undefined)[] = [];
        try {
          await forEachBounded(batch, APPLY_CONCURRENCY, async (obj, i) => {
            const c = byKey.get(refKey(obj.ref));
            if (c === undefined || c.synced) return;
            const rt = c.rt ?? (await this.d.discovery.resolve(obj.manifest.apiVersion, obj.manifest.kind));
            if (rt === undefined) throw new StageFailure(obj.ref, `the server does not serve ${obj.manifest.kind} in ${obj.manifest.apiVersion}`, 'kind not served');
            const manifest = c.manifest ?? obj.manifest;
            let out: ApplyOutcome;
            try {
              out = await applyManifest(this.d.client, rt, manifest, { dryRun: false });
            } catch (err) {
              if (!isPermanentApplyError(err)) throw err;
              const message = err instanceof Error ? err.message : String(err);
              log.warn({ object: refString(obj.ref), err: message }, 'apply failed');
              throw new StageFailure(obj.ref, message, message);
            }
            applied++;
            const kept = out.respected.map((f) => `${f.field} (${f.manager})`);
            done[i] = { ...refFields(obj.ref), status: 'Synced', message: kept.length > 0 ? `left to other managers: ${kept.join(', ')}` : 'applied' };
            memory.inSync.set(refKey(obj.ref), { rv: out.object.metadata?.resourceVersion ?? '', fp: fingerprint(manifest), state: liveState(out.object) });
            byKey.set(refKey(obj.ref), { ...c, rt, live: out.object, synced: true, health: assessHealth(out.object) });
            if (obj.ref.kind === 'CustomResourceDefinition') {
              await this.waitEstablished(rt, obj.ref.name);
              // Its kinds were looked up (and missed) when planning: look again now that they are served.
              const spec = (obj.manifest as { spec?: { group?: string; versions?: { name?: string }[] } }).spec;
              for (const v of spec?.versions ?? []) if (spec?.group !== undefined && v.name !== undefined) this.d.discovery.invalidate(`${spec.group}/${v.name}`);
            }
          });
        } catch (err) {
          if (!(err instanceof StageFailure)) throw err;
          results.push(...done.filter((r) => r !== undefined), { ...refFields(err.ref), status: 'SyncFailed', message: err.message });
          return { phase: 'Failed', message: `${refString(err.ref)}: ${err.summary}`, results, compared: [...byKey.values()], failedPrunes: [] };
        }
        results.push(...done.filter((r) => r !== undefined));
      }
      // Later stages wait for this one to be healthy (a wave is a promise that its objects work, not just exist).
      if (s < all.length - 1) {
        const fresh = await Promise.all(stage.map(async (o) => ({ o, live: await this.live(byKey.get(refKey(o.ref))?.rt ?? (await this.resolveRef(o)), o.ref) })));
        for (const { o, live } of fresh) {
          const c = byKey.get(refKey(o.ref));
          if (c !== undefined) byKey.set(refKey(o.ref), { ...c, live, health: assessHealth(live) });
        }
        const waiting = fresh.map(({ o, live }) => ({ o, h: assessHealth(live) })).filter(({ h }) => h.status !== 'Healthy');
        const degraded = waiting.find(({ h }) => h.status === 'Degraded');
        if (degraded !== undefined) {
          return { phase: 'Failed', message: `${refString(degraded.o.ref)} is Degraded: ${degraded.h.message ?? ''}`, results, compared: [...byKey.values()], failedPrunes: [] };
        }
        if (waiting.length > 0) {
          const w = waiting[0]!;
          return {
            phase: 'Running',
            message: `waiting for ${waiting.length} object(s) of wave ${String(stage[0]?.wave === -Infinity ? 'namespaces/CRDs' : stage[0]?.wave)} to become healthy: ${refString(w.o.ref)} is ${w.h.status}`,
            results,
            compared: [...byKey.values()],
            failedPrunes: [],
          };
        }
      }
    }

    // Prune (plan.prune is already in reverse wave order). A failed delete keeps the object in the inventory.
    const failedPrunes: ObjectRef[] = [];
    let pruned = 0;
    for (const ref of plan.prune) {
      const apiVersion = ref.group === '' ? (ref.version ?? 'v1') : `${ref.group}/${ref.version ?? 'v1'}`;
      const rt = await this.d.discovery.resolve(apiVersion, ref.kind);
      if (rt === undefined) {
        results.push({ ...refFields(ref), status: 'PruneSkipped', message: 'kind no longer served' });
        continue;
      }
      const live = await this.live(rt, ref);
      const verdict = pruneVerdict(app, ref, live);
      if (!verdict.delete) {
        results.push({ ...refFields(ref), status: 'PruneSkipped', message: verdict.reason });
        continue;
      }
      try {
        await this.d.client.delete(rt, ref.namespace === '' ? undefined : ref.namespace, ref.name, { propagationPolicy: 'Background', uid: live?.metadata?.uid });
        pruned++;
        memory.inSync.delete(refKey(ref));
        results.push({ ...refFields(ref), status: 'Pruned', message: 'pruned' });
      } catch (err) {
        if (isNotFound(err)) continue;
        failedPrunes.push(ref);
        results.push({ ...refFields(ref), status: 'SyncFailed', message: `prune failed: ${err instanceof Error ? err.message : String(err)}` });
      }
    }
    const message = `${applied} applied, ${pruned} pruned${failedPrunes.length > 0 ? `, ${failedPrunes.length} prune(s) failed` : ''}`;
    return { phase: failedPrunes.length > 0 ? 'Failed' : 'Succeeded', message, results, compared: [...byKey.values()], failedPrunes };
  }

  private async resolveRef(o: PlannedObject): Promise<ResourceType> {
    const rt = await this.d.discovery.resolve(o.manifest.apiVersion, o.manifest.kind);
    if (rt === undefined) throw new KubeApiError({ kind: 'NotFound', status: 404, message: `${o.manifest.kind} not served` });
    return rt;
  }

  /** A custom resource of a CRD applied in this sync needs the CRD Established (and discovery refreshed) first. */
  private async waitEstablished(rt: ResourceType, name: string): Promise<void> {
    const deadline = Date.now() + CRD_ESTABLISHED_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const crd = await this.d.client.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(rt, undefined, name);
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`CustomResourceDefinition ${name} not Established within ${CRD_ESTABLISHED_TIMEOUT_MS / 1000} s`);
  }

  private comparisonError(prev: ApplicationStatus, message: string, now: string, revision?: string): ApplicationStatus {
    // The inventory (resources) and history stay: nothing was applied or pruned, and the next good render resumes.
    return {
      ...prev,
      sync: { status: 'Unknown', ...(revision !== undefined ? { revision } : prev.sync?.revision !== undefined ? { revision: prev.sync.revision } : {}) },
      conditions: setCondition(prev.conditions, { type: COMPARISON_ERROR, status: 'True', reason: 'ComparisonError', message }, now),
    };
  }
}

/** Results of earlier reconciles of one operation, updated by this one's (same object: the newer result wins). */
function mergeResults(earlier: SyncResultResource[], later: SyncResultResource[]): SyncResultResource[] {
  const key = (r: SyncResultResource): string => `${r.group ?? ''}/${r.kind}:${r.namespace ?? ''}/${r.name}`;
  const laterKeys = new Set(later.map(key));
  return [...earlier.filter((r) => !laterKeys.has(key(r))), ...later];
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

function refFields(r: ObjectRef): { group?: string; version?: string; kind: string; namespace?: string; name: string } {
  return { ...(r.group !== '' ? { group: r.group } : {}), ...(r.version !== undefined ? { version: r.version } : {}), kind: r.kind, ...(r.namespace !== '' ? { namespace: r.namespace } : {}), name: r.name };
}

function stripEmpty(h: Health): Health {
  return h.message === undefined ? { status: h.status } : h;
}

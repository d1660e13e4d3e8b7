// One Application reconcile after the spec check: Git → render → plan → compare → (sync: ordered apply, prune) →
// status. Each stage is a module (sync-source, sync-compare, sync-apply, sync-prune, sync-status); this file
// sequences them and turns failures into status (errors are data).
//
// The sync is a resumable state machine without hidden state: every reconcile recomputes the plan and the live
// comparison; an operation waiting for a wave's health is `operationState.phase: Running` and the next reconcile
// simply continues from the first stage that is not synced and healthy. Memory (`AppMemory`) only saves requests.
import type { Application, ApplicationStatus } from '../api/application/schema.ts';
import { parseIgnoreDifferences } from '../api/application/ignore.ts';
import { appSources, RETRY_BACKOFF_DEFAULTS } from '../api/application/schema.ts';
import { parseDuration } from '../api/common/duration.ts';
import type { Logger } from '../log/logger.ts';
import type { KubeObject } from '../kube/client.ts';
import { decideSync, type SyncDecision } from './decide.ts';
import { plan as makePlan, type AppId, type ObjectRef, type Plan } from './plan/plan.ts';
import { SourceError, type GitSource } from './source/git.ts';
import { runSync } from './sync-apply.ts';
import { compareAll } from './sync-compare.ts';
import { COMPARISON_ERROR, SYNC_ANNOTATION, syncRequestPrunes, WAVE_POLL_MS, type AppMemory, type Compared, type SyncDeps, type SyncOutcome } from './sync-shared.ts';
import { DecryptionError, SopsDecryptor } from './decrypt/sops.ts';
import { CachedRenderer, checkSources, type Rendered, type SourceFailure } from './sync-source.ts';
import { afterRun, comparisonError, finalStatus } from './sync-status.ts';

export { APPLY_CONCURRENCY } from './sync-apply.ts';
export { COMPARISON_ERROR, REFRESH_ANNOTATION, SYNC_ANNOTATION, SYNC_ERROR, syncRequestPrunes, WAVE_POLL_MS } from './sync-shared.ts';
export type { AppMemory, SyncDeps, SyncOutcome } from './sync-shared.ts';

type RawApp = KubeObject & { status?: ApplicationStatus };

/** One reconcile's inputs, shared by its stages. */
interface Turn {
  app: Application;
  id: AppId;
  prev: ApplicationStatus;
  memory: AppMemory;
  log: Logger;
  now: () => string;
  events: SyncOutcome['events'];
  /** The sync annotation's value, and whether it is a request not acted on yet. */
  syncToken: string | undefined;
  manual: boolean;
  /** With spec.sources: each source's revision (status records them apart). */
  revisions: string[] | undefined;
}

/** What the sync stage leaves for the status: the compare updated by the applies, and the operation. */
interface Synced {
  compared: Compared[];
  failedPrunes: ObjectRef[];
  operation: ApplicationStatus['operationState'];
  history: NonNullable<ApplicationStatus['history']>;
}

export class Syncer {
  private readonly d: SyncDeps;
  private readonly renderer: CachedRenderer;
  private readonly sops: SopsDecryptor;

  constructor(deps: SyncDeps) {
    this.d = deps;
    this.renderer = new CachedRenderer(deps);
    this.sops = new SopsDecryptor(deps.client);
  }

  async reconcile(app: Application, raw: RawApp, memory: AppMemory, log: Logger, now: () => string): Promise<SyncOutcome> {
    const id: AppId = { namespace: raw.metadata?.namespace ?? '', name: raw.metadata?.name ?? '' };
    const prev = raw.status ?? {};
    const pollMs = parseDuration(app.spec.pollInterval);
    const started = Date.now();

    // 1. Source: ls-remote, and a shallow fetch only when the commit is new here (each source's, with spec.sources).
    const source = await checkSources(this.d, app, raw, id, memory, pollMs, log);
    if (!Array.isArray(source)) return sourceFailed(prev, source, pollMs, log, now);
    // Several sources: one revision string (comma-joined) keys the operation; status shows them apart (revisions).
    const revisions = app.spec.sources === undefined ? undefined : source;
    const commit = source.join(',');
    // Where a reconcile's time goes (debug level): source, render, plan, compare, sync, in ms since the start.
    const marks: Record<string, number> = { source: Date.now() - started };
    const mark = (what: string): void => void (marks[what] = Date.now() - started);

    // 2. Render (cached by commit, path and options), then decrypt SOPS objects (never cached in the render).
    const rendered = await this.decrypt(app, id, source, await this.renderer.render(app, id, source));
    mark('render');

    // 3. Plan.
    const syncToken = raw.metadata?.annotations?.[SYNC_ANNOTATION];
    const t: Turn = { app, id, prev, memory, log, now, events: [], syncToken, manual: syncToken !== undefined && syncToken !== memory.syncToken, revisions };
    const plan = await this.plan(t, rendered);
    if (plan.errors.length > 0) return planFailed(t, plan, commit, pollMs);
    mark('plan');

    // 3b. Sharded: before this replica's first compare of the app, its objects carry our label and sit in our watches,
    // so a watch miss means absent, never "still labelled for the previous owner".
    if (this.d.adopt !== undefined && memory.adopted !== true) {
      const { moved, complete } = await this.d.adopt(id, plan.apply);
      if (moved > 0) log.info({ objects: moved }, 'took the managed objects over from their previous shard');
      memory.adopted = complete;
    }

    // 4. Compare every planned object with the cluster.
    const compared = await compareAll(this.d, plan.apply, memory, parseIgnoreDifferences(app.spec.ignoreDifferences).rules);
    const outOfSync = compared.some((c) => !c.synced) || plan.prune.length > 0;
    mark('compare');

    // 5. Sync or not (decide.ts), retrying failed attempts with the policy's backoff and limit.
    const decision = decide(t, commit, outOfSync);
    // The next poll is due one interval after the last ls-remote, whatever triggered this reconcile.
    let requeueAfterMs = Math.max(100, pollMs - (Date.now() - (memory.source?.at ?? Date.now())));
    if (decision.retryInMs !== undefined) requeueAfterMs = Math.min(requeueAfterMs, Math.max(100, decision.retryInMs));
    // No sync: what waits to be pruned stays in the inventory (a later sync prunes it).
    let synced: Synced = { compared, failedPrunes: plan.prune, operation: prev.operationState, history: prev.history ?? [] };
    if (decision.sync) {
      synced = await this.sync(t, plan, compared, commit, decision.continuing);
      if (synced.operation?.phase === 'Running') requeueAfterMs = WAVE_POLL_MS;
    }
    mark('sync');
    log.debug({ ms: marks, objects: plan.apply.length, synced: decision.sync }, 'reconcile timings');

    // 6. Status.
    const status = finalStatus(prev, { commit, ...(revisions !== undefined ? { revisions } : {}), plan, now, ...synced });
    return { status, requeueAfterMs, events: t.events };
  }

  /** The render with SOPS objects decrypted; a failure is a render failure naming the file (nothing applied or pruned). */
  private decrypt(app: Application, id: AppId, revisions: string[], rendered: Rendered): Promise<Rendered> {
    return decryptRendered(this.d.source, this.sops, app, id, revisions, rendered);
  }

  /** What to apply and prune; kinds are looked up first so namespaced-ness is known. */
  private async plan(t: Turn, rendered: Rendered): Promise<Plan> {
    if (rendered.ok) await this.d.discovery.resolveAll(rendered.manifests.map((m) => ({ apiVersion: m.manifest.apiVersion, kind: m.manifest.kind })));
    const automated = t.app.spec.syncPolicy?.automated;
    const inventory: ObjectRef[] = (t.prev.resources ?? []).map((r) => ({ group: r.group ?? '', version: r.version, kind: r.kind, namespace: r.namespace ?? '', name: r.name, syncWave: r.syncWave }));
    return makePlan({
      app: t.id,
      destinationNamespace: t.app.spec.destination.namespace,
      rendered,
      namespaced: (apiVersion, kind) => this.d.discovery.cached(apiVersion, kind)?.namespaced,
      inventory,
      prune: automated?.prune === true || (t.manual && syncRequestPrunes(t.syncToken)),
      allowEmpty: automated?.allowEmpty === true,
      ...(this.d.shard !== undefined ? { shard: this.d.shard } : {}),
    });
  }

  /** Runs (or continues) the sync operation and records it. */
  private async sync(t: Turn, plan: Plan, compared: Compared[], commit: string, continuing: boolean): Promise<Synced> {
    const lastOp = t.prev.operationState;
    // An operation waiting on a wave continues: its start time carries over.
    const startedAt = continuing ? (lastOp?.startedAt ?? t.now()) : t.now();
    const createNamespace = t.app.spec.syncPolicy?.syncOptions?.includes('CreateNamespace=true') === true ? t.app.spec.destination.namespace : undefined;
    const prior = continuing ? (lastOp?.syncResult?.resources ?? []) : [];
    const run = await runSync(this.d, t.id, plan, compared, t.memory, t.log, createNamespace, { startedAt, prior });
    if (run.phase !== 'Running') t.memory.syncToken = t.syncToken;
    const { operation, history } = afterRun(t.prev, run, { commit, ...(t.revisions !== undefined ? { revisions: t.revisions } : {}), continuing, manual: t.manual, startedAt, now: t.now, spec: t.app.spec, events: t.events });
    t.log.info({ phase: run.phase, revision: commit, message: run.message }, 'sync');
    return { compared: run.compared, failedPrunes: run.failedPrunes, operation, history };
  }
}

function sourceFailed(prev: ApplicationStatus, failure: SourceFailure, pollMs: number, log: Logger, now: () => string): SyncOutcome {
  const { error, field } = failure;
  const message = field === undefined ? `source: ${error.message}` : `source: ${field}: ${error.message}`;
  const status = comparisonError(prev, message, now());
  if (prev.conditions?.find((c) => c.type === COMPARISON_ERROR)?.message !== message) log.warn({ err: error.message, field }, 'source failed');
  return { status, requeueAfterMs: error instanceof SourceError && error.transient ? Math.min(pollMs, 30_000) : pollMs, events: [] };
}

function planFailed(t: Turn, plan: Plan, commit: string, pollMs: number): SyncOutcome {
  const status = comparisonError(t.prev, plan.errors.join('; '), t.now(), commit, t.revisions);
  // Said once per new error (as an Event and a log line), not on every reconcile that finds it again.
  if (t.prev.conditions?.find((c) => c.type === COMPARISON_ERROR)?.message !== status.conditions?.find((c) => c.type === COMPARISON_ERROR)?.message) {
    t.log.warn({ errors: plan.errors }, 'render or plan failed: nothing applied, nothing pruned');
    t.events.push({ type: 'Warning', reason: COMPARISON_ERROR, message: plan.errors.join('; ').slice(0, 1000) });
  }
  return { status, requeueAfterMs: pollMs, events: t.events };
}

function decide(t: Turn, commit: string, outOfSync: boolean): SyncDecision {
  const retry = t.app.spec.syncPolicy?.retry;
  return decideSync({
    commit,
    outOfSync,
    policy: t.app.spec.syncPolicy,
    lastOperation: t.prev.operationState,
    manualRequest: t.manual,
    backoff: {
      durationMs: parseDuration(retry?.backoff?.duration ?? RETRY_BACKOFF_DEFAULTS.duration),
      factor: retry?.backoff?.factor ?? RETRY_BACKOFF_DEFAULTS.factor,
      maxDurationMs: parseDuration(retry?.backoff?.maxDuration ?? RETRY_BACKOFF_DEFAULTS.maxDuration),
    },
    nowMs: Date.now(),
  });
}

/**
 * A render with its SOPS objects decrypted (the sync's and `kubectl sluice app diff`'s); a failure is a render failure
 * naming the file, so nothing is applied or pruned.
 */
export async function decryptRendered(source: GitSource, sops: SopsDecryptor, app: Application, id: AppId, revisions: string[], rendered: Rendered): Promise<Rendered> {
  if (!rendered.ok) return rendered;
  // The committed SOPS documents are read from the Git sources at the revisions rendered (charts from a Helm
  // repository hold none that Sluice decrypts).
  const texts = async (): Promise<{ path: string; text: string }[]> => {
    const git = appSources(app.spec).flatMap((src, i) => (src.chart === undefined && revisions[i] !== undefined ? [{ src, rev: revisions[i] }] : []));
    let files: { path: string; content: Uint8Array }[];
    try {
      files = (await Promise.all(git.map(({ src, rev }) => source.readFiles(src.repoURL, rev, '')))).flat();
    } catch (err) {
      if (err instanceof SourceError) throw new DecryptionError(`reading the sources for their SOPS files: ${err.message}`);
      throw err;
    }
    return files.filter((f) => /\.(ya?ml|json)$/i.test(f.path)).map((f) => ({ path: f.path, text: Buffer.from(f.content).toString('utf8') }));
  };
  try {
    return { ok: true, manifests: await sops.decrypt(rendered.manifests, app.spec.decryption, id.namespace, texts) };
  } catch (err) {
    if (err instanceof DecryptionError) return { ok: false, error: `decryption: ${err.message}` };
    throw err;
  }
}

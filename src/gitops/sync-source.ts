// The source and render stages of a reconcile: which commit targetRevision names (ls-remote, or one incremental
// fetch on a refresh), and the manifests at that commit, cached by commit and by file blob.
import type { Application } from '../api/application/schema.ts';
import type { Logger } from '../log/logger.ts';
import type { KubeObject } from '../kube/client.ts';
import { fingerprint } from './diff/drift.ts';
import type { AppId } from './plan/plan.ts';
import { ClusterCapabilities, KeyedLock, Lru, ParsedFileCache } from './render/cache.ts';
import { renderChartArchive, type HelmContext } from './render/helm.ts';
import { render } from './render/render.ts';
import { RenderError, type RenderedManifest } from './render/yaml.ts';
import { readCredentials } from './source/credentials.ts';
import { SourceError, type GitCredentials } from './source/git.ts';
import { RevisionNotFoundError } from './source/revision.ts';
import { REFRESH_ANNOTATION, SYNC_ANNOTATION, type AppMemory, type SyncDeps } from './sync-shared.ts';

export type Rendered = { ok: true; manifests: RenderedManifest[] } | { ok: false; error: string };

/**
 * The commit targetRevision names. Within the poll interval (and with the same spec and refresh annotation) the
 * last answer is reused: reconciles triggered by managed objects must not turn into ls-remotes.
 */
export async function checkSource(
  d: SyncDeps,
  app: Application,
  raw: KubeObject,
  id: AppId,
  memory: AppMemory,
  pollMs: number,
  log: Logger,
): Promise<string | { error: SourceError | RevisionNotFoundError }> {
  // A new value of the refresh or sync annotation (the CLI and webhooks set them) asks for an ls-remote now.
  const refresh = raw.metadata?.annotations?.[REFRESH_ANNOTATION];
  const sync = raw.metadata?.annotations?.[SYNC_ANNOTATION];
  const base = fingerprint({ url: app.spec.source.repoURL, rev: app.spec.source.targetRevision, creds: app.spec.credentials, gen: raw.metadata?.generation });
  const key = fingerprint({ base, refresh, sync });
  const checked = memory.source;
  if (checked !== undefined && checked.key === key && Date.now() - checked.at < pollMs) return checked.commit;
  try {
    const ref = app.spec.credentials?.secretRef;
    const creds: GitCredentials | undefined = ref === undefined ? undefined : await readCredentials(d.client, ref.namespace ?? id.namespace, ref.name);
    const chart = app.spec.source.chart;
    if (chart !== undefined) {
      // A Helm repository: the "revision" is the chart version targetRevision names now.
      if (d.charts === undefined) throw new SourceError('charts from Helm repositories are not read here', false);
      const v = await d.charts.resolve(app.spec.source.repoURL, chart, app.spec.source.targetRevision, creds);
      memory.source = { at: Date.now(), key, commit: v.version, base };
      log.debug({ chart, version: v.version, previous: checked?.commit }, 'checked the Helm repository');
      return v.version;
    }
    // A refresh (webhook, CLI) of an unchanged spec whose ref was fetched before: one incremental fetch names the tip.
    const known = checked?.base === base && checked.key !== key ? checked.fetchRef : undefined;
    const tip = known === undefined ? undefined : await d.source.fetchTip(app.spec.source.repoURL, known, creds);
    if (tip !== undefined) {
      memory.source = { at: Date.now(), key, commit: tip, base, fetchRef: known };
      log.debug({ commit: tip, previous: checked?.commit, why: 'refresh' }, 'fetched the tip');
      return tip;
    }
    const resolved = await d.source.resolve(app.spec.source.repoURL, app.spec.source.targetRevision, creds);
    const commit = await d.source.ensure(app.spec.source.repoURL, resolved, creds);
    memory.source = { at: Date.now(), key, commit, base, ...(resolved.kind === 'ref' && resolved.fetchRef.startsWith('refs/') ? { fetchRef: resolved.fetchRef } : {}) };
    log.debug({ commit, previous: checked?.commit, why: checked === undefined ? 'first' : checked.key === key ? 'interval' : 'spec or refresh' }, 'checked the remote');
    return commit;
  } catch (err) {
    if (err instanceof SourceError || err instanceof RevisionNotFoundError) return { error: err };
    throw err;
  }
}

/** Renders an app's path at a commit, remembering whole renders and single-file parses across reconciles. */
export class CachedRenderer {
  private readonly d: SyncDeps;
  /** Render results by commit, path and render options: a poll that finds the same commit renders nothing. */
  private readonly renders = new Lru<Rendered>(200);
  /** File parses by blob: a commit that changes one file parses (and reads) one. */
  private readonly parsed = new ParsedFileCache();
  private readonly locks = new KeyedLock();
  private readonly capabilities: ClusterCapabilities;

  constructor(deps: SyncDeps) {
    this.d = deps;
    this.capabilities = new ClusterCapabilities(deps.client);
  }

  async render(app: Application, id: AppId, commit: string, path: string): Promise<Rendered> {
    // One render at a time per Application (a slow chart must not be rendered twice at once by two reconciles).
    return this.locks.run(`${id.namespace}/${id.name}`, async () => {
      if (app.spec.source.chart !== undefined) return this.renderRepoChart(app, id, app.spec.source.chart, commit);
      // A chart's output also depends on the release defaults and the cluster's versions.
      const helm = app.spec.source.helm !== undefined || (await this.isChart(app, commit, path)) ? await this.helmContext(app, id) : undefined;
      const renderKey = `${app.spec.source.repoURL}@${commit}:${path}:${fingerprint({ d: app.spec.source.directory, k: app.spec.source.kustomize, h: app.spec.source.helm, helm })}`;
      let rendered = this.renders.get(renderKey);
      if (rendered === undefined) {
        rendered = await this.renderUncached(app, commit, path, helm);
        this.renders.set(renderKey, rendered);
      }
      return rendered;
    });
  }

  /** A chart from a Helm repository at `version`, cached like a Git render (by version, options and cluster). */
  private async renderRepoChart(app: Application, id: AppId, chart: string, version: string): Promise<Rendered> {
    const helm = await this.helmContext(app, id);
    const renderKey = `${app.spec.source.repoURL}#${chart}@${version}:${fingerprint({ h: app.spec.source.helm, helm })}`;
    const hit = this.renders.get(renderKey);
    if (hit !== undefined) return hit;
    let rendered: Rendered;
    try {
      if (this.d.charts === undefined) throw new SourceError('charts from Helm repositories are not read here', false);
      const ref = app.spec.credentials?.secretRef;
      const creds = ref === undefined ? undefined : await readCredentials(this.d.client, ref.namespace ?? id.namespace, ref.name);
      const v = await this.d.charts.lookup(app.spec.source.repoURL, chart, version, creds);
      const archive = await this.d.charts.archive(app.spec.source.repoURL, v, creds);
      rendered = { ok: true, manifests: await renderChartArchive(archive, chart, app.spec.source.helm ?? {}, helm) };
    } catch (err) {
      if (err instanceof RenderError || err instanceof SourceError || err instanceof RevisionNotFoundError) return { ok: false, error: err.message };
      throw err;
    }
    this.renders.set(renderKey, rendered);
    return rendered;
  }

  private async isChart(app: Application, commit: string, path: string): Promise<boolean> {
    try {
      const top = await this.d.source.readFiles(app.spec.source.repoURL, commit, path, { known: () => 0, maxDepth: 0 });
      return top.some((f) => f.path === 'Chart.yaml');
    } catch {
      return false; // the render reports it
    }
  }

  private async helmContext(app: Application, id: AppId): Promise<HelmContext> {
    const cluster = await this.capabilities.get();
    return { releaseName: id.name, namespace: app.spec.destination.namespace ?? id.namespace, ...cluster };
  }

  private async renderUncached(app: Application, commit: string, path: string, helm: HelmContext | undefined): Promise<Rendered> {
    const url = app.spec.source.repoURL;
    try {
      const cached = this.parsed.pin(path === '' ? '' : `${path}/`);
      const files = await this.d.source.readFiles(url, commit, path, { known: cached.known });
      const out = await render({
        source: app.spec.source,
        path,
        files,
        readRepo: () => this.d.source.readFiles(url, commit, ''),
        parsed: cached.parsed,
        ...(helm !== undefined ? { helm: () => Promise.resolve(helm) } : {}),
      });
      return { ok: true, manifests: out.manifests };
    } catch (err) {
      if (err instanceof RenderError || err instanceof SourceError) return { ok: false, error: err.message };
      throw err;
    }
  }
}

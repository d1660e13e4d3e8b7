// The source and render stages of a reconcile: which commit targetRevision names (ls-remote, or one incremental
// fetch on a refresh), and the manifests at that commit, cached by commit and by file blob.
import { appSources, sourceField, type Application, type ApplicationSource } from '../api/application/schema.ts';
import { posix } from 'node:path';
import type { Logger } from '../log/logger.ts';
import type { KubeObject } from '../kube/client.ts';
import { fingerprint } from './diff/drift.ts';
import type { AppId } from './plan/plan.ts';
import { ClusterCapabilities, KeyedLock, Lru, ParsedFileCache } from './render/cache.ts';
import { HELM_LIMITS, parseRefPath, placeRefValueFiles, renderChartArchive, type HelmContext } from './render/helm.ts';
import { render, type RawFile } from './render/render.ts';
import { RenderError, type RenderedManifest } from './render/yaml.ts';
import { readCredentials } from './source/credentials.ts';
import { normalizePath, SourceError, type GitCredentials } from './source/git.ts';
import { isCommitSha, RevisionNotFoundError } from './source/revision.ts';
import { REFRESH_ANNOTATION, SYNC_ANNOTATION, type AppMemory, type SourceMemory, type SyncDeps } from './sync-shared.ts';

export type Rendered = { ok: true; manifests: RenderedManifest[] } | { ok: false; error: string };

/**
 * The commit targetRevision names. Within the poll interval (and with the same spec and refresh annotation) the
 * last answer is reused: reconciles triggered by managed objects must not turn into ls-remotes.
 */
export async function checkSource(
  d: SyncDeps,
  app: Application,
  src: ApplicationSource,
  raw: KubeObject,
  id: AppId,
  memory: SourceMemory,
  pollMs: number,
  log: Logger,
): Promise<string | { error: SourceError | RevisionNotFoundError }> {
  // A new value of the refresh or sync annotation (the CLI and webhooks set them) asks for an ls-remote now.
  const refresh = raw.metadata?.annotations?.[REFRESH_ANNOTATION];
  const sync = raw.metadata?.annotations?.[SYNC_ANNOTATION];
  const base = fingerprint({ url: src.repoURL, rev: src.targetRevision, creds: app.spec.credentials, gen: raw.metadata?.generation });
  const key = fingerprint({ base, refresh, sync });
  const checked = memory.source;
  if (checked !== undefined && checked.key === key && Date.now() - checked.at < pollMs) return checked.commit;
  try {
    const ref = app.spec.credentials?.secretRef;
    const creds: GitCredentials | undefined = ref === undefined ? undefined : await readCredentials(d.homeClient ?? d.client, ref.namespace ?? id.namespace, ref.name);
    const chart = src.chart;
    if (chart !== undefined) {
      // A Helm repository: the "revision" is the chart version targetRevision names now.
      if (d.charts === undefined) throw new SourceError('charts from Helm repositories are not read here', false);
      const v = await d.charts.resolve(src.repoURL, chart, src.targetRevision, creds);
      memory.source = { at: Date.now(), key, commit: v.version, base };
      log.debug({ chart, version: v.version, previous: checked?.commit }, 'checked the Helm repository');
      return v.version;
    }
    // A refresh (webhook, CLI) of an unchanged spec whose ref was fetched before: one incremental fetch names the tip.
    const known = checked?.base === base && checked.key !== key ? checked.fetchRef : undefined;
    const tip = known === undefined ? undefined : await d.source.fetchTip(src.repoURL, known, creds);
    if (tip !== undefined) {
      memory.source = { at: Date.now(), key, commit: tip, base, fetchRef: known };
      log.debug({ commit: tip, previous: checked?.commit, why: 'refresh' }, 'fetched the tip');
      return tip;
    }
    const resolved = await d.source.resolve(src.repoURL, src.targetRevision, creds);
    const commit = await d.source.ensure(src.repoURL, resolved, creds);
    // A refresh may take a new tip by one fetch only when targetRevision names a ref: a commit SHA that happened to be a
    // tip when resolved stays that commit (RollingSync pins Applications so; a refresh must not move them).
    const followsRef = resolved.kind === 'ref' && resolved.fetchRef.startsWith('refs/') && !isCommitSha(src.targetRevision);
    memory.source = { at: Date.now(), key, commit, base, ...(followsRef ? { fetchRef: resolved.fetchRef } : {}) };
    log.debug({ commit, previous: checked?.commit, why: checked === undefined ? 'first' : checked.key === key ? 'interval' : 'spec or refresh' }, 'checked the remote');
    return commit;
  } catch (err) {
    if (err instanceof SourceError || err instanceof RevisionNotFoundError) return { error: err };
    throw err;
  }
}

/** A source that failed, and its field when the Application has several (its message names it). */
export interface SourceFailure {
  error: SourceError | RevisionNotFoundError;
  field?: string;
}

/**
 * The revision of every source, in spec order. Several sources are checked one after the other, each remembering
 * its own last answer; `memory.source` then holds the oldest check, so the next poll comes one interval after it.
 */
export async function checkSources(d: SyncDeps, app: Application, raw: KubeObject, id: AppId, memory: AppMemory, pollMs: number, log: Logger): Promise<string[] | SourceFailure> {
  if (app.spec.sources === undefined) {
    const one = app.spec.source === undefined ? undefined : await checkSource(d, app, app.spec.source, raw, id, memory, pollMs, log);
    if (one === undefined) return { error: new SourceError('spec.source: required', false) };
    return typeof one === 'string' ? [one] : one;
  }
  const slots = (memory.sources ??= []);
  slots.length = app.spec.sources.length;
  const revisions: string[] = [];
  for (const [i, src] of app.spec.sources.entries()) {
    const slot = (slots[i] ??= {});
    const rev = await checkSource(d, app, src, raw, id, slot, pollMs, log.child({ source: i }));
    if (typeof rev !== 'string') return { ...rev, field: sourceField(app.spec, i) };
    revisions.push(rev);
  }
  const at = Math.min(...slots.map((x) => x?.source?.at ?? Date.now()));
  memory.source = { at, key: '', commit: revisions.join(',') };
  return revisions;
}

/** A ref source without a path only lends files (Argo CD): it renders nothing. */
export function rendersNothing(src: ApplicationSource): boolean {
  return src.ref !== undefined && src.path === undefined && src.chart === undefined;
}

/**
 * The objects of several sources in one plan: a failed source fails the whole render (nothing applied or pruned),
 * and an object two sources render is an error naming both. Pure.
 */
export function mergeRendered(parts: { field: string; rendered: Rendered }[]): Rendered {
  // One source: its render as cached (the same object on a cache hit, no copy of a large render).
  if (parts.length === 1 && parts[0] !== undefined) return parts[0].rendered;
  const manifests: RenderedManifest[] = [];
  const seen = new Map<string, string>();
  const errors: string[] = [];
  for (const { field, rendered } of parts) {
    if (!rendered.ok) return { ok: false, error: parts.length > 1 ? `${field}: ${rendered.error}` : rendered.error };
    for (const m of rendered.manifests) {
      const where = parts.length > 1 ? `${field}: ${m.source}` : m.source;
      const { apiVersion, kind, metadata } = m.manifest;
      const key = `${apiVersion.split('/').slice(0, -1).join('/')}/${kind}/${metadata.namespace ?? ''}/${metadata.name}`;
      const first = seen.get(key);
      if (parts.length > 1 && first !== undefined && !first.startsWith(`${field}: `)) errors.push(`${kind} ${metadata.name} is rendered by two sources: ${first} and ${where}`);
      else seen.set(key, where);
      manifests.push(parts.length > 1 ? { ...m, source: where } : m);
    }
  }
  return errors.length > 0 ? { ok: false, error: errors.join('; ') } : { ok: true, manifests };
}

/** One source to render and what it needs: its field for messages and the ref sources (name → source, revision). */
interface SourceJob {
  src: ApplicationSource;
  field: string;
  revision: string;
  path: string;
  refs: Map<string, { src: ApplicationSource; revision: string; field: string }>;
}

/** Renders an app's sources at their revisions, remembering whole renders and single-file parses across reconciles. */
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

  /** Every source of `app` at `revisions` (spec order), merged into one render. */
  async render(app: Application, id: AppId, revisions: string[]): Promise<Rendered> {
    const sources = appSources(app.spec);
    const refs = new Map<string, { src: ApplicationSource; revision: string; field: string }>();
    sources.forEach((src, i) => {
      if (src.ref !== undefined && revisions[i] !== undefined) refs.set(src.ref, { src, revision: revisions[i], field: sourceField(app.spec, i) });
    });
    // One render at a time per Application (a slow chart must not be rendered twice at once by two reconciles).
    return this.locks.run(`${id.namespace}/${id.name}`, async () => {
      const parts: { field: string; rendered: Rendered }[] = [];
      for (const [i, src] of sources.entries()) {
        if (app.spec.sources !== undefined && rendersNothing(src)) continue;
        const job: SourceJob = { src, field: sourceField(app.spec, i), revision: revisions[i] ?? '', path: normalizePath(src.path), refs };
        parts.push({ field: job.field, rendered: await this.renderOne(app, id, job) });
      }
      return mergeRendered(parts);
    });
  }

  private async renderOne(app: Application, id: AppId, job: SourceJob): Promise<Rendered> {
    const { src, revision: commit, path } = job;
    // Other sources' value files are part of the key by their revision.
    const refKey = [...job.refs.values()].map((r) => `${r.src.repoURL}@${r.revision}`);
    if (src.chart !== undefined) return this.renderRepoChart(app, id, job, src.chart, refKey);
    // A chart's output also depends on the release defaults and the cluster's versions.
    const helm = src.helm !== undefined || (await this.isChart(src, commit, path)) ? await this.helmContext(app, id, job.field) : undefined;
    const renderKey = `${src.repoURL}@${commit}:${path}:${fingerprint({ d: src.directory, k: src.kustomize, h: src.helm, helm, refKey: helm === undefined ? [] : refKey })}`;
    let rendered = this.renders.get(renderKey);
    if (rendered === undefined) {
      rendered = await this.renderUncached(app, job, helm);
      this.renders.set(renderKey, rendered);
    }
    return rendered;
  }

  /** A chart from a Helm repository at `version`, cached like a Git render (by version, options and cluster). */
  private async renderRepoChart(app: Application, id: AppId, job: SourceJob, chart: string, refKey: string[]): Promise<Rendered> {
    const { src, revision: version } = job;
    const helm = await this.helmContext(app, id, job.field);
    const renderKey = `${src.repoURL}#${chart}@${version}:${fingerprint({ h: src.helm, helm, refKey })}`;
    const hit = this.renders.get(renderKey);
    if (hit !== undefined) return hit;
    let rendered: Rendered;
    try {
      if (this.d.charts === undefined) throw new SourceError('charts from Helm repositories are not read here', false);
      const ref = app.spec.credentials?.secretRef;
      const creds = ref === undefined ? undefined : await readCredentials(this.d.homeClient ?? this.d.client, ref.namespace ?? id.namespace, ref.name);
      const v = await this.d.charts.lookup(src.repoURL, chart, version, creds);
      const archive = await this.d.charts.archive(src.repoURL, v, creds);
      const refFiles = await this.readRefValueFiles(job);
      rendered = { ok: true, manifests: await renderChartArchive(archive, chart, src.helm ?? {}, helm, HELM_LIMITS, refFiles) };
    } catch (err) {
      if (err instanceof RenderError || err instanceof SourceError || err instanceof RevisionNotFoundError) return { ok: false, error: err.message };
      throw err;
    }
    this.renders.set(renderKey, rendered);
    return rendered;
  }

  /**
   * The contents of the source's `$ref/…` value files, keyed by the value file as written, read from the ref
   * source's checkout at its revision. An unknown ref, or a missing file (unless ignoreMissingValueFiles), is a
   * RenderError naming the value file's field.
   */
  private async readRefValueFiles(job: SourceJob): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    const helm = job.src.helm;
    for (const [i, vf] of (helm?.valueFiles ?? []).entries()) {
      if (!vf.startsWith('$')) continue;
      const field = `${job.field}.helm.valueFiles[${i}]`;
      const p = parseRefPath(vf);
      const ref = p === undefined ? undefined : job.refs.get(p.ref);
      if (p === undefined || ref === undefined) throw new RenderError(field, undefined, `${JSON.stringify(vf)} names no source of spec.sources with that ref (known: ${[...job.refs.keys()].join(', ') || 'none'})`);
      const dir = posix.dirname(p.path);
      let found: Uint8Array | undefined;
      try {
        const files = await this.d.source.readFiles(ref.src.repoURL, ref.revision, dir === '.' ? '' : dir, { maxDepth: 0 });
        found = files.find((f) => f.path === posix.basename(p.path))?.content;
      } catch (err) {
        if (!(err instanceof SourceError)) throw err;
      }
      if (found !== undefined) out.set(vf, found);
      else if (helm?.ignoreMissingValueFiles !== true) throw new RenderError(field, undefined, `values file ${JSON.stringify(vf)} does not exist: no ${p.path} in ${ref.field} (${ref.src.repoURL} at ${ref.revision.slice(0, 12)})`);
    }
    return out;
  }

  private async isChart(src: ApplicationSource, commit: string, path: string): Promise<boolean> {
    try {
      const top = await this.d.source.readFiles(src.repoURL, commit, path, { known: () => 0, maxDepth: 0 });
      return top.some((f) => f.path === 'Chart.yaml');
    } catch {
      return false; // the render reports it
    }
  }

  private async helmContext(app: Application, id: AppId, field: string): Promise<HelmContext> {
    const cluster = await this.capabilities.get();
    return { releaseName: id.name, namespace: app.spec.destination.namespace ?? id.namespace, ...cluster, ...(field === 'spec.source' ? {} : { field: `${field}.helm` }) };
  }

  private async renderUncached(app: Application, job: SourceJob, helm: HelmContext | undefined): Promise<Rendered> {
    const { src, revision: commit, path } = job;
    const url = src.repoURL;
    try {
      let source = src;
      let extraFiles: RawFile[] = [];
      if (helm !== undefined && src.helm?.valueFiles?.some((vf) => vf.startsWith('$')) === true) {
        const placed = placeRefValueFiles(src.helm, path, await this.readRefValueFiles(job));
        source = { ...src, helm: placed.opts };
        extraFiles = placed.files;
      }
      const cached = this.parsed.pin(path === '' ? '' : `${path}/`);
      const files = await this.d.source.readFiles(url, commit, path, { known: cached.known });
      const out = await render({
        source,
        path,
        files,
        readRepo: () => this.d.source.readFiles(url, commit, ''),
        parsed: cached.parsed,
        extraFiles,
        ...(helm !== undefined ? { helm: () => Promise.resolve(helm) } : {}),
      });
      return { ok: true, manifests: out.manifests };
    } catch (err) {
      if (err instanceof RenderError || err instanceof SourceError) return { ok: false, error: err.message };
      throw err;
    }
  }
}

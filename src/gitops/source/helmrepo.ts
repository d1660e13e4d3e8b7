// Charts from an HTTP(S) Helm repository (Argo CD's `repoURL` + `chart` + `targetRevision` as a version or range):
// index.yaml read on each check (the caller checks once per poll interval), the version picked by semver.ts, the
// chart archive downloaded once per version and kept in memory. Basic-auth credentials go to the repository's own
// origin only (a chart URL on another host gets none, as Helm without --pass-credentials).
import { parse } from 'yaml';
import { z } from 'zod';
import { Lru } from '../render/cache.ts';
import type { GitCredentials } from './git.ts';
import { RevisionNotFoundError } from './revision.ts';
import { maxSatisfying } from './semver.ts';
import { OciCharts, readCapped } from './oci.ts';
import { SourceError } from './git.ts';

export interface ChartVersion {
  chart: string;
  version: string;
  /** Absolute URL of the archive (for an OCI registry: oci://…/chart:tag, a key only). */
  url: string;
  /** The OCI tag of the version, for a chart from an OCI registry. */
  tag?: string;
}

const indexSchema = z.object({
  entries: z.record(z.string(), z.array(z.looseObject({ version: z.string(), urls: z.array(z.string()).min(1) })).nullable()),
});

export interface HelmRepoLimits {
  timeoutMs: number;
  maxIndexBytes: number;
  maxChartBytes: number;
}

export const HELM_REPO_LIMITS: HelmRepoLimits = { timeoutMs: 60_000, maxIndexBytes: 32 * 1024 * 1024, maxChartBytes: 16 * 1024 * 1024 };

/** Pure: the version of `chart` that `range` names in an index, or why there is none. */
export function pickChartVersion(indexText: string, repoURL: string, chart: string, range: string | undefined): ChartVersion {
  let parsed: z.infer<typeof indexSchema>;
  try {
    parsed = indexSchema.parse(parse(indexText));
  } catch (e) {
    throw new SourceError(`${repoURL}: index.yaml is not a Helm repository index (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`, false);
  }
  const entries = parsed.entries[chart] ?? [];
  if (entries.length === 0) throw new RevisionNotFoundError(`chart "${chart}" is not in the repository ${repoURL} (it has: ${Object.keys(parsed.entries).slice(0, 10).join(', ') || 'none'})`);
  const picked = maxSatisfying(
    entries.map((e) => e.version),
    range,
  );
  if (typeof picked === 'object') throw new RevisionNotFoundError(`targetRevision: ${picked.error}`);
  if (picked === undefined) {
    throw new RevisionNotFoundError(`no version of chart "${chart}" matches "${range ?? ''}" (available: ${entries.map((e) => e.version).slice(0, 10).join(', ')})`);
  }
  const entry = entries.find((e) => e.version === picked);
  const url = new URL(entry?.urls[0] ?? '', repoURL.endsWith('/') ? repoURL : `${repoURL}/`).toString();
  return { chart, version: picked, url };
}

export class HelmRepository {
  private readonly limits: HelmRepoLimits;
  private readonly archives = new Lru<Uint8Array>(50);
  /** Versions resolved, by repository, chart and version: the render finds the archive's URL here. */
  private readonly resolved = new Lru<ChartVersion>(500);
  /** repoURLs starting with oci:// are OCI registries. */
  private readonly oci: OciCharts;

  constructor(limits: Partial<HelmRepoLimits> = {}) {
    this.limits = { ...HELM_REPO_LIMITS, ...limits };
    this.oci = new OciCharts(this.limits);
  }

  /** Reads the index (an OCI registry: the tags) and picks the version `range` names. */
  async resolve(repoURL: string, chart: string, range: string | undefined, creds?: GitCredentials): Promise<ChartVersion> {
    if (repoURL.startsWith('oci://')) {
      const { version, tag } = await this.oci.resolve(repoURL, chart, range, creds);
      const v = { chart, version, tag, url: `${repoURL.replace(/\/+$/, '')}/${chart}:${tag}` };
      this.resolved.set(`${repoURL}\0${chart}\0${version}`, v);
      return v;
    }
    const base = repoURL.endsWith('/') ? repoURL : `${repoURL}/`;
    const text = Buffer.from(await this.get(new URL('index.yaml', base).toString(), repoURL, creds, this.limits.maxIndexBytes)).toString('utf8');
    const v = pickChartVersion(text, repoURL, chart, range);
    this.resolved.set(`${repoURL}\0${chart}\0${v.version}`, v);
    return v;
  }

  /** A version resolved before (else resolved again, exactly). */
  async lookup(repoURL: string, chart: string, version: string, creds?: GitCredentials): Promise<ChartVersion> {
    return this.resolved.get(`${repoURL}\0${chart}\0${version}`) ?? (await this.resolve(repoURL, chart, version, creds));
  }

  /** The chart archive of a resolved version (downloaded once per URL). */
  async archive(repoURL: string, v: ChartVersion, creds?: GitCredentials): Promise<Uint8Array> {
    const hit = this.archives.get(v.url);
    if (hit !== undefined) return hit;
    const bytes = v.tag !== undefined ? await this.oci.archive(repoURL, v.chart, v.tag, creds) : await this.get(v.url, repoURL, creds, this.limits.maxChartBytes);
    this.archives.set(v.url, bytes);
    return bytes;
  }

  private async get(url: string, repoURL: string, creds: GitCredentials | undefined, max: number): Promise<Uint8Array> {
    const sameOrigin = new URL(url).origin === new URL(repoURL).origin;
    const headers: Record<string, string> = creds !== undefined && sameOrigin ? { Authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` } : {};
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: AbortSignal.timeout(this.limits.timeoutMs), redirect: 'follow' });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new SourceError(`GET ${url}: ${cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e))}`, true, e);
    }
    if (res.status === 401 || res.status === 403) throw new SourceError(`GET ${url}: authentication failed (HTTP ${res.status})`, false);
    if (!res.ok) throw new SourceError(`GET ${url}: HTTP ${res.status}`, res.status >= 500);
    return readCapped(res, url, max);
  }
}

// Charts from an OCI registry (`repoURL: oci://host[:port]/path` + `chart` + `targetRevision`, as Argo CD and
// `helm pull oci://…` take them), over the OCI distribution API: the tags list names the versions (Helm writes `+` as
// `_` in tags), semver.ts picks one, the manifest names the chart layer, whose blob is the chart archive (its digest
// checked). Loopback registries are spoken to over plain HTTP (as Docker treats localhost registries), all others
// over HTTPS. Credentials (spec.credentials) go as basic auth, or are traded for a bearer token when the registry asks
// for one (`WWW-Authenticate: Bearer realm=…`), as registries with token auth do.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { GitCredentials } from './git.ts';
import { SourceError } from './git.ts';
import { RevisionNotFoundError } from './revision.ts';
import { compareVersions, maxSatisfying, parseVersion, type Version } from './semver.ts';

export const HELM_CHART_LAYER = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';
const MANIFEST_TYPES = 'application/vnd.oci.image.manifest.v1+json';

export interface OciRef {
  /** http(s)://host[:port] */
  origin: string;
  /** The repository path of the chart: `charts/web` for oci://host/charts + web. */
  repository: string;
}

/** Pure: where `chart` of `repoURL` (oci://host/path) lives, or a SourceError naming the URL. */
export function ociRef(repoURL: string, chart: string): OciRef {
  let url: URL;
  try {
    url = new URL(repoURL.replace(/^oci:\/\//, 'https://'));
  } catch {
    throw new SourceError(`${repoURL}: not an oci://host/path URL`, false);
  }
  if (!repoURL.startsWith('oci://') || url.search !== '' || url.hash !== '') throw new SourceError(`${repoURL}: not an oci://host/path URL`, false);
  const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || url.hostname.startsWith('127.');
  const path = url.pathname.replace(/^\/+|\/+$/g, '');
  return { origin: `${loopback ? 'http' : 'https'}://${url.host}`, repository: path === '' ? chart : `${path}/${chart}` };
}

/** Pure: the chart version `range` names among a repository's tags (`_` read as `+`), or why there is none. */
export function pickTag(tags: string[], repoURL: string, chart: string, range: string | undefined): { version: string; tag: string } {
  const versions = new Map(tags.map((t) => [t.replaceAll('_', '+'), t]));
  if (versions.size === 0) throw new RevisionNotFoundError(`chart "${chart}" has no versions in ${repoURL}`);
  const picked = maxSatisfying([...versions.keys()], range);
  if (typeof picked === 'object') throw new RevisionNotFoundError(`targetRevision: ${picked.error}`);
  if (picked === undefined) {
    // Newest first, as a Helm repository's index lists them (a registry lists tags in its own order).
    const parsed = [...versions.keys()].flatMap((v): { v: string; p: Version }[] => {
      const p = parseVersion(v);
      return p === undefined ? [] : [{ v, p }];
    });
    const newest = parsed.sort((a, b) => compareVersions(b.p, a.p)).map((x) => x.v);
    throw new RevisionNotFoundError(`no version of chart "${chart}" matches "${range ?? ''}" (available: ${newest.slice(0, 10).join(', ') || 'no semver tags'})`);
  }
  return { version: picked, tag: versions.get(picked) ?? picked };
}

const manifestSchema = z.object({ layers: z.array(z.looseObject({ mediaType: z.string(), digest: z.string(), size: z.number().optional() })) });

/** Pure: the digest of the chart layer of an OCI manifest, or why it is not a Helm chart. */
export function chartLayer(manifest: unknown, where: string): string {
  const parsed = manifestSchema.safeParse(manifest);
  const layer = parsed.success ? parsed.data.layers.find((l) => l.mediaType === HELM_CHART_LAYER) : undefined;
  if (layer === undefined || !/^sha256:[0-9a-f]{64}$/.test(layer.digest)) throw new SourceError(`${where}: not a Helm chart (no ${HELM_CHART_LAYER} layer)`, false);
  return layer.digest;
}

const tagsSchema = z.object({ tags: z.array(z.string()).nullable().optional() });

export interface OciLimits {
  timeoutMs: number;
  maxChartBytes: number;
}

/** The registry side: tags, manifests and blobs of charts. */
export class OciCharts {
  private readonly limits: OciLimits;
  /** Bearer tokens by origin and repository (a registry's token is scoped to one repository). */
  private readonly tokens = new Map<string, string>();

  constructor(limits: OciLimits) {
    this.limits = limits;
  }

  async resolve(repoURL: string, chart: string, range: string | undefined, creds?: GitCredentials): Promise<{ version: string; tag: string }> {
    const ref = ociRef(repoURL, chart);
    const body = await this.get(ref, `/v2/${ref.repository}/tags/list`, creds, 'application/json', 4 * 1024 * 1024);
    const parsed = tagsSchema.safeParse(JSON.parse(Buffer.from(body).toString('utf8')));
    if (!parsed.success) throw new SourceError(`${repoURL}: the tags list of ${chart} is not the distribution API's`, false);
    return pickTag(parsed.data.tags ?? [], repoURL, chart, range);
  }

  /** The chart archive at `tag`, its digest checked. */
  async archive(repoURL: string, chart: string, tag: string, creds?: GitCredentials): Promise<Uint8Array> {
    const ref = ociRef(repoURL, chart);
    const where = `${repoURL}/${chart}:${tag}`;
    const manifest = await this.get(ref, `/v2/${ref.repository}/manifests/${encodeURIComponent(tag)}`, creds, MANIFEST_TYPES, 1024 * 1024);
    let doc: unknown;
    try {
      doc = JSON.parse(Buffer.from(manifest).toString('utf8'));
    } catch {
      throw new SourceError(`${where}: the manifest is not JSON`, false);
    }
    const digest = chartLayer(doc, where);
    const blob = await this.get(ref, `/v2/${ref.repository}/blobs/${digest}`, creds, '*/*', this.limits.maxChartBytes);
    if (`sha256:${createHash('sha256').update(blob).digest('hex')}` !== digest) throw new SourceError(`${where}: the chart layer does not match its digest ${digest}`, false);
    return blob;
  }

  private async get(ref: OciRef, path: string, creds: GitCredentials | undefined, accept: string, max: number): Promise<Uint8Array> {
    const url = `${ref.origin}${path}`;
    const key = `${ref.origin} ${ref.repository}`;
    const basic = creds === undefined ? undefined : `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    const token = this.tokens.get(key);
    let res = await this.fetch(url, { Accept: accept, ...(token !== undefined ? { Authorization: `Bearer ${token}` } : basic !== undefined ? { Authorization: basic } : {}) });
    const challenge = res.status === 401 ? bearerChallenge(res.headers.get('www-authenticate')) : undefined;
    if (challenge !== undefined) {
      const fresh = await this.token(challenge, ref, basic);
      this.tokens.set(key, fresh);
      res = await this.fetch(url, { Accept: accept, Authorization: `Bearer ${fresh}` });
    }
    if (res.status === 401 || res.status === 403) throw new SourceError(`GET ${url}: authentication failed (HTTP ${res.status})`, false);
    if (res.status === 404) throw new RevisionNotFoundError(`GET ${url}: not found in the registry (HTTP 404)`);
    if (!res.ok) throw new SourceError(`GET ${url}: HTTP ${res.status}`, res.status >= 500);
    return readCapped(res, url, max);
  }

  /** A token from the registry's token service, for pulling `ref` (the password as basic auth, when there is one). */
  private async token(c: { realm: string; service?: string }, ref: OciRef, basic: string | undefined): Promise<string> {
    const url = new URL(c.realm);
    if (c.service !== undefined) url.searchParams.set('service', c.service);
    url.searchParams.set('scope', `repository:${ref.repository}:pull`);
    const res = await this.fetch(url.toString(), basic === undefined ? {} : { Authorization: basic });
    if (!res.ok) throw new SourceError(`GET ${url.origin}${url.pathname}: the registry's token service refused (HTTP ${res.status})`, false);
    const body = z.object({ token: z.string().optional(), access_token: z.string().optional() }).safeParse(JSON.parse(Buffer.from(await readCapped(res, url.toString(), 1024 * 1024)).toString('utf8')));
    const token = body.success ? (body.data.token ?? body.data.access_token) : undefined;
    if (token === undefined) throw new SourceError(`GET ${url.origin}${url.pathname}: no token in the token service's answer`, false);
    return token;
  }

  private async fetch(url: string, headers: Record<string, string>): Promise<Response> {
    try {
      return await fetch(url, { headers, signal: AbortSignal.timeout(this.limits.timeoutMs), redirect: 'follow' });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new SourceError(`GET ${url}: ${cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e))}`, true, e);
    }
  }
}

/** Pure: the realm and service of a `Bearer realm="…",service="…"` challenge. */
export function bearerChallenge(header: string | null): { realm: string; service?: string } | undefined {
  if (header === null || !/^bearer\s/i.test(header)) return undefined;
  const params = new Map<string, string>([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [(m[1] ?? '').toLowerCase(), m[2] ?? '']));
  const realm = params.get('realm');
  const service = params.get('service');
  if (realm === undefined || !/^https?:\/\//.test(realm)) return undefined;
  return { realm, ...(service !== undefined ? { service } : {}) };
}

/** The body of a response, refused past `max` bytes (a SourceError naming the URL). */
export async function readCapped(res: Response, url: string, max: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += (chunk as Uint8Array).byteLength;
    if (size > max) throw new SourceError(`GET ${url}: the response exceeds ${max} bytes`, false);
    chunks.push(chunk as Uint8Array);
  }
  return Buffer.concat(chunks);
}

// Group/version/kind → REST coordinates through the apiserver's discovery (`/api/v1`, `/apis/<group>/<version>`),
// needed to apply kinds the operator was not compiled with (whatever a Git repository holds). One request per
// group-version, cached; a miss refreshes that group-version (a CRD may just have been created), at most once per
// `minRefreshMs` so a repository naming a kind that does not exist cannot make every sync hammer discovery.
import { z } from 'zod';
import { HttpMethod, type KubeClient } from './client.ts';
import { isNotFound } from './errors.ts';
import type { ResourceType } from './resource.ts';

const resourceListSchema = z.object({
  resources: z.array(z.looseObject({ name: z.string(), kind: z.string(), namespaced: z.boolean() })),
});

interface Entry {
  at: number;
  /** kind → type; empty when the group-version is not served. */
  kinds: Map<string, ResourceType>;
}

export function splitGroupVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export class Discovery {
  private readonly client: KubeClient;
  private readonly minRefreshMs: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Entry>>();

  constructor(client: KubeClient, opts: { minRefreshMs?: number; now?: () => number } = {}) {
    this.client = client;
    this.minRefreshMs = opts.minRefreshMs ?? 2_000;
    this.now = opts.now ?? Date.now;
  }

  /** What the cache knows now, without a request: for pure code that needs scopes. */
  cached(apiVersion: string, kind: string): ResourceType | undefined {
    return this.entries.get(apiVersion)?.kinds.get(kind);
  }

  /** The kind's coordinates, refreshing its group-version on a miss; undefined when the server does not serve it. */
  async resolve(apiVersion: string, kind: string): Promise<ResourceType | undefined> {
    const hit = this.cached(apiVersion, kind);
    if (hit !== undefined) return hit;
    const entry = this.entries.get(apiVersion);
    if (entry !== undefined && this.now() - entry.at < this.minRefreshMs) return undefined;
    return (await this.load(apiVersion)).kinds.get(kind);
  }

  /** Resolves many at once (one request per stale group-version). */
  async resolveAll(refs: { apiVersion: string; kind: string }[]): Promise<void> {
    const unique = new Map(refs.map((r) => [`${r.apiVersion} ${r.kind}`, r]));
    await Promise.all([...unique.values()].map((r) => this.resolve(r.apiVersion, r.kind)));
  }

  /** Drops a group-version (e.g. after its CRD was deleted). */
  invalidate(apiVersion: string): void {
    this.entries.delete(apiVersion);
  }

  private load(apiVersion: string): Promise<Entry> {
    let p = this.inflight.get(apiVersion);
    if (p === undefined) {
      p = this.fetch(apiVersion).finally(() => this.inflight.delete(apiVersion));
      this.inflight.set(apiVersion, p);
    }
    return p;
  }

  private async fetch(apiVersion: string): Promise<Entry> {
    const { group, version } = splitGroupVersion(apiVersion);
    const path = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
    const kinds = new Map<string, ResourceType>();
    try {
      const list = resourceListSchema.parse(await this.client.request<unknown>(HttpMethod.GET, path));
      for (const r of list.resources) {
        if (r.name.includes('/')) continue; // subresources (deployments/scale) share the kind of their parent
        kinds.set(r.kind, { group, version, kind: r.kind, plural: r.name, namespaced: r.namespaced });
      }
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const entry = { at: this.now(), kinds };
    this.entries.set(apiVersion, entry);
    return entry;
  }
}

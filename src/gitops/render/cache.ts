// Render caches, so a poll or a one-file commit costs little: whole renders by commit, path and options, and the
// parse of single files by blob id (see ParsedFiles in render.ts).
import { z } from 'zod';
import { HttpMethod, type KubeClient } from '../../kube/client.ts';
import type { ParsedFiles } from './render.ts';
import type { RenderedManifest } from './yaml.ts';

/** A map that forgets its least recently used entries beyond `max`. */
export class Lru<V> {
  private readonly entries = new Map<string, V>();
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  get(key: string): V | undefined {
    const v = this.entries.get(key);
    if (v !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }

  set(key: string, v: V): void {
    this.entries.delete(key);
    this.entries.set(key, v);
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * The parse of single files, by blob id and displayed path. `pin` returns what one render needs: the size of a
 * cached file (so the source need not read it) and the cached parse, held for that render even if evicted meanwhile.
 */
export class ParsedFileCache {
  private readonly lru: Lru<{ manifests: RenderedManifest[]; bytes: number }>;

  constructor(maxFiles = 20_000) {
    this.lru = new Lru(maxFiles);
  }

  pin(prefix: string): { known: (oid: string, path: string) => number | undefined; parsed: ParsedFiles } {
    const held = new Map<string, RenderedManifest[]>();
    const key = (oid: string, displayPath: string): string => `${oid}\0${displayPath}`;
    return {
      known: (oid, path) => {
        const k = key(oid, prefix + path);
        const e = this.lru.get(k);
        if (e === undefined) return undefined;
        held.set(k, e.manifests);
        return e.bytes;
      },
      parsed: {
        get: (oid, displayPath) => held.get(key(oid, displayPath)) ?? this.lru.get(key(oid, displayPath))?.manifests,
        set: (oid, displayPath, manifests, bytes) => this.lru.set(key(oid, displayPath), { manifests, bytes }),
      },
    };
  }
}

/** Serializes work per key (one render at a time per Application); different keys run in parallel. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

const versionSchema = z.object({ gitVersion: z.string() });
const groupsSchema = z.object({ groups: z.array(z.object({ versions: z.array(z.object({ groupVersion: z.string() })) })) });

/**
 * The cluster's Kubernetes version and API group/versions, as Argo CD passes them to `helm template` (charts test
 * `.Capabilities`). Looked up again after `ttlMs`; a failed lookup is not remembered and yields Helm's defaults.
 */
export class ClusterCapabilities {
  private readonly client: KubeClient;
  private readonly ttlMs: number;
  private last: { at: number; value: { kubeVersion: string; apiVersions: string[] } } | undefined;

  constructor(client: KubeClient, ttlMs = 5 * 60_000) {
    this.client = client;
    this.ttlMs = ttlMs;
  }

  async get(): Promise<{ kubeVersion?: string; apiVersions?: string[] }> {
    if (this.last !== undefined && Date.now() - this.last.at < this.ttlMs) return this.last.value;
    try {
      const version = versionSchema.parse(await this.client.request<unknown>(HttpMethod.GET, '/version'));
      const groups = groupsSchema.parse(await this.client.request<unknown>(HttpMethod.GET, '/apis'));
      const apiVersions = ['v1', ...groups.groups.flatMap((g) => g.versions.map((v) => v.groupVersion))].sort();
      this.last = { at: Date.now(), value: { kubeVersion: version.gitVersion, apiVersions } };
      return this.last.value;
    } catch {
      return {};
    }
  }
}

// Git over smart HTTP(S) with isomorphic-git: a cheap ls-remote per poll, a shallow single-ref fetch only when the
// commit is not already here, and tree/blob reads without a checkout. One bare gitdir per repository URL under the
// cache dir; operations on one gitdir are serialized (two Applications may share a repository).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import git from 'isomorphic-git';
import baseHttp, { type GitHttpRequest, type GitHttpResponse, type HttpClient } from 'isomorphic-git/http/node';
import { ensureHeadAdvertised } from './advert.ts';
import { resolveRevision, RevisionNotFoundError, type Resolved, type ServerRef } from './revision.ts';

export interface GitCredentials {
  username: string;
  password: string;
}

export interface SourceLimits {
  /** Bytes one fetch may download (the packfile is buffered in memory by isomorphic-git). */
  maxFetchBytes: number;
  /** Bytes of files read from a tree (what render gets). */
  maxTreeBytes: number;
  maxFiles: number;
  /** Deadline of one ls-remote or fetch. */
  timeoutMs: number;
}

export const DEFAULT_LIMITS: SourceLimits = { maxFetchBytes: 64 * 1024 * 1024, maxTreeBytes: 32 * 1024 * 1024, maxFiles: 5000, timeoutMs: 60_000 };

export interface SourceFile {
  /** Path relative to the directory that was read, '/'-separated. */
  path: string;
  content: Uint8Array;
  /** The blob's id: equal ids, equal contents (what per-file render caches key on). */
  oid: string;
  /** True when the caller already knew this blob (see `ReadOptions.known`): `content` is then empty, not read. */
  skipped?: boolean;
}

export interface ReadOptions {
  /**
   * The size of a blob the caller already holds the result of (by id and path), or undefined to read it. Known
   * blobs are not read (a one-file change reads one blob) but still count against the size limit.
   */
  known?: (oid: string, path: string) => number | undefined;
  /** Directories below the path to descend into (default: all). 0 lists the path's own files only. */
  maxDepth?: number;
}

const EMPTY = new Uint8Array(0);

/** Anything that went wrong reaching or reading the repository; `transient` ones are retried with backoff. */
export class SourceError extends Error {
  override readonly name = 'SourceError';
  readonly transient: boolean;
  constructor(message: string, transient: boolean, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.transient = transient;
  }
}

/** A download cut at --git-max-fetch-bytes. */
class FetchTooBigError extends SourceError {
  constructor(message: string) {
    super(message, false);
  }
}

export { RevisionNotFoundError };

/** Normalises spec.source.path: '', '.', './x/', '/x' → '' or 'x'. The spec check already refuses '..'. */
export function normalizePath(path: string | undefined): string {
  return (path ?? '')
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

export class GitSource {
  private readonly cacheDir: string;
  private readonly limits: SourceLimits;
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Commits (by URL) whose fetch the download limit cut: the limit is the process's, a commit never changes. */
  private readonly refused = new Map<string, SourceError>();
  /** Refs (by URL) whose incremental fetch the download limit cut: fetchTip leaves them to resolve and ensure (and its memory above) until one is fetched whole. */
  private readonly tipsTooBig = new Set<string>();
  /** Fetches performed, by URL: tests assert that an unchanged commit costs none. */
  readonly fetches = new Map<string, number>();

  constructor(opts: { cacheDir: string; limits?: Partial<SourceLimits> }) {
    this.cacheDir = opts.cacheDir;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
  }

  gitdir(url: string): string {
    return join(this.cacheDir, createHash('sha256').update(url).digest('hex').slice(0, 32) + '.git');
  }

  /** ls-remote: which commit does targetRevision name right now? Downloads no packfile. */
  async resolve(url: string, targetRevision: string | undefined, creds?: GitCredentials): Promise<Resolved> {
    const refs = await this.guard(`ls-remote ${url}`, (http) =>
      git.listServerRefs({ http, url, headers: authHeaders(creds), symrefs: true, peelTags: true, protocolVersion: 2 }),
    );
    return resolveRevision(targetRevision, refs.map((r): ServerRef => ({ ref: r.ref, oid: r.oid, peeled: r.peeled, target: r.target })));
  }

  /**
   * Makes `resolved.commit` readable locally, fetching only when it is missing. Returns the commit to read: the
   * resolved one, or a newer tip if the branch moved between ls-remote and fetch.
   */
  async ensure(url: string, resolved: Resolved, creds?: GitCredentials): Promise<string> {
    const gitdir = this.gitdir(url);
    return this.locked(gitdir, async () => {
      if (await this.has(gitdir, resolved.commit)) return resolved.commit;
      await fs.promises.mkdir(gitdir, { recursive: true });
      await git.init({ fs, gitdir, bare: true });
      // fetch records remote-tracking refs, so it needs a remote with a refspec; the URL is the key of this gitdir.
      await git.addRemote({ fs, gitdir, remote: 'origin', url, force: true });
      const key = `${url}\0${resolved.commit}`;
      const refused = this.refused.get(key);
      if (refused !== undefined) throw refused; // the same commit, the same limit: no second download of it
      this.fetches.set(url, (this.fetches.get(url) ?? 0) + 1);
      const shallow = resolved.kind === 'ref';
      const fetch = (cut: { depth?: number; since?: Date }): Promise<Awaited<ReturnType<typeof git.fetch>>> =>
        this.undoingOnFailure(gitdir, () => this.guard(`fetch ${url}`, (http) => git.fetch({ fs, http, gitdir, remote: 'origin', ref: resolved.fetchRef, singleBranch: true, ...cut, tags: false, headers: authHeaders(creds) })));
      // The tip fetched last time is told to the server as a `have` (isomorphic-git takes it from the local ref of
      // the name it fetches). With `deepen-since` its time, the server sends only what changed since; with `depth`
      // isomorphic-git's one-request negotiation gets the whole tree again (a new pack per commit). Any failure of
      // this cheap fetch (a branch reset to an older commit selects nothing) falls back to the plain shallow fetch.
      const since = shallow ? await this.tipTime(gitdir, resolved.fetchRef) : undefined;
      let result: Awaited<ReturnType<typeof git.fetch>> | undefined;
      if (since !== undefined) {
        try {
          result = await fetch({ since });
          if (!(await this.has(gitdir, resolved.commit)) && (result.fetchHead === null || !(await this.has(gitdir, result.fetchHead)))) result = undefined;
        } catch {
          result = undefined;
        }
      }
      // A pinned SHA that is not a tip needs history to reach it; tips need only themselves.
      try {
        result ??= await fetch(shallow ? { depth: 1 } : {});
      } catch (err) {
        if (err instanceof FetchTooBigError) this.remember(key, err);
        throw err;
      }
      // A commit counts as fetched only when it is readable here (a fetch cut short names a tip it did not bring).
      const got = (await this.has(gitdir, resolved.commit)) ? resolved.commit : shallow && result.fetchHead !== null && (await this.has(gitdir, result.fetchHead)) ? result.fetchHead : undefined;
      if (got === undefined) throw new RevisionNotFoundError(`commit ${resolved.commit} is not reachable from ${resolved.fetchRef ?? 'the default branch'}`);
      // isomorphic-git tells the server what it has from the local ref of the name it fetches (remote-tracking refs
      // do not count): without it every fetch downloads the whole tree again, a new pack per commit.
      if (resolved.fetchRef !== undefined && resolved.fetchRef.startsWith('refs/')) await git.writeRef({ fs, gitdir, ref: resolved.fetchRef, value: got, force: true });
      this.tipsTooBig.delete(`${url}\0${resolved.fetchRef}`);
      return got;
    });
  }
  /**
   * The current tip of `fetchRef` (a branch or tag fetched before), fetched incrementally in one exchange: the fetch's
   * own ref discovery names the tip, so a webhook's refresh needs no separate ls-remote (two requests to the Git host
   * instead of four). Undefined when this cannot be done cheaply (never fetched, or the fetch failed): the caller then
   * resolves and ensures as usual.
   */
  async fetchTip(url: string, fetchRef: string, creds?: GitCredentials): Promise<string | undefined> {
    const gitdir = this.gitdir(url);
    return this.locked(gitdir, async () => {
      const since = await this.tipTime(gitdir, fetchRef);
      if (since === undefined || this.tipsTooBig.has(`${url}\0${fetchRef}`)) return undefined;
      try {
        const result = await this.undoingOnFailure(gitdir, () =>
          this.guard(`fetch ${url}`, (http) => git.fetch({ fs, http, gitdir, remote: 'origin', ref: fetchRef, singleBranch: true, since, tags: false, headers: authHeaders(creds) })),
        );
        const tip = result.fetchHead;
        if (tip === null || !(await this.has(gitdir, tip))) return undefined;
        this.fetches.set(url, (this.fetches.get(url) ?? 0) + 1);
        await git.writeRef({ fs, gitdir, ref: fetchRef, value: tip, force: true });
        return tip;
      } catch (err) {
        // Every retry of a refreshed Application comes here: without this, each would download the limit again.
        if (err instanceof FetchTooBigError) this.tipsTooBig.add(`${url}\0${fetchRef}`);
        return undefined;
      }
    });
  }

  /** Every file under `path` at `commit`, read from the object store; refuses trees over the limits. */
  async readFiles(url: string, commit: string, path: string | undefined, opts: ReadOptions = {}): Promise<SourceFile[]> {
    const gitdir = this.gitdir(url);
    const root = normalizePath(path);
    const cache = {};
    const files: SourceFile[] = [];
    let bytes = 0;
    const walk = async (treeOid: string, prefix: string): Promise<void> => {
      const { tree } = await git.readTree({ fs, gitdir, oid: treeOid, cache });
      for (const entry of tree) {
        const rel = prefix === '' ? entry.path : `${prefix}/${entry.path}`;
        if (entry.type === 'tree') {
          if (opts.maxDepth === undefined || rel.split('/').length <= opts.maxDepth) await walk(entry.oid, rel);
        }
        else if (entry.type === 'blob') {
          if (files.length >= this.limits.maxFiles) throw new SourceError(`more than ${this.limits.maxFiles} files under ${root || '/'} (the limit: --git-max-files)`, false);
          const size = opts.known?.(entry.oid, rel);
          const blob = size === undefined ? (await git.readBlob({ fs, gitdir, oid: entry.oid, cache })).blob : EMPTY;
          bytes += size ?? blob.byteLength;
          if (bytes > this.limits.maxTreeBytes) throw new SourceError(`the files under ${root || '/'} exceed ${this.limits.maxTreeBytes} bytes (the limit: --git-max-tree-bytes)`, false);
          files.push({ path: rel, content: blob, oid: entry.oid, ...(size !== undefined ? { skipped: true } : {}) });
        }
        // 'commit' entries are submodules: not followed (Argo CD does not either by default).
      }
    };
    let start: string;
    try {
      start = (await git.readTree({ fs, gitdir, oid: commit, filepath: root === '' ? undefined : root, cache })).oid;
    } catch (err) {
      if (err instanceof Error && (err.name === 'NotFoundError' || err.name === 'ObjectTypeError')) {
        throw new SourceError(`path ${JSON.stringify(root)} is not a directory at ${commit.slice(0, 7)}`, false, err);
      }
      throw err;
    }
    await walk(start, '');
    return files;
  }

  /** The commit time of the local ref `ref` (the tip fetched last time under that name), if there is one. */
  private async tipTime(gitdir: string, ref: string | undefined): Promise<Date | undefined> {
    if (ref === undefined || !ref.startsWith('refs/')) return undefined;
    try {
      const oid = await git.resolveRef({ fs, gitdir, ref });
      const { commit } = await git.readCommit({ fs, gitdir, oid });
      return new Date(commit.committer.timestamp * 1000);
    } catch {
      return undefined;
    }
  }

  /**
   * Runs one fetch; if it fails, undoes what isomorphic-git wrote before the pack was whole: the `shallow` file (it
   * would name the cut commit, which the server then believes we have) and any new pack file.
   */
  private async undoingOnFailure<T>(gitdir: string, fn: () => Promise<T>): Promise<T> {
    const shallowFile = join(gitdir, 'shallow');
    const packDir = join(gitdir, 'objects', 'pack');
    const shallow = await fs.promises.readFile(shallowFile).catch(() => undefined);
    const packs = new Set(await fs.promises.readdir(packDir).catch(() => []));
    try {
      return await fn();
    } catch (err) {
      if (shallow === undefined) await fs.promises.rm(shallowFile, { force: true });
      else await fs.promises.writeFile(shallowFile, shallow);
      for (const f of await fs.promises.readdir(packDir).catch(() => [])) if (!packs.has(f)) await fs.promises.rm(join(packDir, f), { force: true });
      throw err;
    }
  }

  private remember(key: string, err: SourceError): void {
    if (this.refused.size >= 1000) this.refused.delete(this.refused.keys().next().value!); // oldest first
    this.refused.set(key, err);
  }

  private async has(gitdir: string, oid: string): Promise<boolean> {
    try {
      await git.readCommit({ fs, gitdir, oid });
      return true;
    } catch {
      return false;
    }
  }

  private async locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  /** Runs one network operation under the deadline and the download limit, mapping failures to SourceError. */
  private async guard<T>(what: string, fn: (http: HttpClient) => Promise<T>): Promise<T> {
    const signal = AbortSignal.timeout(this.limits.timeoutMs);
    const max = this.limits.maxFetchBytes;
    const tooBig = (): SourceError => new FetchTooBigError(`${what}: the response exceeds ${max} bytes (the limit: --git-max-fetch-bytes)`);
    // isomorphic-git swallows errors thrown by a body stream, so the limit ends the stream and is checked after.
    let exceeded = false;
    const http: HttpClient = {
      async request(req: GitHttpRequest): Promise<GitHttpResponse> {
        const res = await baseHttp.request({ ...req, signal });
        if (res.body === undefined) return res;
        const body = res.body;
        let seen = 0;
        async function* limited(): AsyncIterableIterator<Uint8Array> {
          for await (const chunk of body) {
            seen += chunk.byteLength;
            if (seen > max) {
              exceeded = true;
              return;
            }
            yield chunk;
          }
        }
        // Fetches only (ls-remote speaks protocol v2): see advert.ts for why a missing HEAD is made up.
        if ((req.method ?? 'GET') === 'GET' && req.url.includes('/info/refs?service=git-upload-pack')) return { ...res, body: patchAdvert(limited()) };
        return { ...res, body: limited() };
      },
    };
    try {
      const out = await fn(http);
      if (exceeded) throw tooBig();
      return out;
    } catch (err) {
      if (exceeded) throw tooBig();
      if (err instanceof SourceError || err instanceof RevisionNotFoundError) throw err;
      if (signal.aborted) throw new SourceError(`${what}: no answer within ${this.limits.timeoutMs} ms (the limit: --git-timeout)`, true, err);
      const e = err as { name?: string; data?: { statusCode?: number }; message?: string };
      const status = e.data?.statusCode;
      if (e.name === 'HttpError' && (status === 401 || status === 403)) throw new SourceError(`${what}: authentication failed (HTTP ${status})`, false, err);
      if (e.name === 'HttpError' && status === 404) throw new SourceError(`${what}: repository not found (HTTP 404)`, false, err);
      throw new SourceError(`${what}: ${e.message ?? String(err)}`, true, err);
    }
  }
}

/** The whole ref advertisement (the body is already bounded by the download limit), with a HEAD named when the server has none. */
async function* patchAdvert(body: AsyncIterableIterator<Uint8Array>): AsyncIterableIterator<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  yield ensureHeadAdvertised(Buffer.concat(chunks));
}

/** Basic auth sent up front: isomorphic-git's onAuth would cost a 401 round trip on every request. */
function authHeaders(creds: GitCredentials | undefined): Record<string, string> | undefined {
  if (creds === undefined) return undefined;
  return { Authorization: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` };
}

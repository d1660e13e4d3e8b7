// Reads what the git generators need of a repository: its directories, and the text of the files a files generator
// may select (no other file is read). Per set, read again once the poll interval passed or the set changed
// (generation, or the refresh annotation a webhook or a person sets): the set's Applications changing status (which
// wakes the set) costs no ls-remote.
import type { GitSource } from '../source/git.ts';
import { gitKey, globToRegExp, type GitTree, type GitUse } from './git.ts';
import type { TemplateError } from './template.ts';

/** Argo CD's default poll of a git generator's repository. */
export const GIT_POLL_MS = 3 * 60_000;
const MAX_FILE_BYTES = 256 * 1024;

export class GitTreeReader {
  private readonly source: GitSource;
  private readonly cache = new Map<string, { at: number; token: string; tree: GitTree }>();

  constructor(source: GitSource) {
    this.source = source;
  }

  /** The trees of every repository `uses` name, by gitKey; a repository that cannot be read is an error. */
  async read(setKey: string, token: string, uses: readonly GitUse[]): Promise<{ trees: Map<string, GitTree>; errors: TemplateError[] }> {
    const trees = new Map<string, GitTree>();
    const errors: TemplateError[] = [];
    const byRepo = new Map<string, GitUse[]>();
    for (const u of uses) byRepo.set(gitKey(u.repoURL, u.revision), [...(byRepo.get(gitKey(u.repoURL, u.revision)) ?? []), u]);
    for (const [key, us] of byRepo) {
      const first = us[0] as GitUse;
      if (first.repoURL.includes('{{')) {
        for (const u of us) errors.push({ field: `${u.at}.git.repoURL`, message: 'a parameter in repoURL is not supported' });
        continue;
      }
      const globs = [...new Set(us.flatMap((u) => u.files))].sort();
      const cacheKey = `${setKey}#${key}`;
      const want = JSON.stringify([token, globs]);
      const pollMs = Math.min(...us.map((u) => (u.requeueAfterSeconds ?? GIT_POLL_MS / 1000) * 1000));
      const hit = this.cache.get(cacheKey);
      if (hit !== undefined && hit.token === want && Date.now() - hit.at < pollMs) {
        trees.set(key, hit.tree);
        continue;
      }
      try {
        const tree = await this.readTree(first.repoURL, first.revision, globs.map((g) => globToRegExp(g)));
        this.cache.set(cacheKey, { at: Date.now(), token: want, tree });
        trees.set(key, tree);
      } catch (err) {
        for (const u of us) errors.push({ field: `${u.at}.git.repoURL`, message: err instanceof Error ? err.message : String(err) });
      }
    }
    return { trees, errors };
  }

  /** Drops what was read for a set that went. */
  forget(setKey: string): void {
    for (const k of this.cache.keys()) if (k.startsWith(`${setKey}#`)) this.cache.delete(k);
  }

  private async readTree(url: string, revision: string | undefined, wanted: RegExp[]): Promise<GitTree> {
    const resolved = await this.source.resolve(url, revision);
    const commit = await this.source.ensure(url, resolved);
    const read = (path: string): boolean => wanted.some((r) => r.test(path));
    // Only the files a files generator may select are read; the rest are listed by path.
    const files = await this.source.readFiles(url, commit, undefined, { known: (_oid, path) => (read(path) ? undefined : 0) });
    const dirs = new Set<string>();
    const texts = new Map<string, string>();
    for (const f of files) {
      const parts = f.path.split('/');
      for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
      if (f.skipped !== true && read(f.path)) {
        if (f.content.byteLength > MAX_FILE_BYTES) throw new Error(`${f.path}: larger than ${MAX_FILE_BYTES} bytes, not a parameters file`);
        texts.set(f.path, Buffer.from(f.content).toString('utf8'));
      }
    }
    return { directories: [...dirs].sort(), files: texts };
  }
}

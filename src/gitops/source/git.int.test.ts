// The Git source against a real `git http-backend` over HTTP: ls-remote, shallow fetch only when the commit changed,
// tree reads without checkout, tags, pinned SHAs, basic auth and the size limit.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGitServer, type GitServer } from '../../../test/support/git-server.ts';
import { GitSource, SourceError } from './git.ts';

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

describe('git source over smart HTTP', () => {
  let server: GitServer;
  let secured: GitServer;
  let cacheDir: string;

  beforeAll(async () => {
    server = await startGitServer();
    secured = await startGitServer({ auth: { username: 'x-access-token', password: 's3cret' } });
    cacheDir = await mkdtemp(join(tmpdir(), 'sluice-src-'));
  });
  afterAll(async () => {
    await server.close();
    await secured.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('resolves a branch, fetches once per commit and reads the tree at a path', async () => {
    const url = await server.createRepo('app');
    const c1 = await server.commit('app', { 'apps/web/cm.yaml': 'a: 1\n', 'apps/web/sub/x.yaml': 'b: 2\n', 'other/y.yaml': 'c: 3\n' });
    const src = new GitSource({ cacheDir });
    const r1 = await src.resolve(url, 'main');
    expect(r1.commit).toBe(c1);
    expect(await src.ensure(url, r1)).toBe(c1);
    expect(await src.ensure(url, await src.resolve(url, 'main'))).toBe(c1);
    expect(src.fetches.get(url)).toBe(1);
    const files = await src.readFiles(url, c1, './apps/web/');
    expect(files.map((f) => [f.path, text(f.content)])).toEqual([
      ['cm.yaml', 'a: 1\n'],
      ['sub/x.yaml', 'b: 2\n'],
    ]);

    const c2 = await server.commit('app', { 'apps/web/cm.yaml': 'a: 2\n' });
    const r2 = await src.resolve(url, 'HEAD');
    expect(r2.commit).toBe(c2);
    expect(await src.ensure(url, r2)).toBe(c2);
    expect(src.fetches.get(url)).toBe(2);
    expect(text((await src.readFiles(url, c2, 'apps/web')).find((f) => f.path === 'cm.yaml')!.content)).toBe('a: 2\n');
    // the old commit is still readable from the object store (history of the shallow gitdir)
    expect(text((await src.readFiles(url, c1, 'apps/web'))[0]!.content)).toBe('a: 1\n');
  });

  it('fetches only what a commit changed, names the new tip in one fetch, and skips blobs the caller knows', async () => {
    const url = await server.createRepo('big');
    const many: Record<string, string> = {};
    for (let i = 0; i < 200; i++) many[`cm-${i}.yaml`] = `v: ${i}\n${'x'.repeat(200)}\n`;
    const c1 = await server.commit('big', many);
    const src = new GitSource({ cacheDir });
    const r1 = await src.resolve(url, 'main');
    expect(await src.ensure(url, r1)).toBe(c1);
    const first = await src.readFiles(url, c1, '');
    const sizes = new Map(first.map((f) => [f.oid, f.content.byteLength]));

    const c2 = await server.commit('big', { 'cm-7.yaml': 'v: changed\n' });
    const before = server.requests.length;
    expect(await src.fetchTip(url, 'refs/heads/main')).toBe(c2);
    // One fetch (ref discovery + upload-pack), no ls-remote before it.
    expect(server.requests.slice(before).map((r) => r.path.split('/').pop())).toEqual(['refs', 'git-upload-pack']);
    const second = await src.readFiles(url, c2, '', { known: (oid) => sizes.get(oid) });
    expect(second.filter((f) => f.skipped !== true).map((f) => [f.path, text(f.content)])).toEqual([['cm-7.yaml', 'v: changed\n']]);
    expect(second).toHaveLength(200);

    // An unchanged tip is named again without downloading the tree; a later commit through ensure() too.
    expect(await src.fetchTip(url, 'refs/heads/main')).toBe(c2);
    const c3 = await server.commit('big', { 'cm-8.yaml': 'v: changed\n' });
    expect(await src.ensure(url, await src.resolve(url, 'main'))).toBe(c3);
    expect(text((await src.readFiles(url, c3, '')).find((f) => f.path === 'cm-8.yaml')!.content)).toBe('v: changed\n');
    // Each later pack holds what changed (a commit, its tree, a blob), not the 200 files again.
    const dir = join(src.gitdir(url), 'objects', 'pack');
    const packs = (await readdir(dir)).filter((f) => f.endsWith('.pack'));
    const sizes2 = await Promise.all(packs.map(async (f) => (await stat(join(dir, f))).size));
    sizes2.sort((a, b) => b - a);
    expect(sizes2.length).toBeGreaterThanOrEqual(3);
    for (const later of sizes2.slice(1)) expect(later).toBeLessThan((sizes2[0] ?? 0) / 2);
  });

  it('resolves annotated tags and pinned SHAs that are not tips', async () => {
    const url = await server.createRepo('tags');
    const c0 = await server.commit('tags', { 'f.yaml': 'v: 0\n' });
    const c1 = await server.commit('tags', { 'f.yaml': 'v: 1\n' });
    await server.git('tags', ['tag', '-a', 'v1', '-m', 'v1']);
    const c2 = await server.commit('tags', { 'f.yaml': 'v: 2\n' });
    const src = new GitSource({ cacheDir });
    const tag = await src.resolve(url, 'v1');
    expect(tag.commit).toBe(c1);
    expect(await src.ensure(url, tag)).toBe(c1);
    expect(text((await src.readFiles(url, c1, ''))[0]!.content)).toBe('v: 1\n');
    const fresh = new GitSource({ cacheDir: join(cacheDir, 'fresh') });
    const pinned = await fresh.resolve(url, c0);
    expect(pinned.kind).toBe('sha');
    expect(await fresh.ensure(url, pinned)).toBe(c0);
    expect(text((await fresh.readFiles(url, c0, ''))[0]!.content)).toBe('v: 0\n');
    expect((await fresh.resolve(url, c2)).kind).toBe('ref');
    await expect(fresh.resolve(url, 'nope')).rejects.toThrow(/neither a branch, a tag/);
  });

  it('fetches the named ref from a bare repository whose HEAD names a branch never pushed (git init --bare)', async () => {
    const url = await server.createRepo('dangling', 'master');
    const c1 = await server.commit('dangling', { 'cm.yaml': 'v: 1\n' });
    const src = new GitSource({ cacheDir });
    const r = await src.resolve(url, 'main');
    expect(r).toEqual({ kind: 'ref', commit: c1, fetchRef: 'refs/heads/main' });
    expect(await src.ensure(url, r)).toBe(c1);
    expect(text((await src.readFiles(url, c1, ''))[0]!.content)).toBe('v: 1\n');
    // The incremental paths too: a refresh's one-fetch tip and a later commit through ensure().
    const c2 = await server.commit('dangling', { 'cm.yaml': 'v: 2\n' });
    expect(await src.fetchTip(url, 'refs/heads/main')).toBe(c2);
    const c3 = await server.commit('dangling', { 'cm.yaml': 'v: 3\n' });
    expect(await src.ensure(url, await src.resolve(url, 'main'))).toBe(c3);
    // Following HEAD cannot work there: the message names the branches to choose from.
    await expect(src.resolve(url, 'HEAD')).rejects.toThrow(/HEAD names no existing branch; set targetRevision to one of: main/);
  });

  it('follows a branch other than the default, reports a branch deleted on the server, and follows a force-push', async () => {
    const url = await server.createRepo('branches');
    const m1 = await server.commit('branches', { 'f.yaml': 'on: main\n' });
    const r1 = await server.commit('branches', { 'f.yaml': 'on: release 1\n' }, 'release', 'release');
    const src = new GitSource({ cacheDir });
    expect(await src.ensure(url, await src.resolve(url, 'release'))).toBe(r1);
    expect(await src.ensure(url, await src.resolve(url, 'main'))).toBe(m1);
    expect(text((await src.readFiles(url, r1, ''))[0]!.content)).toBe('on: release 1\n');
    // History rewritten: release is reset to main and gets another commit, force-pushed.
    await server.run('branches', ['checkout', '--quiet', '-B', 'release', m1]);
    await server.run('branches', ['commit', '--quiet', '--allow-empty', '-m', 'rewritten']);
    await server.run('branches', ['push', '--quiet', '--force', 'origin', 'HEAD:refs/heads/release']);
    const r2 = await server.run('branches', ['rev-parse', 'HEAD']);
    const resolved = await src.resolve(url, 'release');
    expect(resolved.commit).toBe(r2);
    expect(await src.ensure(url, resolved)).toBe(r2);
    expect(text((await src.readFiles(url, r2, ''))[0]!.content)).toBe('on: main\n');
    expect(await src.fetchTip(url, 'refs/heads/release')).toBe(r2);
    // Deleted on the server: a clear, non-transient error naming the revision.
    await server.run('branches', ['push', '--quiet', 'origin', '--delete', 'release']);
    await expect(src.resolve(url, 'release')).rejects.toThrow(/targetRevision "release" is neither a branch, a tag nor a full commit SHA on the remote/);
  });

  it('sends basic-auth credentials and reports a refusal as a non-transient error', async () => {
    const url = await secured.createRepo('private');
    const c1 = await secured.commit('private', { 'a.yaml': 'x: 1\n' });
    const src = new GitSource({ cacheDir });
    const creds = { username: 'x-access-token', password: 's3cret' };
    expect(await src.ensure(url, await src.resolve(url, 'main', creds), creds)).toBe(c1);
    const err = await src.resolve(url, 'main', { username: 'x-access-token', password: 'wrong' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).message).toMatch(/authentication failed/);
    expect((err as SourceError).transient).toBe(false);
  });

  it('refuses a fetch over the size limit and a tree over the file limit', async () => {
    const url = await server.createRepo('big');
    const files: Record<string, string> = {};
    for (let i = 0; i < 20; i++) files[`f${i}.yaml`] = `${'x'.repeat(2000)}${i}\n`;
    const c = await server.commit('big', files);
    const small = new GitSource({ cacheDir: join(cacheDir, 'small'), limits: { maxFetchBytes: 200 } });
    await expect(small.ensure(url, await small.resolve(url, 'main'))).rejects.toThrow(/exceeds 200 bytes/);
    const few = new GitSource({ cacheDir: join(cacheDir, 'few'), limits: { maxFiles: 5 } });
    await few.ensure(url, await few.resolve(url, 'main'));
    await expect(few.readFiles(url, c, '')).rejects.toThrow(/more than 5 files/);
  });

  it('keeps nothing of a fetch cut at the size limit, and does not download the same refused commit again', async () => {
    const url = await server.createRepo('cut');
    const good = await server.commit('cut', { 'a.yaml': 'v: 1\n' });
    const src = new GitSource({ cacheDir: join(cacheDir, 'cut'), limits: { maxFetchBytes: 100_000 } });
    expect(await src.ensure(url, await src.resolve(url, 'main'))).toBe(good);
    const packDir = join(src.gitdir(url), 'objects', 'pack');
    const packs = (await readdir(packDir)).sort();
    // Random bytes do not compress: the pack is cut after its commit and tree, inside the blob.
    const bad = await server.commit('cut', { 'a.yaml': 'v: 2\n', 'big.txt': randomBytes(300_000).toString('base64') });
    const r = await src.resolve(url, 'main');
    await expect(src.ensure(url, r)).rejects.toThrow(/exceeds 100000 bytes \(the limit: --git-max-fetch-bytes\)/);
    // No partial pack left behind: its commit would pass for fetched and its blobs be missing (found by the 500 MB chaos test).
    expect((await readdir(packDir)).sort()).toEqual(packs);
    await expect(src.readFiles(url, bad, '')).rejects.toThrow();
    // Asked again for the same commit: refused at once, with no second download of what the limit cut.
    const before = server.requests.filter((q) => q.path === '/cut.git/git-upload-pack').length;
    await expect(src.ensure(url, r)).rejects.toThrow(/exceeds 100000 bytes/);
    expect(server.requests.filter((q) => q.path === '/cut.git/git-upload-pack').length).toBe(before);
    // A refresh's one-exchange fetch of the tip is cut the same way once, then left to resolve and ensure (no download).
    expect(await src.fetchTip(url, 'refs/heads/main')).toBeUndefined();
    const afterTip = server.requests.filter((q) => q.path === '/cut.git/git-upload-pack').length;
    expect(afterTip).toBe(before + 1);
    expect(await src.fetchTip(url, 'refs/heads/main')).toBeUndefined();
    expect(server.requests.filter((q) => q.path === '/cut.git/git-upload-pack').length).toBe(afterTip);
    // A fix on top of it is fetched and read.
    const fix = await server.commit('cut', { 'big.txt': null });
    expect(await src.ensure(url, await src.resolve(url, 'main'))).toBe(fix);
    expect((await src.readFiles(url, fix, '')).map((f) => [f.path, text(f.content)])).toEqual([['a.yaml', 'v: 2\n']]);
  });
});

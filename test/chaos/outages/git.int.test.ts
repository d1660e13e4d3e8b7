// Git outages against the real Git server of the GitOps tests (git http-backend) and the operator as a process
// (src/main.ts): the server down (connection refused), trickling one byte a second, a force-push that rewrites the
// branch, the branch deleted, and repositories over the size limits. For each: the operator never exits; while the
// source fails nothing is pruned and nothing half-applied (the last good revision stays applied and recorded); the
// Application carries a ComparisonError naming the cause; and it syncs again once Git is sound. The figures (from
// the return to the synced new revision) go to test-results/chaos/outage-git-*.json for `npm run chaos`.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import type { ApplicationStatus } from '../../../src/api/application/schema.ts';
import type { KubeObject } from '../../../src/kube/client.ts';
import { isNotFound } from '../../../src/kube/errors.ts';
import { R } from '../../../src/kube/resource.ts';
import { REFRESH_ANNOTATION } from '../../../src/gitops/sync-shared.ts';
import { createNamespace, deleteNamespace, kubeconfigPath, kubectl, waitFor } from '../../support/cluster.ts';
import { installCrds } from '../../support/crds.ts';
import { startGitServer, type GitServer } from '../../support/git-server.ts';
import { startOperator, type OperatorProcess } from '../../support/operator-process.ts';
import { testClient } from '../../support/operator.ts';
import { GitProxy } from './gitproxy.ts';
import { say, sleep, writeOutage } from './support.ts';

const DOWN_S = Number(process.env.SLUICE_CHAOS_GIT_DOWN ?? 5);
// Limits small enough to cross cheaply in `npm test`; the flags are the operator's own (defaults 60 s, 5000 files,
// 64 MiB a fetch).
const TIMEOUT_S = 3;
const MAX_FILES = 40;
const MAX_FETCH = 2_000_000;
const MAX_TREE = 1_000_000;

type App = KubeObject & { status?: ApplicationStatus };
type Cm = KubeObject & { data?: Record<string, string> };

const cm = (name: string, v: string): string => stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v } });

describe('chaos: Git outages', () => {
  const { client } = testClient();
  let ns: string;
  let git: GitServer;
  let op: OperatorProcess;
  let cacheDir: string;
  const proxies: GitProxy[] = [];
  const exits: (number | null)[] = [];

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('chaos-git');
    git = await startGitServer();
    cacheDir = await mkdtemp(join(tmpdir(), 'sluice-chaos-gitcache-'));
    op = await startOperator(kubeconfigPath(), `chaos-git-${ns}`, [`--namespace=${ns}`, `--git-timeout=${TIMEOUT_S}`, `--git-max-files=${MAX_FILES}`, `--git-max-fetch-bytes=${MAX_FETCH}`, `--git-max-tree-bytes=${MAX_TREE}`, '--log-level=warn'], { SLUICE_GIT_CACHE: cacheDir });
    void op.exited.then((c) => exits.push(c));
  }, 120_000);
  afterAll(async () => {
    op?.kill('SIGTERM');
    await op?.exited;
    for (const p of proxies) await p.close();
    await git?.close();
    await deleteNamespace(ns);
    await rm(cacheDir, { recursive: true, force: true });
  });

  const app = (name: string): Promise<App> => client.get<App>(R.application, ns, name);
  const data = async (name: string): Promise<string | undefined> => {
    try {
      return (await client.get<Cm>(R.configMap, ns, name)).data?.v ?? '';
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const comparisonError = async (name: string): Promise<string | undefined> => (await app(name)).status?.conditions?.find((c) => c.type === 'ComparisonError')?.message;
  const refresh = async (name: string): Promise<void> => {
    expect((await kubectl(['annotate', '--overwrite', '-n', ns, `applications.sluice.dev/${name}`, `${REFRESH_ANNOTATION}=${Date.now()}`])).code).toBe(0);
  };
  const synced = async (name: string, sha: string): Promise<boolean> => {
    const s = (await app(name)).status;
    return s?.sync?.revision === sha && s.sync.status === 'Synced' && s.operationState?.phase === 'Succeeded' && s.operationState.syncResult?.revision === sha && !s.conditions?.some((c) => c.type === 'ComparisonError');
  };

  /** A repository with two ConfigMaps (`<name>-a` v1, `<name>-b`), an Application that prunes and self-heals, synced. */
  async function setUp(name: string, opts: { branch?: string; url?: (repo: string) => string } = {}): Promise<string> {
    const branch = opts.branch ?? 'main';
    const url = await git.createRepo(name, branch === 'main' ? 'main' : 'master');
    const good = await git.commit(name, { 'a.yaml': cm(`${name}-a`, '1'), 'b.yaml': cm(`${name}-b`, '1') }, 'good', branch);
    const repoURL = opts.url?.(name) ?? url;
    const spec = { source: { repoURL, path: '.', targetRevision: branch }, destination: { namespace: ns }, syncPolicy: { automated: { prune: true, selfHeal: true } }, pollInterval: '10s' };
    expect((await kubectl(['apply', '--server-side', '-f', '-'], stringify({ apiVersion: 'sluice.dev/v1alpha1', kind: 'Application', metadata: { name, namespace: ns }, spec }))).code).toBe(0);
    await waitFor(`${name} synced at the good commit`, () => synced(name, good), 60_000, 200);
    return good;
  }

  /** The last good revision still applied and recorded: nothing pruned, nothing of the failed revision applied. */
  async function expectKept(name: string, good: string): Promise<void> {
    const s = (await app(name)).status;
    // (status.sync.revision names what was compared: the new commit when it could be fetched but not read, as Argo CD.)
    expect({ synced: s?.operationState?.syncResult?.revision, lastHistory: s?.history?.at(-1)?.revision, resources: s?.resources?.map((r) => r.name).sort() })
      .toEqual({ synced: good, lastHistory: good, resources: [`${name}-a`, `${name}-b`] });
    expect({ a: await data(`${name}-a`), b: await data(`${name}-b`) }).toEqual({ a: '1', b: '1' });
  }

  /** The change Git holds after the outage: a to v2 and b deleted (applied and pruned only once it can be read whole). */
  const change = (name: string): Record<string, string | null> => ({ 'a.yaml': cm(`${name}-a`, '2'), 'b.yaml': null });

  /** Back to normal: synced at `sha` with its content; the time from `since` to that moment. */
  async function recovered(name: string, sha: string, since: number): Promise<number> {
    await waitFor(`${name} synced at ${sha.slice(0, 7)} after the return`, () => synced(name, sha), 60_000, 100);
    const resumeS = (Date.now() - since) / 1000;
    expect({ a: await data(`${name}-a`), b: await data(`${name}-b`) }).toEqual({ a: '2', b: undefined });
    expect({ exits, exitCode: op.child.exitCode }).toEqual({ exits: [], exitCode: null });
    return resumeS;
  }

  async function failing(name: string, good: string, cause: RegExp, holdS: number): Promise<string> {
    await refresh(name);
    await waitFor(`${name}: a ComparisonError naming the cause`, async () => cause.test((await comparisonError(name)) ?? ''), 60_000, 200);
    const message = (await comparisonError(name))!;
    await expectKept(name, good);
    // Several retries later (transient failures are retried within the poll interval), still nothing applied.
    await sleep(holdS * 1000);
    expect(cause.test((await comparisonError(name)) ?? '')).toBe(true);
    await expectKept(name, good);
    return message;
  }

  it(`the Git server down ${DOWN_S} s (connection refused): last good revision kept, a ComparisonError, synced again on its return`, async () => {
    const proxy = await GitProxy.start(git.baseURL);
    proxies.push(proxy);
    const good = await setUp('down', { url: (repo) => `${proxy.baseURL}/${repo}.git` });
    await proxy.down();
    const next = await git.commit('down', change('down'));
    const message = await failing('down', good, /ECONNREFUSED/, DOWN_S);
    await proxy.up();
    const resumeS = await recovered('down', next, Date.now());
    say(`Git down: "${message}"; synced ${resumeS.toFixed(2)} s after the return`);
    writeOutage('outage-git-down.json', { name: `Git server down ${DOWN_S} s`, downS: DOWN_S, resumeS, details: { condition: message } });
  }, 180_000);

  it(`the Git server answering 1 byte a second: the fetch times out (--git-timeout=${TIMEOUT_S}), last good revision kept, synced again once it answers`, async () => {
    const proxy = await GitProxy.start(git.baseURL);
    proxies.push(proxy);
    const good = await setUp('slow', { url: (repo) => `${proxy.baseURL}/${repo}.git` });
    proxy.slow();
    const next = await git.commit('slow', change('slow'));
    const message = await failing('slow', good, new RegExp(`no answer within ${TIMEOUT_S * 1000} ms \\(the limit: --git-timeout\\)`), DOWN_S);
    await proxy.up();
    const resumeS = await recovered('slow', next, Date.now());
    say(`Git slow: "${message}"; synced ${resumeS.toFixed(2)} s after it answered again`);
    writeOutage('outage-git-slow.json', { name: 'Git server at 1 byte/s', downS: DOWN_S, resumeS, details: { condition: message, timeoutS: TIMEOUT_S } });
  }, 180_000);

  it('a force-push that rewrites the branch, then one back to an older commit: the Application follows Git exactly, nothing stale left applied', async () => {
    const good = await setUp('rewrite');
    const lost = await git.commit('rewrite', { 'd.yaml': cm('rewrite-d', '1') }, 'lost by the rewrite');
    await refresh('rewrite');
    await waitFor('rewrite synced at the commit the rewrite drops', () => synced('rewrite', lost), 60_000, 100);
    // History rewritten: the branch replaced by another commit on top of the good one (the `lost` one gone).
    await git.run('rewrite', ['checkout', '--quiet', '-B', 'rewritten', good]);
    const rewritten = await git.commit('rewrite', { 'a.yaml': cm('rewrite-a', '2'), 'b.yaml': null, 'c.yaml': cm('rewrite-c', '1') }, 'rewritten', 'rewritten');
    const pushedAt = Date.now();
    await git.run('rewrite', ['push', '--quiet', '--force', 'origin', 'rewritten:main']);
    await refresh('rewrite');
    await waitFor('rewrite synced at the rewritten commit', () => synced('rewrite', rewritten), 60_000, 100);
    const resumeS = (Date.now() - pushedAt) / 1000;
    expect({ a: await data('rewrite-a'), b: await data('rewrite-b'), c: await data('rewrite-c'), d: await data('rewrite-d') }).toEqual({ a: '2', b: undefined, c: '1', d: undefined });
    // Force-pushed back to the older commit (a rollback by rewrite): the old content again, c pruned.
    await git.run('rewrite', ['push', '--quiet', '--force', 'origin', `${good}:refs/heads/main`]);
    await refresh('rewrite');
    await waitFor('rewrite synced back at the good commit', () => synced('rewrite', good), 60_000, 100);
    expect({ a: await data('rewrite-a'), b: await data('rewrite-b'), c: await data('rewrite-c'), d: await data('rewrite-d') }).toEqual({ a: '1', b: '1', c: undefined, d: undefined });
    expect((await app('rewrite')).status?.history?.map((h) => h.revision)).toEqual([good, lost, rewritten, good]);
    expect({ exits, exitCode: op.child.exitCode }).toEqual({ exits: [], exitCode: null });
    say(`Git force-push: synced the rewritten branch ${resumeS.toFixed(2)} s after the push`);
    writeOutage('outage-git-forcepush.json', { name: 'Git force-push rewriting the branch', downS: 0, resumeS, details: {} });
  }, 180_000);

  it('the target branch deleted: last good revision kept, a ComparisonError naming the branch, synced again when it is pushed back', async () => {
    const good = await setUp('branch', { branch: 'release' });
    await git.run('branch', ['push', '--quiet', 'origin', '--delete', 'release']);
    const message = await failing('branch', good, /targetRevision "release" is neither a branch, a tag nor a full commit SHA on the remote/, DOWN_S);
    const next = await git.commit('branch', change('branch'), 'back', 'release');
    const back = Date.now();
    await refresh('branch');
    const resumeS = await recovered('branch', next, back);
    say(`Git branch deleted: "${message}"; synced ${resumeS.toFixed(2)} s after it was pushed back`);
    writeOutage('outage-git-branch.json', { name: 'Git target branch deleted', downS: DOWN_S, resumeS, details: { condition: message } });
  }, 180_000);

  it(`repositories over the limits (${MAX_FILES + 20} files over --git-max-files=${MAX_FILES}; a 3 MB blob over --git-max-fetch-bytes=${MAX_FETCH}; 1 MB of text over --git-max-tree-bytes=${MAX_TREE}): refused with a condition, last good revision kept, synced once back under`, async () => {
    const good = await setUp('size');
    const many = Object.fromEntries(Array.from({ length: MAX_FILES + 20 }, (_v, i) => [`many/f${i}.yaml`, cm(`size-many-${i}`, '1')]));
    await git.commit('size', { ...many, 'a.yaml': cm('size-a', '9') });
    const filesMessage = await failing('size', good, new RegExp(`more than ${MAX_FILES} files under / \\(the limit: --git-max-files\\)`), 1);
    expect(await data('size-many-0')).toBeUndefined();

    // Back under the file limit but with a big incompressible blob: the fetch itself is cut at the limit.
    const unmany = Object.fromEntries(Object.keys(many).map((k) => [k, null]));
    await git.commit('size', { ...unmany, 'big.bin': randomBytes(3_000_000).toString('base64') });
    const fetchMessage = await failing('size', good, new RegExp(`exceeds ${MAX_FETCH} bytes \\(the limit: --git-max-fetch-bytes\\)`), 1);

    // A small fetch (it compresses well) of files too big to hand to the renderer.
    await git.commit('size', { 'big.bin': null, 'big.txt': 'x'.repeat(MAX_TREE + 1) });
    const treeMessage = await failing('size', good, new RegExp(`the files under / exceed ${MAX_TREE} bytes \\(the limit: --git-max-tree-bytes\\)`), 1);

    const next = await git.commit('size', { ...change('size'), 'big.txt': null });
    const fixed = Date.now();
    await refresh('size');
    const resumeS = await recovered('size', next, fixed);
    say(`Git over the limits: "${filesMessage}", "${fetchMessage}", "${treeMessage}"; synced ${resumeS.toFixed(2)} s after the fix`);
    writeOutage('outage-git-size.json', { name: 'Git repository over the limits (files, fetch bytes, tree bytes)', downS: 0, resumeS, details: { conditions: [filesMessage, fetchMessage, treeMessage], maxFiles: MAX_FILES, maxFetchBytes: MAX_FETCH, maxTreeBytes: MAX_TREE } });
  }, 180_000);
});

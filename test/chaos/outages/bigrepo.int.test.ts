// The Git outage at scale (opt-in: SLUICE_CHAOS_BIGREPO=1, or `npm run chaos -- --bigrepo`): a real repository of
// 50,000 files and one of 500 MiB that does not compress (./bigrepo.ts, generated once and cached), served by the real
// Git server of the GitOps tests, against the operator with its DEFAULT limits (5,000 files, 64 MiB a fetch, 32 MiB
// of files, 60 s). Each Application first synced a small good commit; the branch then moves to the big one. Required:
// a ComparisonError naming the limit and its flag; the last good revision still applied and recorded (nothing pruned,
// nothing half-applied) across several polls; the operator never exits; synced again once the branch is fixed.
// Recorded: time to the condition, the operator's RSS peak, the bytes the Git server sent. Then the 50,000 files with
// the file limit raised (a second operator): does it sync, how long, how much memory.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ApplicationStatus } from '../../../src/api/application/schema.ts';
import { DEFAULT_LIMITS } from '../../../src/gitops/source/git.ts';
import type { KubeObject } from '../../../src/kube/client.ts';
import { isNotFound } from '../../../src/kube/errors.ts';
import { R } from '../../../src/kube/resource.ts';
import { REFRESH_ANNOTATION } from '../../../src/gitops/sync-shared.ts';
import { createNamespace, deleteNamespace, kubeconfigPath, kubectl, waitFor } from '../../support/cluster.ts';
import { installCrds } from '../../support/crds.ts';
import { startGitServer, type GitServer } from '../../support/git-server.ts';
import { startOperator, type OperatorProcess } from '../../support/operator-process.ts';
import { testClient } from '../../support/operator.ts';
import { readRssMiB } from '../soak/rss.ts';
import { bigRepo, BLOB_BYTES, BLOBS, FILES, type BigRepo, type Chain } from './bigrepo.ts';
import { say, sleep, writeOutage } from './support.ts';

const ON = process.env.SLUICE_CHAOS_BIGREPO === '1';
/** How long the refusal is watched after it first shows (the Applications poll every 10 s: several retries). */
const HOLD_S = Number(process.env.SLUICE_CHAOS_BIGREPO_HOLD ?? 35);
const POLL = '10s';

type App = KubeObject & { status?: ApplicationStatus };
type Cm = KubeObject & { data?: Record<string, string> };

/** VmRSS sampled every 200 ms between start() and stop(): the peak of one phase (VmHWM would be the process's whole life). */
class RssPeak {
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly pid: number;
  constructor(pid: number) {
    this.pid = pid;
  }
  start(): void {
    this.peak = readRssMiB(this.pid);
    this.timer = setInterval(() => {
      try {
        this.peak = Math.max(this.peak, readRssMiB(this.pid));
      } catch {
        // gone: the exit checks say so
      }
    }, 200);
  }
  stop(): number {
    clearInterval(this.timer);
    return Math.round(this.peak * 10) / 10;
  }
}

const mib = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

(ON ? describe : describe.skip)(`chaos: a real big Git repository (${FILES} files; ${BLOBS} MiB), default limits`, () => {
  const { client } = testClient();
  let big: BigRepo;
  let git: GitServer;
  const namespaces: string[] = [];
  const operators: OperatorProcess[] = [];
  const exits: (number | null)[] = [];
  const cacheDirs: string[] = [];

  async function operator(ns: string, identity: string, extra: string[]): Promise<OperatorProcess> {
    const cacheDir = await mkdtemp(join(tmpdir(), 'sluice-chaos-bigrepo-'));
    cacheDirs.push(cacheDir);
    // In a memory cgroup of the chart's limit when asked (as `npm run chaos -- --bigrepo` does): a pod is OOM-killed
    // there, where an unlimited process only shows a high RSS.
    const memory = process.env.SLUICE_CHAOS_MEMORY_LIMIT_MIB;
    const op = await startOperator(kubeconfigPath(), identity, [`--namespace=${ns}`, '--log-level=warn', ...extra], { SLUICE_GIT_CACHE: cacheDir }, memory !== undefined ? { memoryLimitMiB: Number(memory) } : {});
    operators.push(op);
    void op.exited.then((c) => exits.push(c));
    return op;
  }

  beforeAll(async () => {
    const started = Date.now();
    big = await bigRepo();
    say(`big repositories ${big.generatedS > 0 ? `generated in ${big.generatedS.toFixed(1)} s` : `from the cache (${((Date.now() - started) / 1000).toFixed(1)} s)`}`);
    await installCrds();
    git = await startGitServer();
  }, 600_000);
  afterAll(async () => {
    for (const op of operators) op.kill('SIGTERM');
    await Promise.all(operators.map((op) => op.exited));
    await git?.close();
    for (const ns of namespaces) await deleteNamespace(ns);
    for (const d of cacheDirs) await rm(d, { recursive: true, force: true });
  }, 120_000);

  /** A served repository whose objects are the cache's (objects/info/alternates: nothing copied), `main` at `sha`. */
  async function serve(repo: string, sha: string): Promise<string> {
    const url = await git.createRepo(repo);
    writeFileSync(join(git.bare(repo), 'objects', 'info', 'alternates'), `${big.objects}\n`);
    moveBranch(repo, sha);
    return url;
  }
  const moveBranch = (repo: string, sha: string): void => {
    const r = spawnSync('git', ['--git-dir', git.bare(repo), 'update-ref', 'refs/heads/main', sha], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`update-ref: ${r.stderr}`);
  };
  const sentBytes = (repo: string, since = 0): number => git.requests.slice(since).filter((r) => r.path.startsWith(`/${repo}.git/`)).reduce((s, r) => s + r.bytes, 0);

  const app = (ns: string, name: string): Promise<App> => client.get<App>(R.application, ns, name);
  const data = async (ns: string, name: string): Promise<string | undefined> => {
    try {
      return (await client.get<Cm>(R.configMap, ns, name)).data?.v ?? '';
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const comparisonError = async (ns: string, name: string): Promise<string | undefined> => (await app(ns, name)).status?.conditions?.find((c) => c.type === 'ComparisonError')?.message;
  const refresh = async (ns: string, name: string): Promise<void> => {
    expect((await kubectl(['annotate', '--overwrite', '-n', ns, `applications.sluice.dev/${name}`, `${REFRESH_ANNOTATION}=${Date.now()}`])).code).toBe(0);
  };
  const synced = async (ns: string, name: string, sha: string): Promise<boolean> => {
    const s = (await app(ns, name)).status;
    return s?.sync?.revision === sha && s.sync.status === 'Synced' && s.health?.status === 'Healthy' && s.operationState?.phase === 'Succeeded' && s.operationState.syncResult?.revision === sha && !s.conditions?.some((c) => c.type === 'ComparisonError');
  };
  const alive = (): void => expect({ exits, exitCodes: operators.map((o) => o.child.exitCode) }).toEqual({ exits: [], exitCodes: operators.map(() => null) });

  /** The Application `name` (ConfigMaps `<name>-a`, `<name>-b`) on repository `repo`, synced at the chain's good commit. */
  async function setUp(ns: string, name: string, repo: string, chain: Chain): Promise<void> {
    const repoURL = await serve(repo, chain.good);
    const spec = { source: { repoURL, path: '.', targetRevision: 'main' }, destination: { namespace: ns }, syncPolicy: { automated: { prune: true, selfHeal: true } }, pollInterval: POLL };
    expect((await kubectl(['apply', '--server-side', '-f', '-'], stringify({ apiVersion: 'sluice.dev/v1alpha1', kind: 'Application', metadata: { name, namespace: ns }, spec }))).code).toBe(0);
    await waitFor(`${name} synced at the good commit`, () => synced(ns, name, chain.good), 120_000, 200);
  }

  /** The good revision still applied and recorded; nothing of the big one applied, nothing pruned. */
  async function expectKept(ns: string, name: string, good: string): Promise<void> {
    const s = (await app(ns, name)).status;
    expect({ synced: s?.operationState?.syncResult?.revision, lastHistory: s?.history?.at(-1)?.revision, resources: s?.resources?.map((r) => r.name).sort() }).toEqual({ synced: good, lastHistory: good, resources: [`${name}-a`, `${name}-b`] });
    expect({ a: await data(ns, `${name}-a`), b: await data(ns, `${name}-b`) }).toEqual({ a: '1', b: '1' });
  }

  /** The branch moved to the big commit: refused with `cause`, the good revision kept throughout; then fixed. */
  async function refusedThenFixed(op: OperatorProcess, ns: string, name: string, chain: Chain, cause: RegExp): Promise<Record<string, unknown>> {
    const rss = new RssPeak(op.child.pid!);
    const requestsBefore = git.requests.length;
    rss.start();
    moveBranch(name, chain.bad);
    const movedAt = Date.now();
    await refresh(ns, name);
    await waitFor(`${name}: a ComparisonError naming the limit`, async () => cause.test((await comparisonError(ns, name)) ?? ''), 600_000, 200);
    const conditionS = (Date.now() - movedAt) / 1000;
    const condition = (await comparisonError(ns, name))!;
    const bytesToCondition = sentBytes(name, requestsBefore);
    await expectKept(ns, name, chain.good);
    alive();
    // Several polls later: still refused, still nothing applied or pruned, still up.
    await sleep(HOLD_S * 1000);
    expect(cause.test((await comparisonError(ns, name)) ?? '')).toBe(true);
    await expectKept(ns, name, chain.good);
    alive();
    const bytesWhileRefused = sentBytes(name, requestsBefore);
    const fetches = git.requests.slice(requestsBefore).filter((r) => r.path === `/${name}.git/git-upload-pack`).length;
    const rssPeakMiB = rss.stop();

    // The fix, a commit on top of the big one: synced, b pruned only now.
    const fixRequests = git.requests.length;
    rss.start();
    moveBranch(name, chain.fix);
    const fixedAt = Date.now();
    await refresh(ns, name);
    await waitFor(`${name} synced at the fix`, () => synced(ns, name, chain.fix), 600_000, 100);
    const resumeS = (Date.now() - fixedAt) / 1000;
    expect({ a: await data(ns, `${name}-a`), b: await data(ns, `${name}-b`) }).toEqual({ a: '2', b: undefined });
    alive();
    return { condition, conditionS, rssPeakMiB, bytesToConditionMiB: mib(bytesToCondition), bytesWhileRefusedMiB: mib(bytesWhileRefused), uploadPackRequests: fetches, holdS: HOLD_S, resumeS, resumeBytesMiB: mib(sentBytes(name, fixRequests)), resumeRssPeakMiB: rss.stop() };
  }

  it(`${FILES} files (over --git-max-files=${DEFAULT_LIMITS.maxFiles}) and ${BLOBS} MiB of random bytes (over --git-max-fetch-bytes=${DEFAULT_LIMITS.maxFetchBytes}): refused with a condition naming the limit, the good revision kept, synced once fixed`, async () => {
    const ns = await createNamespace('chaos-bigrepo');
    namespaces.push(ns);
    const op = await operator(ns, `chaos-bigrepo-${ns}`, []);
    const idleRssMiB = readRssMiB(op.child.pid!);
    await setUp(ns, 'files', 'files', big.files);
    await setUp(ns, 'bytes', 'bytes', big.bytes);
    const files = await refusedThenFixed(op, ns, 'files', big.files, new RegExp(`more than ${DEFAULT_LIMITS.maxFiles} files under / \\(the limit: --git-max-files\\)`));
    say(`${FILES} files: ${JSON.stringify(files)}`);
    const bytes = await refusedThenFixed(op, ns, 'bytes', big.bytes, new RegExp(`exceeds ${DEFAULT_LIMITS.maxFetchBytes} bytes \\(the limit: --git-max-fetch-bytes\\)`));
    say(`${BLOBS} MiB: ${JSON.stringify(bytes)}`);
    writeOutage('outage-git-bigrepo.json', {
      name: `Git repositories of ${FILES} files and ${BLOBS} MiB (default limits)`,
      downS: 0,
      resumeS: Math.max(files.resumeS as number, bytes.resumeS as number),
      details: { idleRssMiB: Math.round(idleRssMiB), files, bytes, repoPackMiB: mib(BLOBS * BLOB_BYTES), generatedS: big.generatedS },
    });
  }, 30 * 60_000);

  it(`${FILES} files with --git-max-files raised to ${FILES + 10_000}: synced`, async () => {
    const ns = await createNamespace('chaos-bigrepo-raised');
    namespaces.push(ns);
    const op = await operator(ns, `chaos-bigrepo-raised-${ns}`, [`--git-max-files=${FILES + 10_000}`]);
    const idleRssMiB = readRssMiB(op.child.pid!);
    await setUp(ns, 'files', 'files-raised', big.files);
    const rss = new RssPeak(op.child.pid!);
    const before = git.requests.length;
    rss.start();
    moveBranch('files-raised', big.files.bad);
    const movedAt = Date.now();
    await refresh(ns, 'files');
    await waitFor('files synced at the big commit', () => synced(ns, 'files', big.files.bad), 600_000, 200);
    const syncS = (Date.now() - movedAt) / 1000;
    expect({ a: await data(ns, 'files-a'), b: await data(ns, 'files-b') }).toEqual({ a: '2', b: undefined });
    const figures = { syncS, idleRssMiB: Math.round(idleRssMiB), rssPeakMiB: rss.stop(), bytesMiB: mib(sentBytes('files-raised', before)), maxFiles: FILES + 10_000 };
    alive();
    say(`${FILES} files, limit raised: ${JSON.stringify(figures)}`);
    writeOutage('outage-git-bigrepo-raised.json', { name: `Git repository of ${FILES} files, --git-max-files=${FILES + 10_000}`, downS: 0, resumeS: syncS, details: figures });
  }, 30 * 60_000);
});

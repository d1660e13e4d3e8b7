// Scenario 5: an app of `size` objects (ConfigMaps, Services, Deployments) in a real Git repository, synced by Sluice
// (with a push webhook) and, as the baseline, applied with `kubectl apply --server-side` of the same files.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { KubeClient, KubeObject } from '../../src/kube/client.ts';
import { startGitServer } from '../support/git-server.ts';
import { startSluice, type Plane } from './controllers.ts';
import { sleep } from './pool.ts';
import { sampleProc } from './procstat.ts';
import { sumBy } from './promtext.ts';
import type { Row } from './report.ts';

export interface GitopsRun {
  plane: Plane;
  /** The plane's kubectl binary (for the baseline, timed as its own process). */
  kubectlBin: string;
  client: KubeClient;
  size: number;
  /** Appended to namespace names; set, Sluice is also scoped to the bench's namespaces (shared control plane). */
  suffix: string;
  scoped: boolean;
  /** Settling pause after the first sync, and the no-op refresh's counting window (ms). */
  settleMs: number;
  /** Registers a started process with the run's guard. */
  guard(pid: number, command: string): void;
  say(line: string): void;
}

const run = promisify(execFile);
const MiB = 1024 * 1024;
const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;
const CHANGED = 'cm-00000';

/** Half ConfigMaps, 30% Services, 20% single-replica Deployments, one file each. */
export function appFiles(size: number, value = 'v1'): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < size; i++) {
    const id = String(i).padStart(5, '0');
    const r = i % 10;
    let obj: object;
    if (r < 5) obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${id}` }, data: { value, index: id } };
    else if (r < 8) obj = { apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${id}` }, spec: { selector: { app: `d-${id}` }, ports: [{ port: 80, targetPort: 8080 }] } };
    else {
      obj = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: `d-${id}` },
        spec: { replicas: 1, selector: { matchLabels: { app: `d-${id}` } }, template: { metadata: { labels: { app: `d-${id}` } }, spec: { containers: [{ name: 'app', image: 'registry.invalid/bench/app:v1' }] } } },
      };
    }
    const name = (obj as { kind: string; metadata: { name: string } }).metadata.name;
    files[`app/${name}.yaml`] = stringify(obj);
  }
  return files;
}

async function until(what: string, check: () => Promise<boolean>, ms: number, every = 50): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return Date.now();
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(every);
  }
}

const cmValue = async (client: KubeClient, ns: string): Promise<string | undefined> => {
  try {
    return (await client.get<KubeObject & { data?: Record<string, string> }>({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true }, ns, CHANGED)).data?.value;
  } catch {
    return undefined;
  }
};

/** Counts the requests in kubectl's -v=6 log: structured ("Response" verb=…) or classic ("GET https://… 200 OK"). */
export function countKubectlRequests(log: string): number {
  return log.split('\n').filter((l) => /"Response" verb="/.test(l) || /\b(GET|POST|PUT|PATCH|DELETE) https?:\/\/\S+ \d{3} /.test(l)).length;
}

/** kubectl as its own process: wall seconds, the requests it sent (from -v=6), its CPU seconds (bash `times`). */
async function timedKubectl(bin: string, kubeconfig: string, args: string[]): Promise<{ seconds: number; requests: number; cpuSeconds: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-kubectl-'));
  const klog = join(dir, 'klog');
  // `times` prints the shell's, then its children's, user and system time ("0m1.234s 0m0.100s").
  const script = '"$@" 2>"$KLOG" >/dev/null || { tail -5 "$KLOG" >&2; exit 1; }; times';
  try {
    const t0 = Date.now();
    const { stdout } = await run('bash', ['-c', script, '_', bin, `--kubeconfig=${kubeconfig}`, '-v=6', ...args], { env: { ...process.env, KLOG: klog }, maxBuffer: 64 << 20 });
    const seconds = (Date.now() - t0) / 1000;
    const children = stdout.trim().split('\n').at(-1) ?? '';
    const cpuSeconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((s, m) => s + Number(m[1]) * 60 + Number(m[2]), 0);
    return { seconds, requests: countKubectlRequests(await readFile(klog, 'utf8')), cpuSeconds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runGitops(o: GitopsRun): Promise<Row[]> {
  const git = await startGitServer();
  const rows: Row[] = [];
  try {
    const repoURL = await git.createRepo(`app-${o.size}`);
    const files = appFiles(o.size);
    const sha1 = await git.commit(`app-${o.size}`, files, `app of ${o.size} objects`);

    // kubectl apply --server-side of the same files (the baseline).
    const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-app-'));
    const write = async (f: Record<string, string>): Promise<void> => {
      for (const [file, text] of Object.entries(f)) await writeFile(join(dir, file.replace(/^app\//, '')), text);
    };
    try {
      await write(files);
      const kns = `bench-gitops-${o.size}-kubectl${o.suffix}`;
      await o.plane.kubectl(['create', 'namespace', kns]);
      const first = await timedKubectl(o.kubectlBin, o.plane.kubeconfig, ['apply', '--server-side', '-n', kns, '-f', dir]);
      const noop = await timedKubectl(o.kubectlBin, o.plane.kubeconfig, ['apply', '--server-side', '-n', kns, '-f', dir]);
      await write({ [`app/${CHANGED}.yaml`]: appFiles(1, 'v2')[`app/${CHANGED}.yaml`] ?? '' });
      const change = await timedKubectl(o.kubectlBin, o.plane.kubeconfig, ['apply', '--server-side', '-n', kns, '-f', dir]);
      if ((await cmValue(o.client, kns)) !== 'v2') throw new Error('kubectl apply did not change the ConfigMap');
      rows.push({
        scenario: 'gitops',
        n: o.size,
        controller: 'kubectl-apply',
        figures: { firstSyncS: round(first.seconds), changeAppliedS: round(change.seconds), noopRequests: noop.requests, noopCpuS: round(noop.cpuSeconds), driftHealS: null },
        notes: ['no-op = the same `kubectl apply --server-side` again; a one-object change = the whole directory re-applied; drift: kubectl does not watch, so never heals by itself'],
      });
      o.say(`kubectl apply --server-side, ${o.size} objects: first ${first.seconds.toFixed(1)} s, re-apply of one change ${change.seconds.toFixed(1)} s, no-op re-apply ${noop.requests} requests`);
      await o.plane.kubectl(['delete', 'namespace', kns, '--wait=false']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    // Sluice: an Application on the repository, a webhook for the change.
    const ns = `bench-gitops-${o.size}-sluice${o.suffix}`;
    const appNs = `sluice-bench${o.suffix}`;
    const secret = randomBytes(16).toString('hex');
    await o.plane.kubectl(['create', 'namespace', appNs]).catch(() => undefined);
    const sluice = await startSluice(o.plane, `sluice-bench-gitops-${o.size}${o.suffix}`, o.scoped ? [`--namespace=${appNs},${ns}`] : [], { SLUICE_WEBHOOK_SECRET: secret });
    o.guard(sluice.pid, process.execPath);
    const webhook = async (): Promise<void> => {
      const body = JSON.stringify({ repoURL, ref: 'refs/heads/main' });
      const sig = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
      const res = await fetch(sluice.metricsUrl.replace(/\/metrics$/, '/api/webhook'), { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Sluice-Signature-256': sig }, body });
      if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
    };
    const requests = async (): Promise<number> => [...sumBy(await (await fetch(sluice.metricsUrl)).text(), 'sluice_apiserver_requests_total', () => 'all').values()].reduce((a, b) => a + b, 0);
    type App = KubeObject & { status?: { sync?: { status?: string; revision?: string } } };
    const appRT = { group: 'sluice.dev', version: 'v1alpha1', kind: 'Application', plural: 'applications', namespaced: true };
    const synced = async (sha: string): Promise<boolean> => {
      const s = (await o.client.get<App>(appRT, appNs, `app-${o.size}`)).status?.sync;
      return s?.status === 'Synced' && s.revision === sha;
    };
    try {
      const t0 = Date.now();
      await o.client.apply(appRT, {
        metadata: { name: `app-${o.size}`, namespace: appNs },
        spec: {
          source: { repoURL, targetRevision: 'main', path: 'app' },
          destination: { namespace: ns },
          syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] },
        },
      }, 'bench');
      const firstAt = await until(`Sluice's first sync of ${o.size} objects`, () => synced(sha1), 600_000, 100);
      await sleep(o.settleMs);
      const idle = sampleProc(sluice.pid);

      // A no-op refresh: the webhook names the repository, whose head did not move.
      // A quiet window of the same length first: what Sluice does anyway (health, status) is not the refresh's cost.
      const q0 = await requests();
      const qc0 = sampleProc(sluice.pid).cpuSeconds;
      await sleep(o.settleMs);
      const quietRequests = (await requests()) - q0;
      const quietCpu = sampleProc(sluice.pid).cpuSeconds - qc0;
      const r0 = await requests();
      const c0 = sampleProc(sluice.pid).cpuSeconds;
      await webhook();
      await sleep(o.settleMs);
      const noopRequests = Math.max(0, (await requests()) - r0 - quietRequests);
      const noopCpu = Math.max(0, sampleProc(sluice.pid).cpuSeconds - c0 - quietCpu);

      // One object changed: commit, push, webhook → the new value is live.
      await git.commit(`app-${o.size}`, { [`app/${CHANGED}.yaml`]: appFiles(1, 'v2')[`app/${CHANGED}.yaml`] ?? '' }, 'one ConfigMap changed');
      const c1 = Date.now();
      await webhook();
      const changedAt = await until('the changed ConfigMap', async () => (await cmValue(o.client, ns)) === 'v2', 120_000);

      // Drift: an imperative edit of that ConfigMap, healed by selfHeal.
      await sleep(o.settleMs / 3);
      await o.plane.kubectl(['patch', 'configmap', CHANGED, '-n', ns, '--type=merge', '-p', '{"data":{"value":"drift"}}']);
      const d0 = Date.now();
      const healedAt = await until('drift healed', async () => (await cmValue(o.client, ns)) === 'v2', 120_000);
      rows.push({
        scenario: 'gitops',
        n: o.size,
        controller: 'sluice',
        figures: {
          firstSyncS: round((firstAt - t0) / 1000),
          changeAppliedS: round((changedAt - c1) / 1000),
          noopRequests,
          noopCpuS: round(noopCpu, 3),
          driftHealS: round((healedAt - d0) / 1000),
          idleRssMiB: round(idle.rssBytes / MiB, 1),
        },
        detail: { quietWindowRequests: quietRequests, quietWindowCpuS: round(quietCpu, 3) },
        notes: [`change = from the webhook (sent right after the push) to the new value seen by a 50 ms poll; no-op = a webhook for a head that did not move, requests counted by Sluice's own metric over ${o.settleMs / 1000} s, less those of the quiet window just before`],
      });
      o.say(`Sluice, ${o.size} objects: first sync ${((firstAt - t0) / 1000).toFixed(1)} s, change ${((changedAt - c1) / 1000).toFixed(2)} s, no-op ${noopRequests} requests, drift healed ${((healedAt - d0) / 1000).toFixed(2)} s`);
    } finally {
      // Deleted while Sluice runs: its finalizer (cascade deletion) would otherwise hold the Application.
      await o.client.delete(appRT, appNs, `app-${o.size}`).catch(() => undefined);
      await until('the Application gone', async () => (await o.client.get(appRT, appNs, `app-${o.size}`).then(() => false, () => true)), 300_000, 250).catch((err: unknown) => o.say(`warning: ${String(err)}`));
      await sluice.stop();
      await o.plane.kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
    }
  } finally {
    await git.close();
  }
  return rows;
}

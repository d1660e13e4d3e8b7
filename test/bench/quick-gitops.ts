// A quick side-by-side measurement of the GitOps sync (not the full benchmark): one control plane, one Git server,
// Sluice as a child process (src/main.ts with its defaults) and `kubectl apply --server-side` of the same files.
//
//   node_modules/.bin/node test/bench/quick-gitops.ts [--objects=1000] [--changes=5] [--replicas=0] [--cpu-prof]
//
// Prints one JSON line of figures: first sync (Application applied → Synced and Succeeded at the commit) against
// kubectl, the webhook → applied latency of a one-ConfigMap change (p50 over --changes), the requests Sluice sent
// for each phase (its own metrics), and the apiserver's count of requests for a quiet refresh.
import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { KubeClient, type KubeObject } from '../../src/kube/client.ts';
import { R } from '../../src/kube/resource.ts';
import { ensureBinaries, startControlPlane } from '../cluster/controlplane.ts';
import { CLUSTER_ENV } from '../cluster/env.ts';
import { startGitServer } from '../support/git-server.ts';
import { startOperator } from '../support/operator-process.ts';

const arg = (name: string, def: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def;
const N = Number(arg('objects', '1000'));
const CHANGES = Number(arg('changes', '5'));
const REPLICAS = Number(arg('replicas', '0'));
const CPU_PROF = process.argv.includes('--cpu-prof');
const SECRET = 'quick-bench';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number): number => Math.round(ms / 10) / 100;

/** N objects, a third each of ConfigMaps, Services and Deployments, one file each. */
function files(value: (i: number) => string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < N; i++) {
    const name = `obj-${i}`;
    const labels = { app: name };
    let doc: unknown;
    if (i % 3 === 0) doc = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data: { value: value(i), other: 'x'.repeat(64) } };
    else if (i % 3 === 1) doc = { apiVersion: 'v1', kind: 'Service', metadata: { name, labels }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } };
    else {
      doc = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, labels },
        spec: { replicas: REPLICAS, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'example.com/app:1.0.0', ports: [{ containerPort: 8080 }] }] } } },
      };
    }
    out[`${name}.yaml`] = stringify(doc);
  }
  return out;
}

async function main(): Promise<void> {
  const binDir = await ensureBinaries();
  const cp = await startControlPlane({ binDir });
  process.env[CLUSTER_ENV.kubeconfig] = cp.kubeconfig;
  process.env[CLUSTER_ENV.binDir] = binDir;
  const git = await startGitServer();
  const work = await mkdtemp(join(tmpdir(), 'quick-gitops-'));
  let op: Awaited<ReturnType<typeof startOperator>> | undefined;
  try {
    await cp.kubectl(['apply', '--server-side', '-f', resolve('crds')]);
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', resolve('crds')]);
    for (const ns of ['bench-kubectl', 'bench-sluice']) await cp.kubectl(['create', 'namespace', ns]);
    const apiserverRequests = async (): Promise<number> =>
      (await cp.kubectl(['get', '--raw', '/metrics']))
        .split('\n')
        .filter((l) => l.startsWith('apiserver_request_total{'))
        .reduce((s, l) => s + Number(l.split(' ').pop()), 0);

    // kubectl apply --server-side of the same files.
    const v1 = files(() => 'v0');
    const dir = join(work, 'files');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    for (const [f, text] of Object.entries(v1)) await writeFile(join(dir, f), text);
    let t = Date.now();
    await cp.kubectl(['apply', '--server-side', '--field-manager=bench', '-n', 'bench-kubectl', '-f', dir]);
    const kubectlMs = Date.now() - t;

    // Sluice: the same files in a Git repository, one Application.
    const url = await git.createRepo('app');
    const c1 = await git.commit('app', v1, 'v0');
    const profDir = resolve('test-results', 'quick-gitops-prof');
    op = await startOperator(cp.kubeconfig, 'quick-gitops', ['--namespace=bench-sluice', ...(process.argv.includes('--debug') ? ['--log-level=debug'] : [])], {
      SLUICE_WEBHOOK_GITHUB_SECRET: SECRET,
      ...(CPU_PROF ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir}` } : {}),
    });
    const hookURL = op.metricsUrl.replace(/\/metrics$/, '/api/webhook');
    const requests = (): Promise<number> => op!.metric('sluice_apiserver_requests_total');
    const reconciles = (): Promise<number> => op!.metric('sluice_reconcile_total', 'controller="application"');
    const app = {
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Application',
      metadata: { name: 'app', namespace: 'bench-sluice' },
      spec: { source: { repoURL: url, targetRevision: 'main' }, destination: { namespace: 'bench-sluice' }, syncPolicy: { automated: { prune: true } }, pollInterval: '10m' },
    };
    // Polled in-process (a kubectl per poll would cost more than what is measured).
    const client = KubeClient.fromDefault({ qps: 1000, burst: 1000 }, cp.kubeconfig);
    type AppStatus = { sync?: { status?: string; revision?: string }; operationState?: { phase?: string; message?: string } };
    const status = async (): Promise<AppStatus | undefined> => (await client.get<KubeObject & { status?: AppStatus }>(R.application, 'bench-sluice', 'app')).status;
    let r0 = await requests();
    let n0 = await reconciles();
    t = Date.now();
    await cp.kubectl(['apply', '--server-side', '-f', '-'], stringify(app));
    for (;;) {
      const s = await status();
      if (s?.sync?.revision === c1 && s.sync.status === 'Synced' && s.operationState?.phase === 'Succeeded') break;
      if (Date.now() - t > 600_000) throw new Error(`first sync not done after 600 s: ${JSON.stringify(s)}`);
      await sleep(100);
    }
    const firstSyncMs = Date.now() - t;
    const firstSyncRequests = (await requests()) - r0;
    const firstSyncReconciles = (await reconciles()) - n0;

    // One ConfigMap changed per commit, then the push webhook; applied = the ConfigMap carries the new value.
    const latencies: number[] = [];
    r0 = await requests();
    n0 = await reconciles();
    for (let k = 1; k <= CHANGES; k++) {
      const i = 3 * ((k * 37) % Math.floor(N / 3));
      const name = `obj-${i}`;
      const one = files((j) => (j === i ? `v${k}` : 'v0'));
      const commit = await git.commit('app', { [`${name}.yaml`]: one[`${name}.yaml`] ?? '' }, `change ${k}`);
      const payload = JSON.stringify({ ref: 'refs/heads/main', after: commit, repository: { clone_url: url } });
      const signature = `sha256=${createHmac('sha256', SECRET).update(payload).digest('hex')}`;
      t = Date.now();
      const res = await fetch(hookURL, { method: 'POST', body: payload, headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': signature } });
      if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
      for (;;) {
        const cm = await client.get<KubeObject & { data?: { value?: string } }>(R.configMap, 'bench-sluice', name);
        if (cm.data?.value === `v${k}`) break;
        if (Date.now() - t > 60_000) throw new Error(`change ${k} not applied after 60 s`);
        await sleep(10);
      }
      latencies.push(Date.now() - t);
      // Let the sync finish writing its status before the next change.
      for (let w = 0; w < 100 && (await status())?.sync?.revision !== commit; w++) await sleep(50);
    }
    const changeRequests = ((await requests()) - r0) / Math.max(1, CHANGES);
    const changeReconciles = ((await reconciles()) - n0) / Math.max(1, CHANGES);
    latencies.sort((a, b) => a - b);

    // A quiet refresh: the same commit, nothing changed (the apiserver's count, minus the refresh patch itself).
    await sleep(1000);
    const a0 = await apiserverRequests();
    r0 = await requests();
    await cp.kubectl(['annotate', '--overwrite', 'applications.sluice.dev', '-n', 'bench-sluice', 'app', `sluice.dev/refresh=${Date.now()}`]);
    await sleep(3000);
    const quietSluiceRequests = (await requests()) - r0;
    const quietApiserverRequests = (await apiserverRequests()) - a0;

    const out = {
      objects: N,
      replicas: REPLICAS,
      kubectlServerSideS: secs(kubectlMs),
      sluiceFirstSyncS: secs(firstSyncMs),
      firstSyncRatio: Math.round((firstSyncMs / kubectlMs) * 100) / 100,
      firstSyncRequests,
      firstSyncReconciles,
      webhookToAppliedMs: { p50: latencies[Math.floor((latencies.length - 1) / 2)], max: latencies[latencies.length - 1], all: latencies },
      requestsPerChange: changeRequests,
      reconcilesPerChange: changeReconciles,
      quietRefresh: { sluiceRequests: quietSluiceRequests, apiserverRequestsIncludingProbe: quietApiserverRequests },
    };
    console.log(JSON.stringify(out));
  } finally {
    if (op !== undefined) {
      op.kill('SIGTERM');
      await Promise.race([op.exited, sleep(10_000)]);
      if (op.child.exitCode === null) op.kill('SIGKILL');
    }
    await git.close();
    await cp.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

// A quick measurement of what managed clusters cost an idle operator (not pass/fail): two control planes (one runs
// the operator as a child process in fleet mode, one is the remote cluster), --clusters cluster Secrets (each its own
// RemoteCluster: client, watches, probe, though all point at the one remote apiserver) and one Application each.
//
//   node_modules/.bin/node test/bench/quick-fleet.ts [--clusters=5] [--idle=60]
//
// Prints one JSON line: time to sync every Application, the operator's RSS, and its apiserver requests per minute
// at idle (its own metric, which counts remote clusters' requests too), per managed cluster.
import { readFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { KubeClient, type KubeObject } from '../../src/kube/client.ts';
import { R } from '../../src/kube/resource.ts';
import { ensureBinaries, startControlPlane } from '../cluster/controlplane.ts';
import { paths } from '../cluster/layout.ts';
import { clusterSecret } from '../support/fleet.ts';
import { startGitServer } from '../support/git-server.ts';
import { startOperator } from '../support/operator-process.ts';
import { sampleProc } from './procstat.ts';

const arg = (name: string, def: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def;
const N = Number(arg('clusters', '5'));
const IDLE_S = Number(arg('idle', '60'));
const NS = 'fleet-bench';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const binDir = await ensureBinaries();
  const [home, remote] = await Promise.all([startControlPlane({ binDir, nodes: 1 }), startControlPlane({ binDir, nodes: 1 })]);
  const git = await startGitServer();
  let op: Awaited<ReturnType<typeof startOperator>> | undefined;
  try {
    await home.kubectl(['apply', '--server-side', '-f', 'crds']);
    await home.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', 'crds']);
    await home.kubectl(['create', 'namespace', NS]);
    const url = await git.createRepo('config');
    const cm = (name: string): string => stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v: '1' } });
    await git.commit('config', { 'web/a.yaml': cm('a'), 'web/b.yaml': cm('b') });
    const p = paths(remote.dir);
    const b64 = async (f: string): Promise<string> => (await readFile(f)).toString('base64');
    const tls = { caData: await b64(p.caCert), certData: await b64(p.adminCert), keyData: await b64(p.adminKey) };
    op = await startOperator(home.kubeconfig, 'fleet-bench', [`--namespace=${NS}`, `--cluster-secret-namespace=${NS}`, '--log-level=warn']);
    const client = KubeClient.fromDefault({}, home.kubeconfig);
    const started = Date.now();
    for (let i = 0; i < N; i++) {
      await client.create(R.secret, clusterSecret(NS, `cluster-${i}`, { name: `c${i}`, server: remote.server, config: { tlsClientConfig: tls } }) as KubeObject);
      await client.create(R.application, {
        metadata: { name: `web-${i}`, namespace: NS },
        spec: { source: { repoURL: url, path: 'web' }, destination: { name: `c${i}`, namespace: `web-${i}` }, syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] } },
      });
    }
    for (;;) {
      const apps = (await client.list<KubeObject & { status?: { sync?: { status?: string } } }>(R.application, NS)).items;
      if (apps.length === N && apps.every((a) => a.status?.sync?.status === 'Synced')) break;
      if (Date.now() - started > 120_000) throw new Error('Applications not Synced after 120 s');
      await sleep(200);
    }
    const syncAllS = (Date.now() - started) / 1000;
    await sleep(5_000);
    const before = await op.metric('sluice_apiserver_requests_total');
    await sleep(IDLE_S * 1000);
    const idle = (await op.metric('sluice_apiserver_requests_total')) - before;
    const perMinute = (idle * 60) / IDLE_S;
    const pid = op.child.pid ?? 0;
    console.log(JSON.stringify({ clusters: N, syncAllS, rssMiB: Math.round(sampleProc(pid).rssBytes / 2 ** 20), idleS: IDLE_S, idleRequestsPerMinute: perMinute, perClusterPerMinute: Math.round((perMinute / N) * 10) / 10 }));
  } finally {
    op?.kill('SIGTERM');
    await op?.exited;
    await git.close();
    await Promise.all([home.stop(), remote.stop()]);
  }
}

await main();

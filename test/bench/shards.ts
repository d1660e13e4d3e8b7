// The scaling curve of sharding (issue 23), Sluice only: on one control plane, N canaries (1 pod each, the bench's
// steps [setWeight 20, pause 5s, setWeight 50, pause 5s]) are run by 1, then 2, then 4 replicas with --shards=auto.
// At each count, fresh replicas start (the previous ones stop with SIGTERM and release their Leases, so the
// Rollouts move to the new ring and the new owners take their ReplicaSets over); once every Rollout is labelled,
// Healthy and its children follow it, the idle RSS of each replica is read; then every Rollout gets a new image, and
// the step latency (a pause's stated expiry → the next step seen in the Rollout's status, as in `npm run bench`) and
// each replica's peak RSS are measured until all are Healthy again.
//
//   npm run bench:shards -- [--n=1000] [--counts=1,2,4] [--kubeconfig=PATH]
//
// Prints a markdown table (one row per replica) and writes test-results/bench/shards.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeClient, type KubeObject } from '../../src/kube/client.ts';
import { R } from '../../src/kube/resource.ts';
import { OWNER_LABEL } from '../../src/runtime/sharding/decide.ts';
import { ensureBinaries, startControlPlane } from '../cluster/controlplane.ts';
import { startOperator, type OperatorProcess } from '../support/operator-process.ts';
import { image, PAUSE_MS, rollout, rolloutName } from './manifests.ts';
import { pool, sleep } from './pool.ts';
import { peakSampler, sampleProc } from './procstat.ts';
import { follow } from './watch.ts';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '1000' },
    counts: { type: 'string', default: '1,2,4' },
    kubeconfig: { type: 'string' },
    out: { type: 'string', default: 'test-results/bench' },
    'timeout-s': { type: 'string', default: '900' },
  },
});
const N = Number(args.n);
const COUNTS = (args.counts ?? '').split(',').map(Number);
if (!Number.isInteger(N) || N < 1) throw new Error(`--n: a positive integer, got ${args.n}`);
if (COUNTS.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`--counts: positive integers separated by commas, got ${args.counts}`);
const TIMEOUT_MS = Number(args['timeout-s']) * 1000;
const NS = `shards-${Date.now().toString(36)}`;
const say = (m: string): void => void process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const MiB = (b: number): number => Math.round(b / 2 ** 20);

type Obj = KubeObject & { status?: { phase?: string; stableRS?: string; currentPodHash?: string; observedGeneration?: string | number; currentStepIndex?: number; pauseConditions?: { startTime?: string }[] } };

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

const healthy = (r: Obj, img: string): boolean => {
  const s = r.status;
  return s?.phase === 'Healthy' && s.stableRS !== undefined && s.stableRS === s.currentPodHash && String(s.observedGeneration) === String(r.metadata?.generation) && JSON.stringify(r.spec).includes(img);
};

async function waitUntil(what: string, check: () => Promise<boolean>, everyMs = 1000): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Every Rollout Healthy on `img`, owned by a live replica, and every ReplicaSet labelled as its Rollout. */
async function settled(client: KubeClient, ids: string[], img: string): Promise<boolean> {
  const rollouts = (await client.list<Obj>(R.rollout, NS)).items;
  if (rollouts.length !== N || !rollouts.every((r) => healthy(r, img) && ids.includes(r.metadata?.labels?.[OWNER_LABEL] ?? ''))) return false;
  const owner = new Map(rollouts.map((r) => [r.metadata?.uid ?? '', r.metadata?.labels?.[OWNER_LABEL]]));
  return (await client.list<KubeObject>(R.replicaSet, NS)).items.every((rs) => rs.metadata?.labels?.[OWNER_LABEL] === owner.get(rs.metadata?.ownerReferences?.[0]?.uid ?? ''));
}

/** Step latencies during one update: each pause's stated expiry (startTime + 5 s) → the next step seen. */
function stepLatencies(client: KubeClient, since: number): { stop(): Promise<number[]> } {
  const ac = new AbortController();
  const pauses = new Map<string, number>();
  const out: number[] = [];
  const feed = follow(client, `/apis/sluice.dev/v1alpha1/namespaces/${NS}/rollouts`, (_t, o, at) => {
    const r = o as Obj;
    const s = r.status;
    const name = r.metadata?.name ?? '';
    const idx = s?.currentStepIndex;
    if (idx === undefined) return;
    const start = Date.parse(s?.pauseConditions?.[0]?.startTime ?? '');
    if (Number.isFinite(start) && start >= since - 1000 && !pauses.has(`${name}#${idx}`)) pauses.set(`${name}#${idx}`, start);
    for (const [k, st] of pauses) {
      const [n, i] = k.split('#');
      if (n === name && idx > Number(i) && st > 0) {
        out.push(at - (st + PAUSE_MS));
        pauses.set(k, -1);
      }
    }
  }, ac.signal);
  return {
    async stop() {
      ac.abort();
      await feed;
      return out;
    },
  };
}

interface Row {
  replicas: number;
  replica: string;
  leader: boolean;
  rollouts: number;
  replicaSetsCached: number;
  idleRssMiB: number;
  updatePeakRssMiB: number;
  updateCpuS: number;
}

async function runCount(client: KubeClient, kubeconfig: string, k: number, version: number): Promise<{ rows: Row[]; settleS: number; updateS: number; stepP50: number; stepP99: number; steps: number }> {
  const flags = ['--shards=auto', `--leader-election-namespace=${NS}`, `--namespace=${NS}`, '--log-level=warn'];
  const t0 = Date.now();
  // All at once, so the ring forms with every member: started one by one, the first would take every Rollout (and
  // keep the heap that cost) before the others joined.
  const ops: OperatorProcess[] = await Promise.all(Array.from({ length: k }, (_, i) => startOperator(kubeconfig, `bench-${k}x-${i}`, flags)));
  const ids = ops.map((o) => o.identity);
  const img = image(version);
  await waitUntil(`${k} replicas: every Rollout owned, Healthy, children labelled`, () => settled(client, ids, img));
  const settleS = (Date.now() - t0) / 1000;
  await sleep(10_000);
  const idle = ops.map((o) => sampleProc(o.child.pid ?? 0));
  const owned = await Promise.all(ops.map((o) => o.metric('sluice_shard_owned_objects', 'resource="rollouts"')));
  const rsCached = await Promise.all(ops.map((o) => o.metric('sluice_cache_objects', 'resource="replicasets"')));
  const leaders = await Promise.all(ops.map((o) => o.metric('sluice_leader')));
  say(`${k} replica(s) settled in ${settleS.toFixed(1)} s; idle RSS ${idle.map((s) => MiB(s.rssBytes)).join(', ')} MiB`);

  const samplers = ops.map((o) => peakSampler(o.child.pid ?? 0));
  const next = image(version + 1);
  const tUpdate = Date.now();
  const lat = stepLatencies(client, tUpdate);
  await pool(Array.from({ length: N }, (_, i) => i), 32, (i) => client.mergePatch(R.rollout, NS, rolloutName(i), { spec: { template: { spec: { containers: [{ name: 'app', image: next }] } } } }));
  await waitUntil(`${k} replicas: every Rollout Healthy on the new image`, () => settled(client, ids, next));
  const updateS = (Date.now() - tUpdate) / 1000;
  const peaks = samplers.map((s) => s.stop());
  const steps = await lat.stop();
  say(`${k} replica(s): update done in ${updateS.toFixed(1)} s; step latency p50 ${pct(steps, 50)} ms p99 ${pct(steps, 99)} ms over ${steps.length} steps`);
  for (const o of ops) o.kill('SIGTERM');
  await Promise.all(ops.map((o) => o.exited));
  const rows = ops.map((o, i): Row => ({
    replicas: k,
    replica: o.identity,
    leader: leaders[i] === 1,
    rollouts: owned[i] ?? 0,
    replicaSetsCached: rsCached[i] ?? 0,
    idleRssMiB: MiB(idle[i]?.rssBytes ?? 0),
    updatePeakRssMiB: MiB(peaks[i]?.peakRssBytes ?? 0),
    updateCpuS: Math.round((peaks[i]?.cpuSeconds ?? 0) * 10) / 10,
  }));
  return { rows, settleS, updateS, stepP50: pct(steps, 50), stepP99: pct(steps, 99), steps: steps.length };
}

async function main(): Promise<void> {
  let kubeconfig = args.kubeconfig;
  let stopPlane = (): Promise<void> => Promise.resolve();
  if (kubeconfig === undefined) {
    const binDir = await ensureBinaries();
    const cp = await startControlPlane({ binDir, nodes: 2, progress: say });
    kubeconfig = cp.kubeconfig;
    stopPlane = () => cp.stop();
    const crds = resolve(import.meta.dirname, '..', '..', 'crds');
    await cp.kubectl(['apply', '--server-side', '-f', crds]);
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', crds]);
  }
  const client = KubeClient.fromDefault({ qps: 1000, burst: 2000 }, kubeconfig);
  try {
    await client.create(R.namespace, { metadata: { name: NS } });
    say(`creating ${N} Rollouts in ${NS}`);
    await pool(Array.from({ length: N }, (_, i) => i), 32, (i) => client.create(R.rollout, { ...rollout('sluice.dev', 'rollouts', rolloutName(i), 1, image(1)), metadata: { name: rolloutName(i), namespace: NS } }));
    const results = [];
    let version = 1;
    for (const k of COUNTS) {
      results.push({ ...(await runCount(client, kubeconfig, k, version)), load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') });
      version++;
    }
    const lines = [
      `N=${N} Rollouts, counts ${COUNTS.join(', ')}`,
      '',
      '| replicas | replica | leader | Rollouts owned | ReplicaSets cached | idle RSS (MiB) | peak RSS in update (MiB) | CPU in update (s) | settle (s) | update → all Healthy (s) | step latency p50 / p99 (ms) |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
      ...results.flatMap((r) => r.rows.map((x) => `| ${x.replicas} | ${x.replica} | ${x.leader ? 'yes' : ''} | ${x.rollouts} | ${x.replicaSetsCached} | ${x.idleRssMiB} | ${x.updatePeakRssMiB} | ${x.updateCpuS} | ${r.settleS.toFixed(0)} | ${r.updateS.toFixed(0)} | ${r.stepP50} / ${r.stepP99} (${r.steps} steps) |`)),
    ];
    const out = resolve(args.out ?? 'test-results/bench');
    mkdirSync(out, { recursive: true });
    writeFileSync(resolve(out, 'shards.json'), JSON.stringify({ n: N, counts: COUNTS, results }, null, 2));
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await client.delete(R.namespace, undefined, NS).catch(() => undefined);
    await stopPlane();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);

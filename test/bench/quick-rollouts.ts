// A quick, Sluice-only measurement of the Rollout half (the side-by-side benchmark with Argo is `npm run bench`):
// start a local control plane, run the operator as a child process, create N single-replica canaries (steps
// [setWeight 50, pause 1s], no router), wait until all are Healthy, give all a new image, wait again, and print
// time, completion p50/p99, the operator's RSS and CPU seconds, and the apiserver's write counts by resource.
//
//   node test/bench/quick-rollouts.ts [--n=200] [--cpu-prof] [--heap-snapshot] [--operator-args="--workers=8"]
//   (--kubeconfig=PATH reuses a running plane, e.g. from `npm run cluster:up`, instead of starting one)
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeClient, type KubeObject } from '../../src/kube/client.ts';
import { collectionPath, R } from '../../src/kube/resource.ts';
import { ensureBinaries, startControlPlane } from '../cluster/controlplane.ts';
import { freePort } from '../cluster/ports.ts';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '200' },
    'cpu-prof': { type: 'boolean', default: false },
    'heap-snapshot': { type: 'boolean', default: false },
    'operator-args': { type: 'string', default: '' },
    // The image's ENTRYPOINT flag (Dockerfile); --node-args= (empty) runs without it.
    'node-args': { type: 'string', default: '--max-semi-space-size=4' },
    kubeconfig: { type: 'string' },
    out: { type: 'string', default: 'test-results/bench/quick' },
    main: { type: 'string' },
  },
});
const N = Number(args.n);
const NS = `quick-${Date.now().toString(36)}`;
const outDir = resolve(args.out);
mkdirSync(outDir, { recursive: true });
const say = (m: string): void => void process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`);

type RolloutObj = KubeObject & { status?: { phase?: string; stableRS?: string; currentPodHash?: string; observedGeneration?: string | number } };

function rollout(i: number, image: string): KubeObject {
  const app = `app-${i}`;
  return {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name: app, namespace: NS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app } },
      template: { metadata: { labels: { app } }, spec: { containers: [{ name: 'app', image }] } },
      strategy: { canary: { steps: [{ setWeight: 50 }, { pause: { duration: '1s' } }] } },
    },
  };
}

async function pool<T>(items: T[], width: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < items.length) await fn(items[i++] as T);
  }));
}

// ---- process figures from /proc
function procStat(pid: number): { rssMiB: number; cpuS: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
  return { rssMiB: rss, cpuS: cpu };
}

// ---- apiserver writes from its own metrics
const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY']);
async function apiserverWrites(kubectl: (a: string[]) => Promise<string>): Promise<Map<string, number>> {
  const text = await kubectl(['get', '--raw', '/metrics']);
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const verb = /verb="([^"]+)"/.exec(line)?.[1] ?? '';
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? '';
    const sub = /subresource="([^"]*)"/.exec(line)?.[1] ?? '';
    if (!WRITE_VERBS.has(verb)) continue;
    const key = `${resource}${sub ? `/${sub}` : ''} ${verb}`;
    out.set(key, (out.get(key) ?? 0) + Number(line.split(' ').pop()));
  }
  return out;
}
function diff(a: Map<string, number>, b: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of [...b].sort()) if (v - (a.get(k) ?? 0) > 0) out[k] = v - (a.get(k) ?? 0);
  return out;
}

async function operatorMetric(url: string, name: string): Promise<Record<string, number>> {
  const text = await (await fetch(url)).text();
  const out: Record<string, number> = {};
  for (const l of text.split('\n')) if (l.startsWith(`${name}{`)) out[l.slice(name.length, l.lastIndexOf(' '))] = Number(l.split(' ').pop());
  return out;
}

/** V8's view (MiB): heap committed and used, and memory outside the heap (buffers). */
async function heapFigures(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(url)).text();
  const get = (name: string): number => Math.round(Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 1048576);
  return { heapTotal: get('sluice_nodejs_heap_size_total_bytes'), heapUsed: get('sluice_nodejs_heap_size_used_bytes'), external: get('sluice_nodejs_external_memory_bytes') };
}

/** Resolves when every Rollout in NS is Healthy on a revision other than `before` (name → hash); returns the times. */
async function waitHealthy(client: KubeClient, before: Map<string, string>, t0: number, timeoutMs: number): Promise<{ done: Map<string, number>; hashes: Map<string, string> }> {
  const done = new Map<string, number>();
  const hashes = new Map<string, string>();
  const look = (r: RolloutObj): void => {
    const name = r.metadata?.name ?? '';
    const s = r.status;
    const ok = s?.phase === 'Healthy' && s.stableRS !== undefined && s.stableRS === s.currentPodHash && String(s.observedGeneration) === String(r.metadata?.generation) && before.get(name) !== s.stableRS;
    if (ok && !done.has(name)) {
      done.set(name, Date.now() - t0);
      hashes.set(name, s.stableRS ?? '');
    }
  };
  const deadline = Date.now() + timeoutMs;
  while (done.size < N) {
    if (Date.now() > deadline) throw new Error(`only ${done.size}/${N} Healthy after ${timeoutMs / 1000}s`);
    const list = await client.list<RolloutObj>(R.rollout, NS);
    for (const r of list.items) look(r);
    if (done.size >= N) break;
    const ac = new AbortController();
    try {
      // The server ends the watch after 60 s; then list again (a cheap resync).
      await client.watch<RolloutObj>(collectionPath(R.rollout, NS), { resourceVersion: list.metadata.resourceVersion, timeoutSeconds: 60 }, (ev) => {
        if (ev.type !== 'BOOKMARK') look(ev.object);
        if (done.size >= N) ac.abort();
      }, { signal: ac.signal });
    } catch {
      // a watch error: list again
    }
  }
  return { done, hashes };
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

async function main(): Promise<void> {
  let kubeconfig = args.kubeconfig;
  let kubectl: (a: string[]) => Promise<string>;
  let stopPlane = (): Promise<void> => Promise.resolve();
  let apiserverPid: number | undefined;
  if (kubeconfig === undefined) {
    const binDir = await ensureBinaries();
    // kwok nodes take a million pods each (kwok-default-stages): two are plenty.
    const cp = await startControlPlane({ binDir, nodes: 2, progress: say });
    kubeconfig = cp.kubeconfig;
    kubectl = (a) => cp.kubectl(a);
    stopPlane = () => cp.stop();
    apiserverPid = cp.processes.find((p) => p.name === 'kube-apiserver')?.pid;
    await kubectl(['apply', '--server-side', '-f', resolve(import.meta.dirname, '..', '..', 'crds')]);
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', resolve(import.meta.dirname, '..', '..', 'crds')]);
  } else {
    const kc = kubeconfig;
    const bin = process.env.KUBECTL ?? 'kubectl';
    kubectl = (a) => new Promise((res, rej) => {
      const c = spawn(bin, [`--kubeconfig=${kc}`, ...a], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('exit', (code) => (code === 0 ? res(out) : rej(new Error(`kubectl ${a.join(' ')}: exit ${code}`))));
    });
  }
  const client = KubeClient.fromDefault({ qps: 1000, burst: 2000 }, kubeconfig);
  await client.create(R.namespace, { metadata: { name: NS } });

  const port = await freePort();
  const nodeArgs = [
    ...args['node-args'].split(' ').filter((a) => a !== ''),
    ...(args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${outDir}`] : []),
    ...(args['heap-snapshot'] ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${outDir}`] : []),
  ];
  const main = args.main ?? resolve(import.meta.dirname, '..', '..', 'src', 'main.ts');
  const logFile = join(outDir, `operator-${N}.log`);
  const child = spawn(process.execPath, [...nodeArgs, main, `--kubeconfig=${kubeconfig}`, `--namespace=${NS}`, `--metrics-addr=127.0.0.1:${port}`, ...args['operator-args'].split(' ').filter((a) => a !== '')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const pid = child.pid ?? 0;
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break;
    } catch { /* not yet */ }
    if (i > 600) throw new Error('operator not ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  const idle0 = procStat(pid);
  say(`operator up (pid ${pid}); RSS ${idle0.rssMiB.toFixed(0)} MiB; creating ${N} Rollouts in ${NS}`);

  let peak = 0;
  const sampler = setInterval(() => {
    try { peak = Math.max(peak, procStat(pid).rssMiB); } catch { /* exited */ }
  }, 250);
  const names = Array.from({ length: N }, (_, i) => i);
  const w0 = await apiserverWrites(kubectl);
  const c0 = procStat(pid);
  const tCreate = Date.now();
  await pool(names, 32, (i) => client.create(R.rollout, rollout(i, 'registry.example/app:1.0.0')));
  const first = await waitHealthy(client, new Map(), tCreate, 30 * 60_000);
  const createS = (Date.now() - tCreate) / 1000;
  const c1 = procStat(pid);
  const w1 = await apiserverWrites(kubectl);
  peak = 0;
  await new Promise((r) => setTimeout(r, 5000));
  global.gc?.();
  const idle = procStat(pid);
  const heapIdle = await heapFigures(metricsUrl);
  say(`create → Healthy ${createS.toFixed(1)} s; idle RSS ${idle.rssMiB.toFixed(0)} MiB`);
  if (args['heap-snapshot']) {
    child.kill('SIGUSR2');
    await new Promise((r) => setTimeout(r, 15000));
  }

  const req0 = await operatorMetric(metricsUrl, 'sluice_apiserver_requests_total');
  const rec0 = await operatorMetric(metricsUrl, 'sluice_reconcile_total');
  const a0 = apiserverPid !== undefined ? procStat(apiserverPid).cpuS : NaN;
  const c2 = procStat(pid);
  const tUpdate = Date.now();
  await pool(names, 32, (i) => client.mergePatch(R.rollout, NS, `app-${i}`, { spec: { template: { spec: { containers: [{ name: 'app', image: 'registry.example/app:2.0.0' }] } } } }));
  const bumpS = (Date.now() - tUpdate) / 1000;
  const second = await waitHealthy(client, first.hashes, tUpdate, 30 * 60_000);
  const updateS = (Date.now() - tUpdate) / 1000;
  const c3 = procStat(pid);
  const peakUpdate = peak;
  const w2 = await apiserverWrites(kubectl);
  const req1 = await operatorMetric(metricsUrl, 'sluice_apiserver_requests_total');
  const rec1 = await operatorMetric(metricsUrl, 'sluice_reconcile_total');
  const a1 = apiserverPid !== undefined ? procStat(apiserverPid).cpuS : NaN;
  await new Promise((r) => setTimeout(r, 5000));
  const idleAfter = procStat(pid);
  const heapAfter = await heapFigures(metricsUrl);
  await new Promise((r) => setTimeout(r, 25_000));
  const idleLater = procStat(pid);
  clearInterval(sampler);

  const times = [...second.done.values()].map((t) => t / 1000);
  const updWrites = diff(w1, w2);
  const interesting = (k: string): boolean => /^(rollouts|replicasets|services|pods)\b/.test(k);
  const result = {
    n: N,
    operatorArgs: args['operator-args'],
    createToHealthyS: createS,
    createCpuS: c1.cpuS - c0.cpuS,
    idleRssMiB: Math.round(idle.rssMiB),
    updateToHealthyS: updateS,
    patchesSentS: bumpS,
    updateDoneP50S: pct(times, 50),
    updateDoneP99S: pct(times, 99),
    updateCpuS: c3.cpuS - c2.cpuS,
    updatePeakRssMiB: Math.round(peakUpdate),
    apiserverCpuSDuringUpdate: a1 - a0,
    reconcilesDuringUpdate: Object.fromEntries(Object.entries(rec1).map(([k, v]): [string, number] => [k, v - (rec0[k] ?? 0)]).filter(([, v]) => v > 0)),
    loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    idleRssAfterUpdateMiB: Math.round(idleAfter.rssMiB),
    idleRssAfterUpdate30sMiB: Math.round(idleLater.rssMiB),
    heapAtIdle: heapIdle,
    heapAfterUpdate: heapAfter,
    createWrites: diff(w0, w1),
    updateWrites: updWrites,
    updateWritesRolloutsRsSvcPods: Object.entries(updWrites).filter(([k]) => interesting(k)).reduce((s, [, v]) => s + v, 0),
    operatorRequestsDuringUpdate: Object.fromEntries(Object.entries(req1).map(([k, v]): [string, number] => [k, v - (req0[k] ?? 0)]).filter(([, v]) => v > 0)),
  };
  console.log(JSON.stringify(result, null, 2));

  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  await client.delete(R.namespace, undefined, NS).catch(() => undefined);
  await stopPlane();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

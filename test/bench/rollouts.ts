// Scenarios 1-4 for one controller: N canaries created → all Healthy, then `cycles` image updates → all Healthy again,
// with step latencies from the observer, apiserver writes (apiserver_request_total before/after), the controller's own
// write counter, and its RSS and CPU from /proc.
import type { KubeClient, KubeObject } from '../../src/kube/client.ts';
import type { ResourceType } from '../../src/kube/resource.ts';
import type { Controller, Plane } from './controllers.ts';
import { GROUPS, image, istioObjects, rollout, rolloutName, type Variant } from './manifests.ts';
import { observe, type Timeline } from './observer.ts';
import { pool, sleep } from './pool.ts';
import { peakSampler, sampleProc } from './procstat.ts';
import { apiserverWrites, diff, total, type Counts } from './promtext.ts';
import { percentile, type Row } from './report.ts';

export interface RolloutRun {
  plane: Plane;
  client: KubeClient;
  variant: Variant;
  n: number;
  replicas: number;
  cycles: number;
  controller: 'sluice' | 'argo-rollouts';
  /** Appended to namespace names (the smoke test shares a control plane with other tests). */
  suffix: string;
  /** Seconds of the idle window (CPU at idle). */
  idleSeconds: number;
  /** Settling pause before each memory reading (ms). */
  settleMs: number;
  /** Starts the controller (after the namespace and the routing objects exist); `ns` for one scoped to it. */
  start(ns: string): Promise<Controller>;
  say(line: string): void;
}

const MiB = 1024 * 1024;
const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

const kinds = {
  service: { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  virtualService: { group: 'networking.istio.io', version: 'v1beta1', kind: 'VirtualService', plural: 'virtualservices', namespaced: true },
} satisfies Record<string, ResourceType>;

/** Objects that only a rollout controller writes: the basis of "writes per completed rollout". */
export const controllerOwned = (key: string): boolean => /^(rollouts\.|replicasets\.apps(\/scale)? |services |virtualservices\.|analysisruns\.)/.test(key);

/** Generous: a phase that times out fails the row, and a slow shared machine must not. */
function timeout(n: number, replicas: number): number {
  return 300_000 + n * replicas * 600;
}

async function waitPhase(t: Timeline, what: 'healthy' | 'settled', n: number, ms: number, controller: Controller): Promise<void> {
  const deadline = Date.now() + ms;
  while (t.count(what) < n) {
    try {
      process.kill(controller.pid, 0);
    } catch {
      throw new Error(`${controller.name} exited; see ${controller.logFile}`);
    }
    if (Date.now() > deadline) throw new Error(`${controller.name}: only ${t.count(what)} of ${n} Rollouts ${what} after ${ms / 1000} s; see ${controller.logFile}`);
    await sleep(100);
  }
}

export async function runRollouts(o: RolloutRun): Promise<Row> {
  const group = GROUPS[o.controller];
  const ns = `bench-${o.variant}-${o.controller}${o.suffix}`;
  const rt: ResourceType = { group, version: 'v1alpha1', kind: 'Rollout', plural: 'rollouts', namespaced: true };
  const names = Array.from({ length: o.n }, (_, i) => rolloutName(i));
  const metrics = async (): Promise<Counts> => apiserverWrites(await o.plane.kubectl(['get', '--raw', '/metrics']));
  const apply = async (name: string, version: number, t: Timeline): Promise<void> => {
    const obj = rollout(group, o.variant, name, o.replicas, image(version));
    const res = await o.client.apply<KubeObject>(rt, { ...obj, metadata: { name, namespace: ns } }, 'bench', { force: true });
    t.expect(name, res.metadata?.generation ?? 0);
  };

  await o.plane.kubectl(['create', 'namespace', ns]);
  if (o.variant === 'istio') {
    await pool(names.flatMap(istioObjects), 20, (obj) =>
      o.client.apply(obj.kind === 'Service' ? kinds.service : kinds.virtualService, { ...obj, metadata: { ...obj.metadata, namespace: ns } }, 'bench'),
    );
  }
  const controller = await o.start(ns);
  const observer = observe(o.client, group, ns, o.variant, o.replicas);
  const notes: string[] = [];
  try {
    const fresh = sampleProc(controller.pid);
    // Create → all Healthy (the first revision goes straight to full scale: no steps).
    let t = observer.phase(image(1));
    const t0 = Date.now();
    await pool(names, 20, (name) => apply(name, 1, t));
    await waitPhase(t, 'healthy', o.n, timeout(o.n, o.replicas), controller);
    const createS = (t.lastAt('healthy') - t0) / 1000;
    o.say(`${o.controller}: ${o.n} Rollouts Healthy ${createS.toFixed(1)} s after the first create`);

    // Idle: N Healthy, nothing to do.
    await sleep(o.settleMs);
    const idle0 = sampleProc(controller.pid);
    await sleep(o.idleSeconds * 1000);
    const idle1 = sampleProc(controller.pid);

    // Image updates: the first is the headline; all feed latencies, writes and the peak.
    const step: number[] = [];
    const promote: number[] = [];
    let missing = 0;
    const updateS: number[] = [];
    const idleAfter: number[] = [];
    // The controller's own requests (reads included) per cycle: a cost that grows from cycle to cycle shows here.
    const requestsPerCycle: number[] = [];
    const apiBefore = await metrics();
    const ownBefore = await controller.ownWrites();
    const sampler = peakSampler(controller.pid);
    for (let c = 0; c < o.cycles; c++) {
      const version = c + 2;
      t = observer.phase(image(version));
      const r0 = await controller.ownRequests();
      const u0 = Date.now();
      await pool(names, 20, (name) => apply(name, version, t));
      await waitPhase(t, 'healthy', o.n, timeout(o.n, o.replicas), controller);
      updateS.push((t.lastAt('healthy') - u0) / 1000);
      await waitPhase(t, 'settled', o.n, timeout(o.n, o.replicas), controller);
      requestsPerCycle.push((await controller.ownRequests()) - r0);
      const l = t.latencies();
      step.push(...l.step);
      promote.push(...l.promote);
      missing += l.missing;
      await sleep(o.settleMs);
      idleAfter.push(sampleProc(controller.pid).rssBytes);
      o.say(`${o.controller}: update ${c + 1}/${o.cycles}: all Healthy after ${updateS.at(-1)?.toFixed(1)} s, settled after ${((t.lastAt('settled') - u0) / 1000).toFixed(1)} s, ${requestsPerCycle.at(-1)} requests of its own`);
    }
    const peak = sampler.stop();
    const apiWrites = diff(await metrics(), apiBefore);
    const ownWrites = diff(await controller.ownWrites(), ownBefore);
    const completed = o.n * o.cycles;
    if (missing > 0) notes.push(`${missing} step effects never seen by the observer`);
    const row: Row = {
      scenario: o.variant,
      n: o.n,
      controller: o.controller,
      figures: {
        createToHealthyS: round(createS),
        updateToHealthyS: round(updateS[0] ?? 0),
        stepLatencyP50Ms: percentile(step, 50),
        stepLatencyP99Ms: percentile(step, 99),
        promoteLatencyP50Ms: percentile(promote, 50),
        promoteLatencyP99Ms: percentile(promote, 99),
        // Less the bench's own N server-side applies of the new image per cycle.
        controllerWritesPerRollout: round((total(apiWrites, controllerOwned) - completed) / completed),
        allWritesPerRollout: round((total(apiWrites) - completed) / completed),
        ownWritesPerRollout: round(total(ownWrites) / completed),
        idleRssMiB: round(idle1.rssBytes / MiB, 1),
        peakRssMiB: round(peak.peakRssBytes / MiB, 1),
        rssGrowthMiB: round(((idleAfter.at(-1) ?? 0) - (idleAfter[0] ?? 0)) / MiB, 1),
        updateCpuS: round(peak.cpuSeconds / o.cycles),
        idleCpuPerMin: round(((idle1.cpuSeconds - idle0.cpuSeconds) * 60) / o.idleSeconds, 3),
      },
      detail: {
        replicas: o.replicas,
        cycles: o.cycles,
        updateSecondsPerCycle: updateS.map((s) => round(s)),
        idleRssMiBAfterEachCycle: idleAfter.map((b) => round(b / MiB, 1)),
        ownRequestsPerCycle: requestsPerCycle,
        rssAtStartMiB: round(fresh.rssBytes / MiB, 1),
        stepLatencySamples: step.length,
        promoteLatencySamples: promote.length,
        apiserverWritesByResourceVerb: Object.fromEntries([...apiWrites].sort((a, b) => b[1] - a[1])),
        ownWritesByKindVerb: Object.fromEntries([...ownWrites].sort((a, b) => b[1] - a[1])),
      },
      notes,
    };
    return row;
  } finally {
    await observer.stop();
    // Deleted while the controller still runs, so a finalizer of its own cannot hold the namespace.
    await o.plane.kubectl(['delete', 'namespace', ns, '--wait=true', '--timeout=600s']).catch((err: unknown) => o.say(`warning: ${String(err)}`));
    await controller.stop();
  }
}

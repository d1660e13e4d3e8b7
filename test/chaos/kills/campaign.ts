// The kill campaign: two operator processes with leader election, canary Rollouts on the Gateway API kept busy with
// new revisions (analysis on a real Prometheus; some fail on purpose), the leader SIGKILLed at a random moment, the
// standby taking over, a fresh process started as the new standby; repeat. The independent observer (../observer)
// watches the apiserver throughout; at the end every Rollout must settle in the state its analysis dictates.
import { stringify } from 'yaml';
import type { KubeClient, KubeObject } from '../../../src/kube/client.ts';
import { R } from '../../../src/kube/resource.ts';
import { isNotFound } from '../../../src/kube/errors.ts';
import { HTTP_ROUTE } from '../../../src/rollout/traffic/gatewayapi.ts';
import { VIRTUAL_SERVICE } from '../../../src/rollout/traffic/istio.ts';
import { canaryIngressName, INGRESS } from '../../../src/rollout/traffic/nginx.ts';
import type { LeaseObject } from '../../../src/runtime/leader.ts';
import { startOperator, type OperatorProcess } from '../../support/operator-process.ts';
import { stepHistoryProblems } from '../observer/check.ts';
import { observe } from '../observer/follow.ts';
import { canary, rolloutObject } from '../outages/support.ts';
import type { GitServer } from '../../support/git-server.ts';
import { AppWorkload } from './apps.ts';

export interface CampaignOptions {
  ns: string;
  client: KubeClient;
  kubeconfig: string;
  kubectl: (args: string[], input?: string) => Promise<{ stdout: string; stderr: string; code: number }>;
  prometheusUrl: string;
  kills: number;
  healthy: number;
  failing: number;
  /** Blue-green Rollouts (prePromotionAnalysis): this many passing and as many failing. */
  blueGreen: number;
  /** Applications syncing and self-healing from `git`. */
  apps: number;
  git?: GitServer;
  /** Leader-election timings in seconds: [lease duration, renew deadline, retry period]. */
  lease: [number, number, number];
  /** The random moment of each kill: uniform over [min, max] ms after the previous takeover. */
  killWindowMs: [number, number];
  say: (line: string) => void;
}

export interface CampaignResult {
  kills: number;
  takeoverMs: number[];
  violations: { invariant: string; rollout: string; message: string; event: string }[];
  stepProblems: string[];
  wrongEndStates: string[];
  /** Revisions each kind of Rollout went through during the campaign (both outcomes must occur for it to mean much). */
  revisions: { promoted: number; aborted: number };
  measurements: { lost: number; doubleCounted: number; runs: number };
  /** The GitOps work done during the kills: revisions pushed and drifts made (each to be synced or healed). */
  gitops: { apps: number; revisions: number; drifts: number; observedEvents: number };
  /** Revisions the blue-green Rollouts were given during the kills (each judged by its end state). */
  blueGreenRevisions: number;
  /** Canary Rollouts with no revision whose weights the observer saw on their router (must be none). */
  unobservedCanaries: string[];
  /** Operator processes that exited without being killed by the campaign. */
  unexpectedExits: string[];
  observedEvents: number;
}

export const STEPS = [{ setWeight: 20 }, { pause: { duration: '1s' } }, { analysis: { templates: [{ templateName: 'TEMPLATE' }] } }, { setWeight: 50 }, { pause: { duration: '1s' } }];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export type RolloutObj = KubeObject & { spec?: { template?: unknown }; status?: { phase?: string; abort?: boolean; stableRS?: string; currentPodHash?: string; observedGeneration?: string | number; currentStepIndex?: number } };
export type RunObj = KubeObject & { spec?: { metrics?: { name: string; count?: number }[] }; status?: { phase?: string; metricResults?: { name: string; count?: number; measurements?: unknown[] }[] } };

export type Router = 'gatewayAPI' | 'istio' | 'nginx';
export const ROUTERS: Router[] = ['gatewayAPI', 'istio', 'nginx'];

/** A canary on `router`: its Services, the router object a user writes (HTTPRoute, VirtualService, stable Ingress), the Rollout. */
function manifests(name: string, version: number, template: string, router: Router): object[] {
  const steps = JSON.parse(JSON.stringify(STEPS).replace('TEMPLATE', template)) as object[];
  if (router === 'gatewayAPI') return canary(name, version, steps);
  const [stable, canaryService] = [`${name}-stable`, `${name}-canary`];
  const services = canary(name, version, steps).slice(0, 2);
  const routerObj =
    router === 'istio'
      ? { apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualService', metadata: { name }, spec: { hosts: [name], http: [{ name: 'primary', route: [{ destination: { host: stable }, weight: 100 }, { destination: { host: canaryService }, weight: 0 }] }] } }
      : { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name }, spec: { ingressClassName: 'nginx', rules: [{ host: `${name}.example.test`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: stable, port: { number: 80 } } } }] } }] } };
  const trafficRouting = router === 'istio' ? { istio: { virtualService: { name, routes: ['primary'] } } } : { nginx: { stableIngress: name } };
  return [...services, routerObj, rolloutObject(name, version, { canary: { canaryService, stableService: stable, scaleDownDelaySeconds: 1, abortScaleDownDelaySeconds: 1, trafficRouting, steps } })];
}

/** A blue-green Rollout whose switch waits on a prePromotionAnalysis; its Services first, the Rollout last. */
function blueGreen(name: string, version: number, template: string): object[] {
  return [
    ...[`${name}-active`, `${name}-preview`].map((svc) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: svc }, spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] } })),
    rolloutObject(name, version, { blueGreen: { activeService: `${name}-active`, previewService: `${name}-preview`, scaleDownDelaySeconds: 1, abortScaleDownDelaySeconds: 1, prePromotionAnalysis: { templates: [{ templateName: template }] } } }),
  ];
}

export interface Workload {
  name: string;
  failing: boolean;
  blueGreen: boolean;
  router: Router;
}

export const objects = (n: Workload, v: number): object[] => (n.blueGreen ? blueGreen(n.name, v, n.failing ? 'fail' : 'pass') : manifests(n.name, v, n.failing ? 'fail' : 'pass', n.router));

/** The canary's weight as its router holds it (an NGINX canary Ingress removed: 0). */
export async function routeWeight(client: KubeClient, ns: string, n: Workload): Promise<number | undefined> {
  const canaryService = `${n.name}-canary`;
  if (n.router === 'nginx') {
    try {
      const ing = await client.get<KubeObject>(INGRESS, ns, canaryIngressName(n.name, n.name));
      return Number(ing.metadata?.annotations?.['nginx.ingress.kubernetes.io/canary-weight'] ?? 0);
    } catch (err) {
      if (isNotFound(err)) return 0;
      throw err;
    }
  }
  if (n.router === 'istio') {
    const vs = await client.get<KubeObject & { spec?: { http?: { route?: { destination?: { host?: string }; weight?: number }[] }[] } }>(VIRTUAL_SERVICE, ns, n.name);
    return vs.spec?.http?.[0]?.route?.find((r) => r.destination?.host === canaryService)?.weight;
  }
  const route = await client.get<KubeObject & { spec?: { rules?: { backendRefs?: { name: string; weight?: number }[] }[] } }>(HTTP_ROUTE, ns, n.name);
  return route.spec?.rules?.[0]?.backendRefs?.find((b) => b.name === canaryService)?.weight;
}
export const rolloutOf = (n: Workload, v: number): object => objects(n, v).at(-1)!;

export function template(name: string, query: string): object {
  return { apiVersion: 'sluice.dev/v1alpha1', kind: 'AnalysisTemplate', metadata: { name }, spec: { metrics: [{ name: 'check', interval: '1s', count: 2, failureLimit: 0, successCondition: 'result[0] >= 1', provider: { prometheus: { address: 'PROM', query } } }] } };
}

const percentile = (xs: readonly number[], p: number): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
export { percentile };

/** The Rollouts of a campaign; the canaries take the routers in turn across both lists, so passing and failing ones run on each. */
export function workloads(healthy: number, failing: number, blueGreen: number): Workload[] {
  return [
    ...Array.from({ length: healthy }, (_v, i) => ({ name: `ok-${i}`, failing: false, blueGreen: false, router: ROUTERS[i % 3]! })),
    ...Array.from({ length: failing }, (_v, i) => ({ name: `bad-${i}`, failing: true, blueGreen: false, router: ROUTERS[(healthy + i) % 3]! })),
    ...Array.from({ length: blueGreen }, (_v, i) => ({ name: `bg-ok-${i}`, failing: false, blueGreen: true, router: ROUTERS[0]! })),
    ...Array.from({ length: blueGreen }, (_v, i) => ({ name: `bg-bad-${i}`, failing: true, blueGreen: true, router: ROUTERS[0]! })),
  ];
}

/** Settled at its latest version: Healthy on it, or (a failing one) aborted on it. */
export async function rolloutSettled(client: KubeClient, ns: string, name: string): Promise<boolean> {
  const r = await client.get<RolloutObj>(R.rollout, ns, name);
  const s = r.status;
  if (String(s?.observedGeneration ?? '') !== String(r.metadata?.generation ?? '')) return false;
  return (s?.phase === 'Healthy' && s.stableRS === s.currentPodHash) || (s?.abort === true && s.phase === 'Degraded');
}

/** One round of the work: each settled Rollout gets its next revision, then the Applications theirs (and a drift). */
export async function workRound(w: { names: readonly Workload[]; version: Map<string, number>; settled: (name: string) => Promise<boolean>; apply: (objs: object[]) => Promise<void>; apps: AppWorkload | undefined; round: number; going: () => boolean }): Promise<void> {
  for (const n of w.names) {
    if (!w.going()) return;
    try {
      if (await w.settled(n.name)) {
        const v = (w.version.get(n.name) ?? 1) + 1;
        w.version.set(n.name, v);
        await w.apply([rolloutOf(n, v)]);
      }
    } catch {
      // the apiserver is busy: next round
    }
  }
  try {
    await w.apps?.tick(w.round);
  } catch {
    // the apiserver is busy: next round
  }
}

export async function runKillCampaign(o: CampaignOptions): Promise<CampaignResult> {
  const apply = async (objs: object[]): Promise<void> => {
    const r = await o.kubectl(['apply', '--server-side', '--field-manager=chaos-user', '-n', o.ns, '-f', '-'], objs.map((m) => stringify(m)).join('---\n'));
    if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
  };
  const names = workloads(o.healthy, o.failing, o.blueGreen);
  if (o.apps > 0 && o.git === undefined) throw new Error('Applications in the campaign need a Git server');
  const apps = o.apps > 0 && o.git !== undefined ? new AppWorkload({ ns: o.ns, client: o.client, kubectl: o.kubectl, git: o.git, count: o.apps }) : undefined;
  const version = new Map(names.map((n) => [n.name, 1]));
  const observation = observe(o.client, o.ns);
  const ops: OperatorProcess[] = [];
  const killed = new Set<string>();
  const unexpectedExits: string[] = [];
  let serial = 0;
  const [lease, renew, retry] = o.lease;
  const start = async (): Promise<OperatorProcess> => {
    const id = `chaos-${o.ns}-${serial++}`;
    const p = await startOperator(o.kubeconfig, id, ['--leader-elect', `--leader-election-namespace=${o.ns}`, `--namespace=${o.ns}`, `--leader-election-lease-duration=${lease}`, `--leader-election-renew-deadline=${renew}`, `--leader-election-retry-period=${retry}`, '--log-level=warn']);
    void p.exited.then((code) => {
      if (!killed.has(id)) unexpectedExits.push(`${id} exited with ${code}; see ${p.logFile}`);
    });
    ops.push(p);
    return p;
  };
  const holder = async (): Promise<string | undefined> => {
    try {
      return (await o.client.get<LeaseObject>(R.lease, o.ns, 'sluice-leader')).spec?.holderIdentity;
    } catch {
      return undefined;
    }
  };
  const rollout = (name: string): Promise<RolloutObj> => o.client.get<RolloutObj>(R.rollout, o.ns, name);
  /** Settled at its latest version: Healthy on it, or (a failing one) aborted on it. */
  const settled = (name: string): Promise<boolean> => rolloutSettled(o.client, o.ns, name);

  try {
    const promText = JSON.stringify(o.prometheusUrl);
    await apply([template('pass', 'vector(1)'), template('fail', 'vector(0)')].map((t) => JSON.parse(JSON.stringify(t).replace('"PROM"', promText)) as object));
    await apply(names.flatMap((n) => objects(n, 1)));
    await apps?.setUp();
    await start();
    await start();
    const deadline = Date.now() + 120_000;
    for (const n of names) while (!(await settled(n.name))) {
      if (Date.now() > deadline) throw new Error(`${n.name} did not become Healthy at v1`);
      await sleep(500);
    }
    for (const a of apps?.names ?? []) while (!(await apps!.settled(a))) {
      if (Date.now() > deadline) throw new Error(`${a}: ${(await apps!.problems(a)).join('; ')}`);
      await sleep(500);
    }
    o.say(`${names.length} Rollouts Healthy at v1, ${apps?.names.length ?? 0} Applications synced; ${o.kills} kills to go`);

    // The work: each settled Rollout gets its next revision, so rollouts are always in flight while the leader dies.
    let driving = true;
    let round = 0;
    const driver = (async () => {
      while (driving) {
        await workRound({ names, version, settled, apply, apps, round: round++, going: () => driving });
        await sleep(300);
      }
    })();

    const takeoverMs: number[] = [];
    for (let k = 0; k < o.kills; k++) {
      const leaderId = await waitForHolder(holder, ops, 60_000);
      const leader = ops.find((p) => p.identity === leaderId)!;
      await sleep(o.killWindowMs[0] + Math.random() * (o.killWindowMs[1] - o.killWindowMs[0]));
      killed.add(leader.identity);
      const killedAt = performance.now();
      leader.kill('SIGKILL');
      await leader.exited;
      const next = await waitForHolder(holder, ops.filter((p) => !killed.has(p.identity)), 60_000, 20);
      takeoverMs.push(performance.now() - killedAt);
      o.say(`kill ${k + 1}/${o.kills}: ${leader.identity} → ${next} in ${(takeoverMs[takeoverMs.length - 1]! / 1000).toFixed(2)} s`);
      await start(); // the killed one "restarts" (a new process, as a pod's container would), as the standby
    }

    driving = false;
    await driver;
    const settleDeadline = Date.now() + 180_000;
    const wrongEndStates: string[] = [];
    for (const n of names) {
      while (!(await settled(n.name)) && Date.now() < settleDeadline) await sleep(500);
      const r = await rollout(n.name);
      const s = r.status ?? {};
      if (n.blueGreen) {
        // Abort wins: the active Service stays on the stable revision; a passing one switched to the new revision.
        const activeHash = (await o.client.get<KubeObject & { spec?: { selector?: Record<string, string> } }>(R.service, o.ns, `${n.name}-active`)).spec?.selector?.['rollouts-pod-template-hash'];
        const ok = n.failing ? s.abort === true && s.phase === 'Degraded' && s.stableRS !== s.currentPodHash && activeHash === s.stableRS : s.phase === 'Healthy' && s.stableRS === s.currentPodHash && s.abort !== true && activeHash === s.stableRS;
        if (!ok) wrongEndStates.push(`${n.name} (blue-green, ${n.failing ? 'failing analysis: must end aborted' : 'healthy: must end promoted'}): phase ${s.phase}, abort ${s.abort}, stable ${s.stableRS}, current ${s.currentPodHash}, active Service on ${activeHash}`);
        continue;
      }
      const weight = await routeWeight(o.client, o.ns, n);
      const ok = n.failing ? s.abort === true && s.phase === 'Degraded' && s.stableRS !== s.currentPodHash && weight === 0 : s.phase === 'Healthy' && s.stableRS === s.currentPodHash && s.abort !== true && weight === 0;
      if (!ok) wrongEndStates.push(`${n.name} (${n.router}, ${n.failing ? 'failing analysis: must end aborted' : 'healthy: must end promoted'}): phase ${s.phase}, abort ${s.abort}, stable ${s.stableRS}, current ${s.currentPodHash}, route weight ${weight}`);
    }
    for (const a of apps?.names ?? []) {
      while (!(await apps!.settled(a)) && Date.now() < settleDeadline) await sleep(500);
      wrongEndStates.push(...(await apps!.problems(a)));
    }
    await sleep(1000); // the watches deliver the last writes
    await observation.stop();
    const gitopsViolations = (await apps?.stop()) ?? [];
    const checked = observation.checker.check();
    const histories = checked.histories;
    const violations = [...checked.violations, ...gitopsViolations];
    const stepsOf = (name: string): typeof STEPS | undefined => (names.some((n) => n.name === name) ? STEPS : undefined);
    const stepProblems = stepHistoryProblems(histories, stepsOf);
    for (const h of histories) {
      const failing = h.rollout.startsWith('bad-');
      if (h.outcome === (failing ? 'promoted' : 'aborted')) wrongEndStates.push(`${h.rollout} revision ${h.hash} was ${h.outcome}`);
    }
    const runs = (await o.client.list<RunObj>(R.analysisRun, o.ns)).items;
    const measurements = { lost: 0, doubleCounted: 0, runs: runs.length };
    for (const run of runs) {
      for (const m of run.status?.metricResults ?? []) {
        const count = run.spec?.metrics?.find((x) => x.name === m.name)?.count ?? 1;
        const taken = m.measurements?.length ?? 0;
        if (taken > count || (m.count ?? 0) > count) measurements.doubleCounted++;
        if (run.status?.phase === 'Successful' && taken < count) measurements.lost++;
      }
    }
    return {
      kills: takeoverMs.length,
      takeoverMs,
      violations: violations.map(({ invariant, rollout: r, message, event }) => ({ invariant, rollout: r, message, event })),
      stepProblems,
      wrongEndStates,
      revisions: { promoted: histories.filter((h) => h.outcome === 'promoted').length, aborted: histories.filter((h) => h.outcome === 'aborted').length },
      measurements,
      unobservedCanaries: names.filter((n) => !n.blueGreen && !histories.some((h) => h.rollout === n.name)).map((n) => `${n.name} (${n.router})`),
      blueGreenRevisions: names.filter((n) => n.blueGreen).reduce((sum, n) => sum + (version.get(n.name) ?? 1) - 1, 0),
      gitops: { apps: apps?.names.length ?? 0, revisions: apps?.revisions ?? 0, drifts: apps?.drifts ?? 0, observedEvents: apps?.observedEvents ?? 0 },
      unexpectedExits,
      observedEvents: observation.checker.size,
    };
  } finally {
    await observation.stop();
    await apps?.stop();
    for (const p of ops) {
      killed.add(p.identity);
      p.kill('SIGKILL');
    }
    await Promise.all(ops.map((p) => p.exited));
  }
}

async function waitForHolder(holder: () => Promise<string | undefined>, among: readonly OperatorProcess[], timeoutMs: number, pollMs = 100): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const h = await holder();
    if (h !== undefined && among.some((p) => p.identity === h)) return h;
    if (Date.now() > deadline) throw new Error(`no leader among ${among.map((p) => p.identity).join(', ')} after ${timeoutMs} ms (holder: ${h})`);
    await sleep(pollMs);
  }
}

// A real data plane for the Gateway API: a real Traefik routes real HTTP requests by the weights Sluice writes on an
// HTTPRoute, to real processes of each revision (the demo app, one per Ready pod, started by the pod runner), through
// the kube-proxy emulator (labelled so: no kube-proxy runs here). Each revision's share is counted by its processes
// themselves (GET /stats), not by Traefik. Only kwok (no kubelet) and kube-proxy are stand-ins; the pod runner makes
// a pod Ready only once its process answers, as a readiness probe would. Traefik's metrics feed the builtin checks
// and the sequential judge.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeObject } from '../../src/kube/client.ts';
import { POD_TEMPLATE_HASH_LABEL } from '../../src/rollout/hash.ts';
import { HTTP_ROUTE } from '../../src/rollout/traffic/gatewayapi.ts';
import { kubectl, waitFor } from '../support/cluster.ts';
import { rolloutManifest, type helpers, type InProcessOperator } from '../support/rollouts.ts';
import { PrometheusServer } from '../prometheus/harness.ts';
import { connectionsToUnreadyPods, type KubeProxyEmulator } from './kubeproxy.ts';
import { RUN_LABEL, type PodRunner } from './podrunner.ts';
import { UNREADY_LABEL } from '../cluster/stages.ts';
import { startTestbed, type Testbed } from './testbed.ts';
import { canaryRouting as canaryRoutingOn, deployV1 as deployV1On, gateway, load as loadOn, routedApp, served as servedOn, steadyLoad as steadyLoadOn } from './traffic.ts';
import { loadedWeights, type Traefik } from './traefik/traefik.ts';

type RouteObj = KubeObject & { spec?: { rules?: { backendRefs?: { name: string; weight?: number }[] }[] } };

const REQUESTS_PER_STEP = 2000;
const log = (line: string): void => void process.stderr.write(`[traefik data plane] ${line}\n`);

describe('Gateway API through a real Traefik, to real processes', () => {
  let ns: string;
  let op: InProcessOperator;
  let runner: PodRunner;
  let proxy: KubeProxyEmulator;
  let traefik: Traefik;
  let h: ReturnType<typeof helpers>;
  let bed: Testbed | undefined;

  beforeAll(async () => {
    bed = await startTestbed('traefik');
    ({ ns, op, h, runner, proxy, traefik } = bed);
    await gateway(bed);
    await canaryRouting('web');
  });

  // The shared steps of traffic.ts, on this file's testbed.
  const canaryRouting = (app: string, matches?: object[]): Promise<void> => canaryRoutingOn(bedOf(), app, matches);
  const served = (): Promise<Map<string, number>> => servedOn(bedOf());
  const load = (n: number, path?: string): ReturnType<typeof loadOn> => loadOn(bedOf(), n, path);
  const steadyLoad = (path?: string): ReturnType<typeof steadyLoadOn> => steadyLoadOn(bedOf(), path);
  const deployV1 = (app: string, manifest: object): Promise<void> => deployV1On(bedOf(), app, manifest);
  const bedOf = (): Testbed => {
    if (bed === undefined) throw new Error('the testbed did not start');
    return bed;
  };

  afterAll(async () => {
    await bed?.stop();
    await kubectl(['delete', 'gatewayclass', `traefik-${ns}`, '--ignore-not-found']);
    expect({ runner: runner?.errors ?? [], proxy: proxy?.errors ?? [] }).toEqual({ runner: [], proxy: [] });
    // Every connection the kube-proxy emulator forwarded reached a pod whose process had passed its probe and was
    // still running, per the pod runner's own log.
    const refused = proxy?.connections.filter((c) => c.podIP === undefined).length ?? 0;
    log(`kube-proxy emulator: ${proxy?.connections.length ?? 0} connections forwarded, ${refused} refused (no Ready endpoint)`);
    expect(connectionsToUnreadyPods(proxy?.connections ?? [], runner?.log ?? [])).toEqual([]);
  });

  const routeWeight = async (): Promise<number | undefined> =>
    (await op.client.get<RouteObj>(HTTP_ROUTE, ns, 'web')).spec?.rules?.[0]?.backendRefs?.find((b) => b.name === 'web-canary')?.weight;

  /** Traefik has loaded the canary weight (its API's view of the HTTPRoute's weighted service). */
  const traefikWeight = async (): Promise<number | undefined> => {
    for (const s of await loadedWeights(traefik.apiPort)) {
      const canary = Object.entries(s.weights).find(([k]) => k.includes('web-canary'));
      if (canary !== undefined) return canary[1];
    }
    return undefined;
  };

  /** Waits until Sluice wrote the weight, Traefik loaded it, and every Ready opted-in pod has its process. */
  async function settled(weight: number): Promise<void> {
    await waitFor(`HTTPRoute canary weight ${weight}`, async () => (await routeWeight()) === weight, 60_000);
    await waitFor(`Traefik loaded canary weight ${weight}`, async () => (await traefikWeight()) === weight, 30_000);
    await waitFor('a process for every Ready pod', async () => {
      const ready = (await kubectl(['get', 'pods', '-n', ns, '-l', RUN_LABEL, '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}'])).stdout;
      const names = ready.split('\n').filter((l) => l.endsWith('=True')).map((l) => l.slice(0, -'=True'.length));
      const running = new Set(runner.pods().map((p) => p.name));
      return names.length > 0 && names.every((n) => running.has(n));
    }, 30_000);
  }

  /** The share (percent) of REQUESTS_PER_STEP requests that the processes of revision `hash` answered. */
  async function share(step: string, hash: string): Promise<number> {
    const started = Date.now();
    const { codes, byHash } = await load(REQUESTS_PER_STEP);
    const total = [...byHash.values()].reduce((a, b) => a + b, 0);
    const pct = (100 * (byHash.get(hash) ?? 0)) / total;
    log(`${step}: ${REQUESTS_PER_STEP} requests in ${Date.now() - started} ms; answered by processes ${JSON.stringify(Object.fromEntries(byHash))}; codes ${JSON.stringify(Object.fromEntries(codes))}; ${hash}'s share ${pct.toFixed(1)} %`);
    expect(Object.fromEntries(codes)).toEqual({ 200: REQUESTS_PER_STEP });
    expect(total).toBe(REQUESTS_PER_STEP);
    return pct;
  }

  it('steps 20% → 50% → promoted: the canary processes answer the share Sluice wrote (±5 points); an abort takes every request off the canary', async () => {
    const steps = [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { pause: {} }];
    const manifest = (v: string): object => {
      const m = rolloutManifest('web', v, { canaryService: 'web-canary', stableService: 'web-stable', trafficRouting: { gatewayAPI: { httpRoute: 'web' } }, steps, abortScaleDownDelaySeconds: 30 }, { [RUN_LABEL]: 'demo-app', [UNREADY_LABEL]: 'true' }) as { spec: object };
      return { ...m, spec: { ...m.spec, replicas: 2 } }; // a canary at 20% or 50% of 2 is 1 pod: 3 processes at most
    };
    await h.apply(manifest('v1'));
    await waitFor('v1 Healthy', async () => (await h.rollout('web')).status?.phase === 'Healthy', 60_000);
    const v1 = (await h.rollout('web')).status?.stableRS ?? '';
    await settled(0);
    expect(await share('v1 only', v1)).toBe(100);

    await h.apply(manifest('v2'));
    await settled(20);
    const v2 = (await h.rollout('web')).status?.currentPodHash ?? '';
    expect(v2).not.toBe(v1);
    expect(Math.abs((await share('setWeight 20', v2)) - 20)).toBeLessThanOrEqual(5);

    await h.statusPatch('web', { status: { pauseConditions: null } });
    await settled(50);
    expect(Math.abs((await share('setWeight 50', v2)) - 50)).toBeLessThanOrEqual(5);

    // Promoted under steady load: the stable Service selects v2, the weight goes back to 0, the old pods go after
    // their delay, and no request fails across the switch (no 503 at promotion).
    const across = steadyLoad();
    try {
      await h.statusPatch('web', { status: { pauseConditions: null } });
      await waitFor('v2 Healthy', async () => {
        const s = (await h.rollout('web')).status;
        return s?.phase === 'Healthy' && s.stableRS === v2;
      }, 60_000);
      await settled(0);
      await waitFor('v1 processes gone', () => runner.pods().every((p) => p.labels[POD_TEMPLATE_HASH_LABEL] === v2), 30_000);
    } finally {
      const { sent, codes } = await across.stop();
      log(`promotion: ${sent} requests under steady load across the switch and the old pods' removal; codes ${JSON.stringify(codes)}`);
      expect(codes).toEqual({ 200: sent });
    }
    expect(await share('promoted', v2)).toBe(100);

    // Abort a v3 canary at 20% under steady load: once the weight is written, no request reaches v3's processes.
    await h.apply(manifest('v3'));
    await settled(20);
    const v3 = (await h.rollout('web')).status?.currentPodHash ?? '';
    const canaryServed = async (): Promise<number> => [...(await served())].filter(([k]) => k.startsWith(`${v3}/`)).reduce((a, [, n]) => a + n, 0);
    const during = steadyLoad();
    const samples: { at: number; n: number }[] = [];

    try {
      const atStart = await canaryServed();
      await new Promise((r) => setTimeout(r, 500));
      expect(await canaryServed()).toBeGreaterThan(atStart); // the load does reach the canary before the abort
      await h.statusPatch('web', { status: { abort: true } });
      await waitFor('the abort wrote canary weight 0', async () => (await routeWeight()) === 0, 30_000, 20);
      const written = Date.now();
      while (Date.now() - written < 3500) {
        samples.push({ at: Date.now() - written, n: await canaryServed() });
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      const { sent, codes } = await during.stop();
      log(`abort: ${sent} requests under steady load, codes ${JSON.stringify(codes)}`);
    }
    const atTwoSeconds = samples.find((s) => s.at >= 2000)?.n ?? -1;
    const last = samples[samples.length - 1]?.n ?? -1;
    const lastIncrease = samples.reduce((t, s, i) => (i > 0 && s.n > (samples[i - 1]?.n ?? 0) ? s.at : t), 0);
    log(`abort: canary processes' count ${samples[0]?.n} at the weight write (seen ${samples[0]?.at} ms after), ${atTwoSeconds} at +2 s, ${last} at +3.5 s; last increase seen ${lastIncrease} ms after the write`);
    expect(atTwoSeconds).toBeGreaterThanOrEqual(0);
    expect(last - atTwoSeconds).toBe(0);
  });

  it("the builtin success-rate check on Traefik's metrics (a real Prometheus scraping it) promotes a healthy canary and aborts one whose processes answer 20 % 500s", async () => {
    const prometheus = await PrometheusServer.start([`127.0.0.1:${traefik.metricsPort}`]);
    let load: ReturnType<typeof steadyLoad> | undefined;
    try {
      await canaryRouting('api', [{ path: { type: 'PathPrefix', value: '/api' } }]);
      // 6 s at 50 % before the analysis: Prometheus needs a few scrapes of the canary's series for a rate.
      const analysis = { successRate: { min: 95 }, gatewayAPIMetrics: 'traefik', prometheus: { address: prometheus.url }, interval: '10s', count: 2 };
      const steps = [{ setWeight: 50 }, { pause: { duration: '6s' } }, { analysis }];
      const manifest = (v: string, errorRate: string): object => routedApp('api', v, steps, errorRate);
      await deployV1('api', manifest('v1', '0'));
      load = steadyLoad('/api');
      const scrapes = async (): Promise<number> => {
        const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent('max(count_over_time(traefik_service_requests_total[10s]))')}`);
        return Number(((await res.json()) as { data?: { result?: { value?: [number, string] }[] } }).data?.result?.[0]?.value?.[1] ?? 0);
      };
      await waitFor('Prometheus scraping Traefik regularly', async () => (await scrapes()) >= 4, 60_000, 500);

      const v1 = (await h.rollout('api')).status?.stableRS;
      let started = Date.now();
      await h.apply(manifest('v2', '0'));
      await waitFor('the healthy v2 promoted by its analysis', async () => {
        const s = (await h.rollout('api')).status;
        if (s?.abort === true || s?.message === 'InconclusiveAnalysisRun') throw new Error(`healthy v2 not promoted: ${s.message ?? ''}`);
        return s?.phase === 'Healthy' && s.currentPodHash !== v1 && s.stableRS === s.currentPodHash;
      }, 90_000);
      log(`healthy canary promoted by the success-rate check on Traefik's metrics in ${Date.now() - started} ms`);

      started = Date.now();
      await h.apply(manifest('v3', '0.2'));
      await waitFor('v3 (20 % 500s) aborted by its analysis', async () => (await h.rollout('api')).status?.abort === true, 90_000);
      log(`erroring canary aborted in ${Date.now() - started} ms: ${(await h.rollout('api')).status?.message ?? ''}`);
      const phase = (await kubectl(['get', 'analysisruns.sluice.dev', '-n', ns, '-l', 'sluice.dev/rollout=api', '-o', 'jsonpath={range .items[*]}{.status.phase}{" "}{end}'])).stdout.trim().split(' ').sort();
      expect(phase).toEqual(['Failed', 'Successful']);
    } catch (e) {
      const runs = (await kubectl(['get', 'analysisruns.sluice.dev', '-n', ns, '-l', 'sluice.dev/rollout=api', '-o', 'json'])).stdout;
      const metrics = (await (await fetch(`http://127.0.0.1:${traefik.metricsPort}/metrics`)).text()).split('\n').filter((l) => l.startsWith('traefik_service_requests_total'));
      log(`Traefik's service request series: ${metrics.join(' | ')}`);
      const q = async (query: string): Promise<string> => JSON.stringify(await (await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`)).json());
      log(`Prometheus: ${await q('count by (service) (traefik_service_requests_total)')}; up ${await q('up')}`);
      const queries = (await kubectl(['get', 'analysisruns.sluice.dev', '-n', ns, '-l', 'sluice.dev/rollout=api', '-o', 'jsonpath={.items[*].spec.metrics[*].provider.prometheus.query}'])).stdout;
      log(`query ${queries} now: ${await q(queries)}`);
      log(`scrapes in the last minute: ${await q('count_over_time(up[60s])')}`);
      log(`failed; rollout status ${JSON.stringify((await h.rollout('api')).status)}; runs ${JSON.stringify((JSON.parse(runs) as { items: { status?: unknown }[] }).items.map((r) => r.status))}`);
      throw e;
    } finally {
      const { sent, codes } = (await load?.stop()) ?? { sent: 0, codes: {} };
      log(`/api: ${sent} requests under steady load, codes ${JSON.stringify(codes)}`);
      await prometheus.stop();
    }
  });
  it("the sequential judge on Traefik's metrics compares the canary's backend Service with stable's: passes a healthy canary, aborts one at 20 % 500s", async () => {
    const prometheus = await PrometheusServer.start([`127.0.0.1:${traefik.metricsPort}`]);
    let load: ReturnType<typeof steadyLoad> | undefined;
    try {
      await canaryRouting('judged', [{ path: { type: 'PathPrefix', value: '/judged' } }]);
      const analysis = { successRate: { min: 90 }, gatewayAPIMetrics: 'traefik', prometheus: { address: prometheus.url }, judge: { interval: '2s', maxDuration: '2m' } };
      const steps = [{ setWeight: 50 }, { analysis }];
      const manifest = (v: string, errorRate: string): object => routedApp('judged', v, steps, errorRate);
      await deployV1('judged', manifest('v1', '0'));
      load = steadyLoad('/judged');
      const summaries = async (): Promise<string> => (await kubectl(['get', 'analysisruns.sluice.dev', '-n', ns, '-l', 'sluice.dev/rollout=judged', '-o', 'jsonpath={range .items[*]}{.status.phase}{": "}{.status.metricResults[0].measurements[-1:].metadata.summary}{"\\n"}{end}'])).stdout.trim();

      const v1 = (await h.rollout('judged')).status?.stableRS;
      let started = Date.now();
      await h.apply(manifest('v2', '0'));
      await waitFor('the healthy v2 passed by the judge and promoted', async () => {
        const s = (await h.rollout('judged')).status;
        if (s?.abort === true) throw new Error(`healthy v2 aborted: ${s.message ?? ''}; ${await summaries()}`);
        return s?.phase === 'Healthy' && s.currentPodHash !== v1 && s.stableRS === s.currentPodHash;
      }, 120_000);
      log(`judge on Traefik: healthy canary promoted in ${Date.now() - started} ms; ${await summaries()}`);

      started = Date.now();
      await h.apply(manifest('v3', '0.2'));
      await waitFor('v3 (20 % 500s) aborted by the judge', async () => (await h.rollout('judged')).status?.abort === true, 120_000);
      const runs = await summaries();
      log(`judge on Traefik: erroring canary aborted in ${Date.now() - started} ms; ${runs}`);
      const failed = runs.split('\n').find((l) => l.startsWith('Failed: '));
      const summary = JSON.parse(failed?.slice('Failed: '.length) ?? '{}') as { state?: string; totals?: { canary: { requests: number; bad: number }; stable: { requests: number; bad: number } } };
      // Aborted on evidence (or the absolute guard), with each revision's requests counted apart from Traefik's series.
      expect(['abort', 'guard']).toContain(summary.state);
      expect(summary.totals?.canary.bad).toBeGreaterThan(0);
      expect(summary.totals?.stable.requests).toBeGreaterThan(0);
      expect(summary.totals?.stable.bad).toBe(0);
    } finally {
      const { sent, codes } = (await load?.stop()) ?? { sent: 0, codes: {} };
      log(`/judged: ${sent} requests under steady load, codes ${JSON.stringify(codes)}`);
      await prometheus.stop();
    }
  }, 300_000); // its two waits allow 240 s: a loaded machine must not fail it on the default 120 s
});

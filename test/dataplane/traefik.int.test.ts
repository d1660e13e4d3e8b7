// A real data plane for the Gateway API: a real Traefik routes real HTTP requests by the weights Sluice writes on an
// HTTPRoute, to real processes of each revision (the demo app, one per Ready pod, started by the pod runner), through
// the kube-proxy emulator (labelled so: no kube-proxy runs here). Each revision's share is counted by its processes
// themselves (GET /stats), not by Traefik. Only kwok (no kubelet) and kube-proxy are stand-ins.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { KubeObject } from '../../src/kube/client.ts';
import { POD_TEMPLATE_HASH_LABEL } from '../../src/rollout/hash.ts';
import { HTTP_ROUTE } from '../../src/rollout/traffic/gatewayapi.ts';
import { createNamespace, deleteNamespace, kubeconfigPath, kubectl, waitFor } from '../support/cluster.ts';
import { helpers, installAllCrds, rolloutManifest, runOperator, type InProcessOperator } from '../support/rollouts.ts';
import { send } from './apps.ts';
import { KubeProxyEmulator, PROXY_LABEL } from './kubeproxy.ts';
import { PodRunner, RUN_LABEL } from './podrunner.ts';
import { ensureTraefik, loadedWeights, startTraefik, TRAEFIK_BIN_ENV, TRAEFIK_CONTROLLER, type Traefik } from './traefik/traefik.ts';

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
  const gatewayClass = (): string => `traefik-${ns}`;

  beforeAll(async () => {
    const binDir = process.env[TRAEFIK_BIN_ENV] ?? (await ensureTraefik());
    await installAllCrds();
    ns = await createNamespace('traefik');
    const logDir = resolve('test-results', 'dataplane', ns);
    mkdirSync(logDir, { recursive: true });
    op = await runOperator(ns);
    h = helpers(ns, op.client);
    runner = new PodRunner(op.client, ns, logDir);
    runner.start();
    proxy = new KubeProxyEmulator(op.client, ns, (ip) => runner.address(ip));
    proxy.start();
    traefik = await startTraefik({ binDir, kubeconfig: kubeconfigPath(), namespaces: [ns], gatewayClassLabels: { 'sluice.dev/test-namespace': ns }, logFile: resolve(logDir, 'traefik.log') });
    await h.apply({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: gatewayClass(), labels: { 'sluice.dev/test-namespace': ns } }, spec: { controllerName: TRAEFIK_CONTROLLER } });
    await h.apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'gw' },
      spec: { gatewayClassName: gatewayClass(), listeners: [{ name: 'web', port: traefik.webPort, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Same' } } }] },
    });
    for (const name of ['web-stable', 'web-canary']) {
      await h.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name, labels: { [PROXY_LABEL]: 'true' } }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] } });
    }
    await h.apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'web' },
      spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'web-stable', port: 8080, weight: 100 }, { name: 'web-canary', port: 8080, weight: 0 }] }] },
    });
  });

  afterAll(async () => {
    await traefik?.stop();
    await proxy?.stop();
    await runner?.stop();
    await op?.stop();
    await kubectl(['delete', 'gatewayclass', gatewayClass(), '--ignore-not-found']);
    if (ns !== undefined) await deleteNamespace(ns);
    expect({ runner: runner?.errors ?? [], proxy: proxy?.errors ?? [] }).toEqual({ runner: [], proxy: [] });
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

  /** Requests each revision's processes answered so far, by pod-template hash, as the processes count them. */
  const served = async (): Promise<Map<string, number>> => {
    const byPod = await Promise.all(
      runner.pods().map(async (p) => {
        const r = await fetch(`http://127.0.0.1:${p.port}/stats`);
        return { hash: p.labels[POD_TEMPLATE_HASH_LABEL] ?? '', pod: p.name, served: ((await r.json()) as { served: number }).served };
      }),
    );
    const out = new Map<string, number>();
    for (const p of byPod) out.set(`${p.hash}/${p.pod}`, p.served);
    return out;
  };

  /** `n` requests to Traefik's port, 16 at a time: the status codes, and each revision's count of what it answered. */
  async function load(n: number): Promise<{ codes: Map<number, number>; byHash: Map<string, number> }> {
    const before = await served();
    const codes = new Map<number, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next++ < n) {
          const { code } = await send(traefik.webPort);
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
      }),
    );
    const byHash = new Map<string, number>();
    for (const [key, count] of await served()) {
      const hash = key.split('/')[0] ?? '';
      byHash.set(hash, (byHash.get(hash) ?? 0) + count - (before.get(key) ?? 0));
    }
    return { codes, byHash };
  }

  /** Steady load (one request at a time) until stopped: how many were sent and the status codes. */
  function steadyLoad(): { stop: () => Promise<{ sent: number; codes: Record<number, number> }> } {
    let running = true;
    const codes: Record<number, number> = {};
    const done = (async () => {
      let sent = 0;
      while (running) {
        const { code } = await send(traefik.webPort);
        codes[code] = (codes[code] ?? 0) + 1;
        sent++;
      }
      return { sent, codes };
    })();
    return {
      stop: async () => {
        running = false;
        return done;
      },
    };
  }

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
      const m = rolloutManifest('web', v, { canaryService: 'web-canary', stableService: 'web-stable', trafficRouting: { gatewayAPI: { httpRoute: 'web' } }, steps, abortScaleDownDelaySeconds: 30 }, { [RUN_LABEL]: 'demo-app' }) as { spec: object };
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
});

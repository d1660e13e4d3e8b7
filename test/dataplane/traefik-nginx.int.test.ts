// Does a real Traefik's ingress-nginx provider (kubernetesIngressNGINX, Traefik v3.6) honour the canary Ingress that
// Sluice's NGINX router writes? It does not: the provider reads none of ingress-nginx's canary annotations (its
// annotation set has no `canary*` field), so the canary Ingress becomes one more router with the same rule and the
// same priority (the rule's length) as the stable one, and Traefik sends every request to one of the two, whatever
// `canary-weight` says. This test keeps that on record with real requests: Sluice writes canary-weight 20, the
// processes of each revision count what they answered, and the canary's share is 0 % or 100 %, never about 20 %.
// When Traefik learns canary weights this test fails, and the NGINX router gets a real proxy.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { POD_TEMPLATE_HASH_LABEL } from '../../src/rollout/hash.ts';
import { UNREADY_LABEL } from '../cluster/stages.ts';
import { kubectl, waitFor } from '../support/cluster.ts';
import { rolloutManifest } from '../support/rollouts.ts';
import { send } from './apps.ts';
import { PROXY_LABEL } from './kubeproxy.ts';
import { RUN_LABEL, type PodRunner } from './podrunner.ts';
import { startTestbed, type Testbed } from './testbed.ts';
import type { Traefik } from './traefik/traefik.ts';

const REQUESTS = 1000;
const log = (line: string): void => void process.stderr.write(`[traefik ingress-nginx] ${line}\n`);

describe("Traefik's ingress-nginx provider and the canary Ingress of Sluice's NGINX router", () => {
  let ns: string;
  let runner: PodRunner;
  let traefik: Traefik;
  let h: Testbed['h'];
  let bed: Testbed | undefined;
  const ingressClass = (): string => `nginx-${ns}`;

  beforeAll(async () => {
    bed = await startTestbed('traefik-nginx', { ingressNginx: true });
    ({ ns, h, runner, traefik } = bed);
    // ingress-nginx's controller name: the provider serves IngressClasses of that controller.
    await h.apply({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: ingressClass() }, spec: { controller: 'k8s.io/ingress-nginx' } });
    for (const name of ['web-stable', 'web-canary']) {
      await h.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name, labels: { [PROXY_LABEL]: 'true' } }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] } });
    }
    // service-upstream: Traefik sends to the Service's ClusterIP (the kube-proxy emulator), not to the pod IPs.
    await h.apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'web', annotations: { 'nginx.ingress.kubernetes.io/service-upstream': 'true' } },
      spec: { ingressClassName: ingressClass(), rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web-stable', port: { number: 8080 } } } }] } }] },
    });
  });

  afterAll(async () => {
    await bed?.stop();
    await kubectl(['delete', 'ingressclass', ingressClass(), '--ignore-not-found']);
    expect({ runner: runner?.errors ?? [], proxy: bed?.proxy.errors ?? [] }).toEqual({ runner: [], proxy: [] });
  });

  /** The Ingress routers Traefik has loaded: name → rule and priority. */
  const routers = async (): Promise<{ name: string; rule: string; priority: number; service: string }[]> =>
    ((await (await fetch(`http://127.0.0.1:${traefik.apiPort}/api/http/routers`)).json()) as { name: string; rule: string; priority: number; service: string; provider: string }[]).filter((r) => r.provider === 'kubernetesingressnginx');

  /** `n` requests to Traefik's port: what each revision's processes answered (their own counts), and the status codes. */
  async function load(n: number): Promise<{ byHash: Record<string, number>; codes: Record<number, number> }> {
    const counts = async (): Promise<Map<string, number>> => {
      const out = new Map<string, number>();
      for (const p of runner.pods()) {
        const served = ((await (await fetch(`http://127.0.0.1:${p.port}/stats`)).json()) as { served: number }).served;
        const hash = p.labels[POD_TEMPLATE_HASH_LABEL] ?? '';
        out.set(hash, (out.get(hash) ?? 0) + served);
      }
      return out;
    };
    const before = await counts();
    const codes: Record<number, number> = {};
    for (let i = 0; i < n; i++) {
      const { code } = await send(traefik.webPort);
      codes[code] = (codes[code] ?? 0) + 1;
    }
    const byHash = Object.fromEntries([...(await counts())].map(([hash, c]) => [hash, c - (before.get(hash) ?? 0)]));
    return { byHash, codes };
  }

  it('ignores canary-weight: at a written weight of 20 every request goes to one of the two Ingresses, never 20 % to the canary', async () => {
    const manifest = (v: string): object => {
      const nginx = { stableIngress: 'web', additionalIngressAnnotations: { 'service-upstream': 'true' } };
      const m = rolloutManifest('web', v, { canaryService: 'web-canary', stableService: 'web-stable', trafficRouting: { nginx }, steps: [{ setWeight: 20 }, { pause: {} }] }, { [RUN_LABEL]: 'demo-app', [UNREADY_LABEL]: 'true' }) as { spec: object };
      return { ...m, spec: { ...m.spec, replicas: 2 } };
    };
    await h.apply(manifest('v1'));
    await waitFor('v1 Healthy', async () => (await h.rollout('web')).status?.phase === 'Healthy', 60_000);
    await waitFor('Traefik serving the stable Ingress', async () => (await send(traefik.webPort)).code === 200, 30_000);

    await h.apply(manifest('v2'));
    const canaryIngress = async (): Promise<Record<string, string>> => {
      const r = await kubectl(['get', 'ingress', '-n', ns, '-o', 'jsonpath={range .items[*]}{.metadata.name}{"="}{.metadata.annotations.nginx\\.ingress\\.kubernetes\\.io/canary-weight}{"\\n"}{end}']);
      return Object.fromEntries(r.stdout.split('\n').filter((l) => l.includes('=')).map((l) => l.split('=') as [string, string]));
    };
    await waitFor('Sluice wrote canary-weight 20 on its canary Ingress', async () => Object.values(await canaryIngress()).includes('20'), 60_000);
    const v2 = (await h.rollout('web')).status?.currentPodHash ?? '';
    await waitFor('Traefik loaded a router for each Ingress', async () => (await routers()).length >= 2, 30_000);
    await waitFor("the canary's process runs", () => runner.pods().some((p) => p.labels[POD_TEMPLATE_HASH_LABEL] === v2), 30_000);

    const loaded = await routers();
    const { byHash, codes } = await load(REQUESTS);
    const total = Object.values(byHash).reduce((a, b) => a + b, 0);
    const share = (100 * (byHash[v2] ?? 0)) / total;
    log(`Ingresses ${JSON.stringify(await canaryIngress())}; Traefik's routers ${JSON.stringify(loaded)}`);
    log(`${REQUESTS} requests at canary-weight 20: answered by ${JSON.stringify(byHash)} (canary ${v2}: ${share.toFixed(1)} %); codes ${JSON.stringify(codes)}`);
    expect(codes).toEqual({ 200: REQUESTS });
    expect(total).toBe(REQUESTS);
    // Two routers, one rule, one priority: no weight between them.
    expect(new Set(loaded.map((r) => `${r.rule} @${r.priority}`)).size).toBe(1);
    expect([0, 100]).toContain(Math.round(share));
  });
});

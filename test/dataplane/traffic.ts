// What the data-plane tests do on a testbed (testbed.ts): a Gateway on its Traefik, an app's stable and canary
// Services with an HTTPRoute, Rollouts whose pods run the demo app, and load through Traefik counted by the apps'
// own processes (GET /stats), never by Traefik.
import { POD_TEMPLATE_HASH_LABEL } from '../../src/rollout/hash.ts';
import { UNREADY_LABEL } from '../cluster/stages.ts';
import { waitFor } from '../support/cluster.ts';
import { rolloutManifest } from '../support/rollouts.ts';
import { send } from './apps.ts';
import { PROXY_LABEL } from './kubeproxy.ts';
import { RUN_LABEL } from './podrunner.ts';
import { TESTBED_CLASS_LABEL, type Testbed } from './testbed.ts';
import { TRAEFIK_CONTROLLER } from './traefik/traefik.ts';

export const gatewayClassOf = (bed: Testbed): string => `traefik-${bed.ns}`;

/** The GatewayClass of the bed's Traefik and a Gateway `gw` listening on its web port. */
export async function gateway(bed: Testbed): Promise<void> {
  await bed.h.apply({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: gatewayClassOf(bed), labels: { [TESTBED_CLASS_LABEL]: bed.ns } }, spec: { controllerName: TRAEFIK_CONTROLLER } });
  await bed.h.apply({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'gw' },
    spec: { gatewayClassName: gatewayClassOf(bed), listeners: [{ name: 'web', port: bed.traefik.webPort, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Same' } } }] },
  });
}

/** `<app>-stable` and `<app>-canary` (opted in to the kube-proxy emulator) and an HTTPRoute `<app>` on the Gateway, all to stable. */
export async function canaryRouting(bed: Testbed, app: string, matches?: object[]): Promise<void> {
  for (const name of [`${app}-stable`, `${app}-canary`]) {
    await bed.h.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name, labels: { [PROXY_LABEL]: 'true' } }, spec: { selector: { app }, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] } });
  }
  const backendRefs = [{ name: `${app}-stable`, port: 8080, weight: 100 }, { name: `${app}-canary`, port: 8080, weight: 0 }];
  await bed.h.apply({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: app }, spec: { parentRefs: [{ name: 'gw' }], rules: [{ ...(matches ? { matches } : {}), backendRefs }] } });
}

/** Requests each pod's process answered so far, by `<pod-template hash>/<pod>`, as the processes count them. */
export async function served(bed: Testbed): Promise<Map<string, number>> {
  const byPod = await Promise.all(
    bed.runner.pods().map(async (p) => {
      const r = await fetch(`http://127.0.0.1:${p.port}/stats`);
      return { hash: p.labels[POD_TEMPLATE_HASH_LABEL] ?? '', pod: p.name, served: ((await r.json()) as { served: number }).served };
    }),
  );
  const out = new Map<string, number>();
  for (const p of byPod) out.set(`${p.hash}/${p.pod}`, p.served);
  return out;
}

/** `n` requests to Traefik's port, 16 at a time: the status codes, and each revision's count of what it answered. */
export async function load(bed: Testbed, n: number, path = '/'): Promise<{ codes: Map<number, number>; byHash: Map<string, number> }> {
  const before = await served(bed);
  const codes = new Map<number, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next++ < n) {
        const { code } = await send(bed.traefik.webPort, path);
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }
    }),
  );
  const byHash = new Map<string, number>();
  for (const [key, count] of await served(bed)) {
    const hash = key.split('/')[0] ?? '';
    byHash.set(hash, (byHash.get(hash) ?? 0) + count - (before.get(key) ?? 0));
  }
  return { codes, byHash };
}

/** Steady load (one request at a time) until stopped: how many were sent and the status codes. */
export function steadyLoad(bed: Testbed, path = '/'): { stop: () => Promise<{ sent: number; codes: Record<number, number> }> } {
  let running = true;
  const codes: Record<number, number> = {};
  const done = (async () => {
    let sent = 0;
    while (running) {
      const { code } = await send(bed.traefik.webPort, path);
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

/** A Rollout `<app>` of 2 replicas on the HTTPRoute `<app>`, its processes answering `errorRate` of requests with 500. */
export function routedApp(app: string, version: string, steps: object[], errorRate: string, container: Record<string, unknown> = {}): object {
  const m = rolloutManifest(app, version, { canaryService: `${app}-canary`, stableService: `${app}-stable`, trafficRouting: { gatewayAPI: { httpRoute: app } }, steps }, { [RUN_LABEL]: 'demo-app', [UNREADY_LABEL]: 'true' }) as { spec: { template: { spec: { containers: object[] } } } };
  const containers = m.spec.template.spec.containers.map((c) => ({ ...c, env: [{ name: 'ERROR_RATE', value: errorRate }], ...container }));
  return { ...m, spec: { ...m.spec, replicas: 2, template: { ...m.spec.template, spec: { ...m.spec.template.spec, containers } } } };
}

/** Applies v1 and waits until it is Healthy and Traefik serves `/<app>` from it. */
export async function deployV1(bed: Testbed, app: string, manifest: object): Promise<void> {
  await bed.h.apply(manifest);
  await waitFor(`${app} v1 Healthy`, async () => (await bed.h.rollout(app)).status?.phase === 'Healthy', 60_000);
  await waitFor(`Traefik serving /${app} from v1`, async () => (await send(bed.traefik.webPort, `/${app}`)).code === 200, 30_000);
}

// The Services and the routing object a Flagger Canary had Flagger generate, written out for Sluice, which uses the
// user's own. Names follow Flagger's so that clients and routes keep working:
//   istio       stable <svc>-primary, canary <svc>-canary, apex <svc> (the VirtualService host)
//   gatewayapi  stable <svc>-primary, canary <svc>-canary, apex <svc>, HTTPRoute <svc>
//   linkerd     as gatewayapi, the HTTPRoute's parent the apex Service (Linkerd serves such routes in its mesh)
//   nginx       stable <svc> (the Service the ingressRef Ingress already routes to), canary <svc>-canary
//   kubernetes  blue-green: active <svc>, preview <svc>-canary
import { z } from 'zod';
import type { TrafficRouting } from '../api/rollout/schema.ts';
import type { PathSegment } from '../lint/source.ts';
import type { ConvertContext, Manifest } from './types.ts';

export type FlaggerProvider = 'istio' | 'nginx' | 'gatewayapi' | 'linkerd' | 'kubernetes';

export interface Routing {
  stableService: string;
  canaryService: string;
  trafficRouting?: TrafficRouting;
}

const SVC: PathSegment[] = ['spec', 'service'];
/** Istio HTTPRoute fields Flagger copies into every generated route; the generated VirtualService keeps them. */
const map = z.looseObject({});
const ISTIO_ROUTE_FIELDS = { match: z.array(map), rewrite: map, retries: map, headers: map, corsPolicy: map, timeout: z.string() } as const;
/** Flagger's types for the service fields read here: a wrong type is an error at the field, never misread. */
const strings = z.array(z.string());
const stringMap = z.record(z.string(), z.string());

export function providerOf(value: string | undefined): FlaggerProvider | undefined {
  if (value === undefined || value === 'istio') return 'istio';
  if (value === 'nginx' || value === 'kubernetes' || value === 'linkerd') return value;
  if (value === 'gatewayapi' || value.startsWith('gatewayapi:')) return 'gatewayapi';
  return undefined;
}

/** Emits the Services and the routing object; returns what the Rollout names. */
export function emitRouting(ctx: ConvertContext, provider: FlaggerProvider, name: string, namespace: string | undefined, selector: Record<string, string>, extraPorts: readonly { name?: string | undefined; containerPort: number; protocol?: string | undefined }[] = []): Routing | undefined {
  const f = ctx.fields;
  const svc = f.string(...SVC, 'name') ?? name;
  const port = f.number(...SVC, 'port');
  if (port === undefined) {
    ctx.report([...SVC, 'port'], 'error', 'required: the port of the Services to generate');
    return undefined;
  }
  const portName = f.string(...SVC, 'portName') ?? 'http';
  const targetPort = f.typed(z.union([z.int(), z.string()]), ...SVC, 'targetPort') ?? port;
  const appProtocol = f.string(...SVC, 'appProtocol');
  const ns = namespace === undefined ? {} : { namespace };
  // Discovered container ports besides the main one (not the port it targets, nor a repeated name or number).
  const ports: Record<string, unknown>[] = [{ name: portName, port, targetPort, protocol: 'TCP', ...(appProtocol !== undefined ? { appProtocol } : {}) }];
  for (const p of extraPorts) {
    const pname = p.name ?? `tcp-${p.containerPort}`;
    if (p.containerPort === targetPort || p.name === targetPort || ports.some((x) => x.name === pname || x.port === p.containerPort)) continue;
    ports.push({ name: pname, port: p.containerPort, targetPort: p.containerPort, protocol: p.protocol ?? 'TCP' });
  }
  const service = (svcName: string, role: 'apex' | 'primary' | 'canary'): Manifest => {
    const meta = { labels: f.typed(stringMap, ...SVC, role, 'labels'), annotations: f.typed(stringMap, ...SVC, role, 'annotations') };
    return {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: svcName, ...ns, ...(meta.labels !== undefined ? { labels: meta.labels } : {}), ...(meta.annotations !== undefined ? { annotations: meta.annotations } : {}) },
      spec: { selector, ports: ports.map((p) => ({ ...p })) },
    };
  };
  const hosts = f.typed(strings, ...SVC, 'hosts') ?? [];

  if (provider === 'nginx') {
    const ingress = f.string('spec', 'ingressRef', 'name');
    f.take('spec', 'ingressRef', 'apiVersion');
    f.take('spec', 'ingressRef', 'kind');
    if (ingress === undefined) {
      ctx.report(['spec', 'ingressRef'], 'error', 'required with provider nginx: the Ingress that routes to the apex Service');
      return undefined;
    }
    ctx.emit(service(svc, 'apex'));
    ctx.emit(service(`${svc}-canary`, 'canary'));
    noPrimary(ctx, svc);
    ctx.report(['spec', 'ingressRef'], 'note', `Sluice keeps Ingress "${ingress}" as the stable route: its backend "${svc}" is the stable Service, and Sluice writes a canary Ingress "${name}-${ingress}-canary" to "${svc}-canary"`);
    return { stableService: svc, canaryService: `${svc}-canary`, trafficRouting: { nginx: { stableIngress: ingress } } };
  }
  if (provider === 'kubernetes') {
    ctx.emit(service(svc, 'apex'));
    ctx.emit(service(`${svc}-canary`, 'canary'));
    noPrimary(ctx, svc);
    return { stableService: svc, canaryService: `${svc}-canary` };
  }

  const stable = `${svc}-primary`;
  const canary = `${svc}-canary`;
  ctx.emit(service(svc, 'apex'));
  ctx.emit(service(stable, 'primary'));
  ctx.emit(service(canary, 'canary'));
  const backends = (weighted: (host: string, weight: number) => object): object[] => [weighted(stable, 100), weighted(canary, 0)];
  if (provider === 'istio') {
    const route: Record<string, unknown> = { name: 'primary' };
    for (const [k, schema] of Object.entries(ISTIO_ROUTE_FIELDS)) {
      const v = f.typed<unknown>(schema, ...SVC, k);
      if (v !== undefined) route[k] = v;
    }
    route.route = backends((host, weight) => ({ destination: { host }, weight }));
    const gateways = f.typed(strings, ...SVC, 'gateways');
    ctx.emit({
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name: svc, ...ns },
      spec: { hosts: [...new Set([svc, ...hosts])], gateways: gateways ?? ['mesh'], http: [route] },
    });
    return { stableService: stable, canaryService: canary, trafficRouting: { istio: { virtualService: { name: svc } } } };
  }
  // Linkerd routes mesh traffic by an HTTPRoute whose parent is the Service clients call (the Gateway API's mesh form).
  const parentRefs = provider === 'linkerd' ? [{ group: '', kind: 'Service', name: svc, port }] : f.typed(z.array(z.looseObject({ name: z.string() })), ...SVC, 'gatewayRefs');
  const timeout = f.string(...SVC, 'timeout');
  ctx.emit({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: svc, ...ns },
    spec: {
      ...(parentRefs !== undefined ? { parentRefs } : {}),
      ...(hosts.length > 0 ? { hostnames: hosts } : {}),
      rules: [{ ...(timeout !== undefined ? { timeouts: { request: timeout } } : {}), backendRefs: backends((n, weight) => ({ name: n, port, weight })) }],
    },
  });
  return { stableService: stable, canaryService: canary, trafficRouting: { gatewayAPI: { httpRoute: svc } } };
}

/** Where the stable Service is the apex one there is no `<svc>-primary` for service.primary's metadata to go on. */
function noPrimary(ctx: ConvertContext, svc: string): void {
  if (ctx.fields.peek(...SVC, 'primary') === undefined) return;
  ctx.fields.take(...SVC, 'primary');
  ctx.report([...SVC, 'primary'], 'unmapped', `there is no ${svc}-primary Service with this provider (the stable Service is ${svc}, which takes service.apex): left out`);
}

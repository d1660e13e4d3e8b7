import type { Rollout } from '../../api/rollout/schema.ts';
import { GatewayApiRouter } from './gatewayapi.ts';
import { IstioRouter } from './istio.ts';
import { NginxRouter } from './nginx.ts';
import type { RouterDeps, TrafficRouter } from './router.ts';

/** The router a Rollout's trafficRouting names (the spec check guarantees at most one is configured completely). */
export function routerFor(r: Rollout, deps: RouterDeps): TrafficRouter | undefined {
  const tr = r.spec.strategy?.canary?.trafficRouting;
  if (tr === undefined) return undefined;
  if (tr.gatewayAPI !== undefined) {
    const routes = [...(tr.gatewayAPI.httpRoute !== undefined ? [tr.gatewayAPI.httpRoute] : []), ...(tr.gatewayAPI.httpRoutes ?? []).map((x) => x.name)];
    return new GatewayApiRouter(deps, routes);
  }
  if (tr.istio !== undefined) {
    const vss = [...(tr.istio.virtualService !== undefined ? [tr.istio.virtualService] : []), ...(tr.istio.virtualServices ?? [])];
    const dr = tr.istio.destinationRule;
    const subsets = dr?.canarySubsetName !== undefined && dr.stableSubsetName !== undefined ? { name: dr.name, canarySubsetName: dr.canarySubsetName, stableSubsetName: dr.stableSubsetName } : undefined;
    return new IstioRouter(deps, vss.map((v) => ({ name: v.name, routes: v.routes ?? [] })), subsets);
  }
  if (tr.nginx !== undefined) {
    const stable = [...(tr.nginx.stableIngress !== undefined ? [tr.nginx.stableIngress] : []), ...(tr.nginx.stableIngresses ?? [])];
    return new NginxRouter(deps, { stableIngresses: stable, annotationPrefix: tr.nginx.annotationPrefix, additionalIngressAnnotations: tr.nginx.additionalIngressAnnotations, ownerUid: (r.metadata as { uid?: string }).uid });
  }
  return undefined;
}

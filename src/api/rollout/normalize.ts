// Argo Rollouts routes Gateway API through a plugin (`trafficRouting.plugins["argoproj-labs/gatewayAPI"]`); Sluice
// has it as a first-class `gatewayAPI` key. This maps the plugin form onto the native one so that the controller
// only ever reads `gatewayAPI`.
import { ARGO_GATEWAY_API_PLUGIN, gatewayApiSchema, type Rollout, type TrafficRouting } from './schema.ts';

/** Moves a valid Gateway API plugin config into `gatewayAPI`. Left untouched (and reported by validateRollout)
 * when `gatewayAPI` is already set or the plugin config does not parse. */
export function normalizeTrafficRouting(tr: TrafficRouting): TrafficRouting {
  const config = tr.plugins?.[ARGO_GATEWAY_API_PLUGIN];
  if (config === undefined || tr.gatewayAPI !== undefined) return tr;
  const parsed = gatewayApiSchema.safeParse(config);
  if (!parsed.success) return tr;
  const { plugins, ...rest } = tr;
  const others = Object.fromEntries(Object.entries(plugins ?? {}).filter(([name]) => name !== ARGO_GATEWAY_API_PLUGIN));
  return Object.keys(others).length > 0 ? { ...rest, gatewayAPI: parsed.data, plugins: others } : { ...rest, gatewayAPI: parsed.data };
}

/** The Rollout with its traffic routing normalised; returns the same object when nothing changes. */
export function normalizeRollout(rollout: Rollout): Rollout {
  const canary = rollout.spec.strategy?.canary;
  const tr = canary?.trafficRouting;
  if (canary === undefined || tr === undefined) return rollout;
  const normal = normalizeTrafficRouting(tr);
  if (normal === tr) return rollout;
  return {
    ...rollout,
    spec: { ...rollout.spec, strategy: { ...rollout.spec.strategy, canary: { ...canary, trafficRouting: normal } } },
  };
}

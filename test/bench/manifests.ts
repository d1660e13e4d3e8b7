// The objects every controller gets: the same Rollouts (only apiVersion differs), Services and VirtualServices.
// Steps as issue 22 asks: [setWeight 20, pause 5s, setWeight 50, pause 5s].
import type { KubeObject } from '../../src/kube/client.ts';

export type Variant = 'rollouts' | 'istio';

export const GROUPS = { sluice: 'sluice.dev', 'argo-rollouts': 'argoproj.io' } as const;
export const PAUSE_MS = 5_000;
export const STEPS = [{ setWeight: 20 }, { pause: { duration: '5s' } }, { setWeight: 50 }, { pause: { duration: '5s' } }];
/** Weight set by the step after each pause (step index of the pause → weight); the last pause leads to promotion. */
export const WEIGHT_AFTER_PAUSE: Record<number, number> = { 1: 50 };
export const LAST_PAUSE = 3;

export const rolloutName = (i: number): string => `r${String(i).padStart(5, '0')}`;
export const image = (version: number): string => `registry.invalid/bench/app:v${version}`;

export function rollout(group: string, variant: Variant, name: string, replicas: number, img: string): KubeObject {
  const canary: Record<string, unknown> = { steps: STEPS };
  if (variant === 'istio') {
    Object.assign(canary, {
      canaryService: `${name}-canary`,
      stableService: `${name}-stable`,
      // Both default to 30 s after a traffic-routed promotion; shorter keeps the cycles short, the same for both.
      scaleDownDelaySeconds: 5,
      trafficRouting: { istio: { virtualService: { name, routes: ['primary'] } } },
    });
  }
  return {
    apiVersion: `${group}/v1alpha1`,
    kind: 'Rollout',
    metadata: { name },
    spec: {
      replicas,
      revisionHistoryLimit: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: img }] } },
      strategy: { canary },
    },
  };
}

/** The Services and VirtualService an Istio canary names; created before the Rollout, as a config repo would. */
export function istioObjects(name: string): KubeObject[] {
  const svc = (n: string): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: n }, spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] } });
  return [
    svc(`${name}-stable`),
    svc(`${name}-canary`),
    {
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name },
      spec: { hosts: [name], http: [{ name: 'primary', route: [{ destination: { host: `${name}-stable` }, weight: 100 }, { destination: { host: `${name}-canary` }, weight: 0 }] }] },
    },
  ];
}

/** Canary pods a replica-ratio step asks for: ceil(weight% of replicas), as both controllers compute it. */
export const canaryReplicas = (weight: number, replicas: number): number => Math.ceil((weight * replicas) / 100);

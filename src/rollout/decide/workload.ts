// workloadRef: how many replicas the referenced Deployment should keep while the Rollout takes its pods over. Pure.

export type ScaleDown = 'never' | 'onsuccess' | 'progressively';

/**
 * never: the Deployment is left alone (a person scales it down); onsuccess: to zero once the Rollout is Healthy;
 * progressively: it gives up as many pods as the Rollout has made available. Undefined: do not touch it.
 */
export function workloadReplicas(scaleDown: ScaleDown | undefined, replicas: number, rolloutAvailable: number, healthy: boolean): number | undefined {
  switch (scaleDown ?? 'never') {
    case 'never':
      return undefined;
    case 'onsuccess':
      return healthy ? 0 : undefined;
    case 'progressively':
      return Math.max(0, replicas - rolloutAvailable);
  }
}

// The weight and canary size a step asks for. Pure; shared by the canary engine and its gates.
import type { CanaryStep } from '../../api/rollout/schema.ts';

/** The traffic weight in force at step `index`: the last setWeight at or before it (0 before any). */
export function weightAt(steps: readonly CanaryStep[], index: number): number {
  let w = 0;
  for (let i = 0; i <= Math.min(index, steps.length - 1); i++) {
    const s = steps[i]?.setWeight;
    if (s !== undefined) w = s;
  }
  return index >= steps.length ? 100 : w;
}

export function canaryReplicasFor(weight: number, replicas: number, routed: boolean): number {
  // Routed canaries round up (traffic needs at least one pod); replica-ratio canaries take the nearest count.
  return routed ? Math.ceil((replicas * weight) / 100) : Math.round((replicas * weight) / 100);
}

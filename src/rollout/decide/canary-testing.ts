// Helpers of the canary engine's tests (not a test file): a deployed world and a new revision.
import type { CanaryStep } from '../../api/rollout/schema.ts';
import { World } from './sim.ts';

export const STEPS: CanaryStep[] = [{ setWeight: 20 }, { pause: { duration: '2s' } }, { setWeight: 50 }, { pause: {} }];

/** A world whose first revision is stable and Healthy. */
export function deployed(steps: CanaryStep[] = STEPS, opts: Partial<ConstructorParameters<typeof World>[0]> = {}): World {
  const w = new World({ steps, ...opts });
  w.run();
  return w;
}

export const newRevision = (w: World, hash = 'h2'): void => {
  w.templateHash = hash;
};

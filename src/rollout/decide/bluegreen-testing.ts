// Helpers of the blue-green engine's tests (not a test file): a deployed world and ways to read what it did.
import { expect } from '@jest/globals';
import type { BlueGreenStrategy } from '../../api/rollout/schema.ts';
import { BlueGreenWorld, type BlueGreenSimOptions } from './bluegreen-sim.ts';

export const ANALYSIS = { templates: [{ templateName: 'smoke' }] };

/** A world whose first revision is active, stable and Healthy. */
export function deployed(blueGreen: Partial<BlueGreenStrategy> = {}, opts: BlueGreenSimOptions = {}): BlueGreenWorld {
  const w = new BlueGreenWorld({ ...opts, blueGreen });
  w.run();
  return w;
}

export const kinds = (w: BlueGreenWorld, from = 0): string[] => w.log.slice(from).flatMap((d) => d.actions.map((a) => (a.kind === 'pinService' ? `pin ${a.role} ${a.hash}` : a.kind)));
export const replicasOf = (w: BlueGreenWorld, hash: string): number | undefined => w.rsOf(hash)?.replicas;
/** Reconciles a second apart, the pods coming up one at a time, until `done` (at most `max` rounds). */
export function until(w: BlueGreenWorld, done: () => boolean, max = 60): void {
  for (let i = 0; i < max && !done(); i++) {
    w.reconcile();
    w.settle();
    w.now += 1000;
  }
  expect(done()).toBe(true);
}

import { describe, expect, it } from '@jest/globals';
import { workloadReplicas } from './workload.ts';

describe('workloadRef scale-down', () => {
  it('leaves the Deployment alone by default', () => {
    expect(workloadReplicas(undefined, 4, 4, true)).toBeUndefined();
    expect(workloadReplicas('never', 4, 4, true)).toBeUndefined();
  });

  it('scales it to zero once the Rollout is Healthy with onsuccess', () => {
    expect(workloadReplicas('onsuccess', 4, 2, false)).toBeUndefined();
    expect(workloadReplicas('onsuccess', 4, 4, true)).toBe(0);
  });

  it('hands pods over progressively, never below zero', () => {
    expect(workloadReplicas('progressively', 4, 0, false)).toBe(4);
    expect(workloadReplicas('progressively', 4, 3, false)).toBe(1);
    expect(workloadReplicas('progressively', 4, 6, true)).toBe(0);
  });
});

import { describe, expect, it } from '@jest/globals';
import type { Rollout } from '../../api/rollout/schema.ts';
import { statusVerdict } from './status.ts';

const r = (generation: number, status: Rollout['status']): Rollout => ({ apiVersion: 'sluice.dev/v1alpha1', kind: 'Rollout', metadata: { name: 'web', generation }, spec: {}, status });

describe('status verdict', () => {
  it('ends Healthy only on a status written for the current spec', () => {
    expect(statusVerdict(r(2, { observedGeneration: '2', phase: 'Healthy' }))).toEqual({ done: 'healthy', line: 'Healthy' });
    expect(statusVerdict(r(3, { observedGeneration: '2', phase: 'Healthy' }))).toEqual({ line: 'Progressing - waiting for the operator to observe the latest spec' });
    expect(statusVerdict(r(3, { observedGeneration: 3, phase: 'Healthy' })).done).toBe('healthy'); // an int from another writer
  });

  it('ends Degraded on a degraded or aborted Rollout, and keeps waiting while it progresses or pauses', () => {
    expect(statusVerdict(r(1, { observedGeneration: '1', phase: 'Degraded', message: 'ProgressDeadlineExceeded: x' }))).toEqual({ done: 'degraded', line: 'Degraded - ProgressDeadlineExceeded: x' });
    expect(statusVerdict(r(1, { observedGeneration: '1', phase: 'Paused', abort: true })).done).toBe('degraded');
    expect(statusVerdict(r(1, { observedGeneration: '1', phase: 'Paused', message: 'CanaryPauseStep' }))).toEqual({ line: 'Paused - CanaryPauseStep' });
    expect(statusVerdict(r(1, { observedGeneration: '1', phase: 'Progressing', message: 'more replicas need to be updated' })).done).toBeUndefined();
  });
});

import { describe, expect, it } from '@jest/globals';
import { runOutcome } from './outcome.ts';

describe('runOutcome', () => {
  it.each([
    [undefined, 'wait'],
    ['Pending', 'wait'],
    ['Running', 'wait'],
    ['Successful', 'continue'],
    ['Inconclusive', 'pause'],
    ['Failed', 'abort'],
    ['Error', 'abort'],
  ] as const)('%s → %s', (phase, action) => {
    expect(runOutcome(phase === undefined ? undefined : { phase, message: 'metric "x" Failed' }).action).toBe(action);
  });

  it('carries the run message to the rollout', () => {
    expect(runOutcome({ phase: 'Failed', message: 'metric "sr" Failed: 2 failed' })).toEqual({ action: 'abort', message: 'analysis run failed: metric "sr" Failed: 2 failed' });
    expect(runOutcome({ phase: 'Inconclusive' })).toEqual({ action: 'pause', message: 'analysis run inconclusive' });
  });
});

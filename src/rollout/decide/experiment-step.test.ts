import { describe, expect, it } from '@jest/globals';
import type { CanaryStep } from '../../api/rollout/schema.ts';
import { PAUSE_INCONCLUSIVE_EXPERIMENT } from './canary-stages.ts';
import { deployed, newRevision } from './canary-testing.ts';

const EXPERIMENT: CanaryStep = {
  experiment: {
    duration: '1m',
    templates: [{ name: 'baseline', specRef: 'stable' }, { name: 'canary', specRef: 'canary' }],
    analyses: [{ name: 'compare', templateName: 'compare' }],
  },
};
const STEPS: CanaryStep[] = [{ setWeight: 20 }, EXPERIMENT, { setWeight: 60 }];
const created = (w: ReturnType<typeof deployed>): number => w.log.flatMap((d) => d.actions).filter((a) => a.kind === 'createExperiment').length;

describe('canary engine: experiment steps', () => {
  it('starts the Experiment once, waits while it runs and moves on when it is Successful', () => {
    const w = deployed(STEPS);
    newRevision(w);
    w.run(8);
    expect(w.status.currentStepIndex).toBe(1);
    expect(created(w)).toBe(1);
    expect(w.log.flatMap((d) => d.actions)).toContainEqual({ kind: 'createExperiment', stepIndex: 1, experiment: EXPERIMENT.experiment });
    w.experiments[1] = 'Running';
    w.run(5);
    expect(w.status.currentStepIndex).toBe(1);
    expect(created(w)).toBe(1);
    w.experiments[1] = 'Successful';
    w.run(20);
    expect(w.status.stableRS).toBe('h2');
    expect(w.violations).toEqual([]);
  });

  it.each(['Failed', 'Error'] as const)('aborts the rollout when the Experiment is %s, traffic back on stable', (phase) => {
    const w = deployed(STEPS);
    newRevision(w);
    w.run(8);
    w.experiments[1] = phase;
    w.run(5);
    expect(w.status.abort).toBe(true);
    expect(w.routerWeight).toBe(0);
    expect(w.log.flatMap((d) => d.events).map((e) => e.reason)).toContain('ExperimentFailed');
    expect(w.violations).toEqual([]);
  });

  it('pauses on an Inconclusive Experiment until promoted', () => {
    const w = deployed(STEPS);
    newRevision(w);
    w.run(8);
    w.experiments[1] = 'Inconclusive';
    w.run(5);
    expect(w.status.pauseConditions?.map((p) => p.reason)).toEqual([PAUSE_INCONCLUSIVE_EXPERIMENT]);
    expect(w.status.phase).toBe('Paused');
    delete w.status.pauseConditions;
    w.run(20);
    expect(w.status.stableRS).toBe('h2');
  });

  it('terminates a running Experiment on abort, and one left behind by a promote', () => {
    const w = deployed(STEPS);
    newRevision(w);
    w.run(8);
    w.experiments[1] = 'Running';
    w.status.abort = true;
    w.run(3);
    expect(w.terminatedExperiments).toEqual([1]);

    const p = deployed([EXPERIMENT, { pause: {} }]);
    newRevision(p);
    p.run(8);
    p.experiments[0] = 'Running';
    p.status.promoteFull = true;
    p.run(10);
    expect(p.terminatedExperiments).toEqual([0]);
    expect(p.status.stableRS).toBe('h2');
  });

  it('a retry deletes the aborted attempt\'s Experiment and starts a new one', () => {
    const w = deployed(STEPS);
    newRevision(w);
    w.run(8);
    w.experiments[1] = 'Failed';
    w.run(5);
    expect(w.status.abort).toBe(true);
    w.status.abort = false; // Argo's plugin: retry
    w.run(8);
    expect(w.log.flatMap((d) => d.actions)).toContainEqual({ kind: 'deleteExperiment', stepIndex: 1 });
    expect(created(w)).toBe(2);
    expect(w.experiments[1]).toBe('Pending');
  });
});

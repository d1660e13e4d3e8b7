import { describe, expect, it } from '@jest/globals';
import type { CanaryStep } from '../../api/rollout/schema.ts';
import { PAUSE_INCONCLUSIVE_EXPERIMENT } from './canary-stages.ts';
import { deployed, newRevision } from './canary-testing.ts';
import type { World } from './sim.ts';

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

  describe('templates with a weight (routed to their own Services)', () => {
    const ROUTED: CanaryStep = {
      experiment: {
        templates: [{ name: 'baseline', specRef: 'stable', weight: 20 }, { name: 'canary', specRef: 'canary', weight: 20 }],
        analyses: [{ name: 'compare', templateName: 'compare', requiredForCompletion: true }],
      },
    };
    const steps: CanaryStep[] = [{ setWeight: 10 }, ROUTED, { setWeight: 60 }];
    const views = (available: number, readyEndpoints = available) => [
      { name: 'baseline', serviceName: 'web-h2-1-baseline', available, readyEndpoints, podTemplateHash: 'b1' },
      { name: 'canary', serviceName: 'web-h2-1-canary', available, readyEndpoints, podTemplateHash: 'c1' },
    ];
    const atExperiment = (): World => {
      const w = deployed(steps);
      newRevision(w);
      w.run(8);
      expect(w.status.currentStepIndex).toBe(1);
      return w;
    };

    it('sends each template its weight from the stable\'s share only while the Experiment runs, then takes it back', () => {
      const w = atExperiment();
      w.experimentTemplates[1] = views(1);
      w.experiments[1] = 'Pending';
      w.run(3);
      expect(w.routerExtra).toEqual({}); // not before every template is available (Running)
      w.experiments[1] = 'Running';
      w.experimentTemplates[1] = views(1, 0);
      w.run(3);
      expect(w.routerExtra).toEqual({}); // pods available, but no proxy can reach them until the EndpointSlices say so
      w.experimentTemplates[1] = views(1);
      w.run(3);
      expect(w.routerExtra).toEqual({ 'web-h2-1-baseline': 20, 'web-h2-1-canary': 20 });
      expect(w.routerWeight).toBe(10);
      expect(w.status.canary?.weights?.stable?.weight).toBe(50);
      expect(w.status.canary?.weights?.additional).toEqual([
        { serviceName: 'web-h2-1-baseline', weight: 20, podTemplateHash: 'b1' },
        { serviceName: 'web-h2-1-canary', weight: 20, podTemplateHash: 'c1' },
      ]);
      const writes = w.log.flatMap((d) => d.actions).filter((a) => a.kind === 'setWeight');
      w.run(3);
      expect(w.log.flatMap((d) => d.actions).filter((a) => a.kind === 'setWeight')).toHaveLength(writes.length); // written once
      w.experiments[1] = 'Successful';
      w.run(1);
      expect(w.routerExtra).toEqual({});
      expect(w.status.canary?.weights?.additional).toBeUndefined();
      w.run(20);
      expect(w.status.stableRS).toBe('h2');
      expect(w.violations).toEqual([]);
    });

    it('takes the traffic back in the reconcile that aborts, and from a template that lost its pods', () => {
      const w = atExperiment();
      w.experimentTemplates[1] = views(1);
      w.experiments[1] = 'Running';
      w.run(2);
      expect(Object.keys(w.routerExtra)).toHaveLength(2);
      w.experimentTemplates[1] = [{ ...views(1)[0]! }, { ...views(0)[1]! }];
      w.run(1);
      expect(w.routerExtra).toEqual({ 'web-h2-1-baseline': 20 });
      w.experiments[1] = 'Failed';
      w.run(1);
      expect(w.status.abort).toBe(true);
      expect(w.routerExtra).toEqual({});
      expect(w.routerWeight).toBe(0);
      expect(w.violations).toEqual([]);
    });

    it('a template without weight, or a Service not there yet, gets no traffic', () => {
      const w = deployed([{ setWeight: 10 }, { experiment: { templates: [{ name: 'baseline', specRef: 'stable', weight: 20 }, { name: 'canary', specRef: 'canary' }] } }]);
      newRevision(w);
      w.run(8);
      w.experimentTemplates[1] = [{ name: 'baseline', available: 1, readyEndpoints: 1 }, { name: 'canary', serviceName: 'web-h2-1-canary', available: 1, readyEndpoints: 1 }];
      w.experiments[1] = 'Running';
      w.run(2);
      expect(w.routerExtra).toEqual({});
      w.experimentTemplates[1] = [{ name: 'baseline', serviceName: 'web-h2-1-baseline', available: 1, readyEndpoints: 1 }, { name: 'canary', serviceName: 'web-h2-1-canary', available: 1, readyEndpoints: 1 }];
      w.run(1);
      expect(w.routerExtra).toEqual({ 'web-h2-1-baseline': 20 });
      expect(w.violations).toEqual([]);
    });
  });
});

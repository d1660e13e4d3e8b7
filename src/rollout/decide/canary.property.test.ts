import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { CanaryStep } from '../../api/rollout/schema.ts';
import { deployed, newRevision } from './canary-testing.ts';
import { World } from './sim.ts';

describe('canary engine under random people and pods', () => {
  it('moves traffic off the canary when a step sets a weight and the background analysis fails in the same reconcile', () => {
    // Found by the property below (CI seed -338294237): the abort's second pass read the first pass's unapplied weight.
    const w = deployed([{ setWeight: 1 }, { setWeight: 0 }], { replicas: 1, routed: true });
    w.spec.strategy!.canary!.analysis = { templates: [{ templateName: 'bg' }], startingStep: 1 };
    newRevision(w);
    for (let i = 0; i < 4; i++) {
      w.reconcile();
      w.settle();
      w.now += 500;
    }
    expect(w.routerWeight).toBe(1);
    expect(w.stepAnalysis[-1]).toBe('Running');
    w.stepAnalysis[-1] = 'Failed';
    const d = w.reconcile();
    expect(d.actions).toContainEqual(expect.objectContaining({ kind: 'setWeight', weight: 0 }));
    w.settle();
    expect(w.status.abort).toBe(true);
    expect(w.routerWeight).toBe(0);
    expect(w.violations).toEqual([]);
  });

  it('property: whatever people and pods do, the invariants hold', () => {
    const step = fc.oneof(
      fc.record({ setWeight: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ analysis: fc.constant({ templates: [{ templateName: 't' }] }) }),
      fc.record({ pause: fc.oneof(fc.constant({}), fc.record({ duration: fc.constantFrom('1s', '5s', 30) })) }),
      fc.record({ setCanaryScale: fc.record({ replicas: fc.integer({ min: 0, max: 6 }) }) }),
    ) as fc.Arbitrary<CanaryStep>;
    const intervention = fc.constantFrom('none', 'promote', 'promoteFull', 'abort', 'retry', 'newTemplate', 'rollback', 'breakCanary', 'wait', 'analysisPass', 'analysisFail', 'analysisInconclusive');
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 6 }), fc.array(intervention, { maxLength: 25 }), fc.integer({ min: 1, max: 6 }), fc.boolean(), fc.boolean(), (steps, acts, replicas, routed, bgAnalysis) => {
        const w = new World({ steps, replicas, routed, brokenHashes: new Set() });
        if (bgAnalysis) w.spec.strategy!.canary!.analysis = { templates: [{ templateName: 'bg' }], startingStep: 1 };
        w.run(20);
        let n = 2;
        for (const act of acts) {
          if (act === 'promote') delete w.status.pauseConditions;
          if (act === 'promoteFull') w.status.promoteFull = true;
          if (act === 'abort') w.status.abort = true;
          if (act === 'retry') w.status.abort = false;
          if (act === 'newTemplate') w.templateHash = `h${n++}`;
          if (act === 'rollback' && w.status.stableRS !== undefined) w.templateHash = w.status.stableRS;
          if (act === 'breakCanary') w['opts'].brokenHashes?.add(w.templateHash);
          if (act === 'wait') w.now += 60_000;
          if (act.startsWith('analysis')) {
            const phase = act === 'analysisPass' ? 'Successful' : act === 'analysisFail' ? 'Failed' : 'Inconclusive';
            for (const k of Object.keys(w.stepAnalysis)) if (w.stepAnalysis[Number(k)] === 'Running') w.stepAnalysis[Number(k)] = phase;
          }
          w.reconcile();
          w.settle();
          w.now += 500;
        }
        w.run(40);
        expect(w.violations).toEqual([]);
        if (w.status.abort === true && routed) expect(w.routerWeight).toBe(0);
      }),
      { numRuns: Number(process.env.SLUICE_PROPERTY_RUNS ?? 300) },
    );
  });
});

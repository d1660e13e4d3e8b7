import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { BlueGreenWorld } from './bluegreen-sim.ts';
import { ANALYSIS } from './bluegreen-testing.ts';
import { POST_PROMOTION, PRE_PROMOTION } from './types.ts';

describe('blue-green engine under random people and pods', () => {
  it('property: the active Service only ever selects a fully available revision, and is on the stable one after any abort; pods go only when due; a quiet world comes to rest', () => {
    const strategy = fc.record(
      {
        autoPromotionEnabled: fc.boolean(),
        autoPromotionSeconds: fc.integer({ min: 0, max: 20 }),
        previewReplicaCount: fc.integer({ min: 0, max: 6 }),
        prePromotionAnalysis: fc.constant(ANALYSIS),
        postPromotionAnalysis: fc.constant(ANALYSIS),
        scaleDownDelaySeconds: fc.integer({ min: 0, max: 40 }),
        abortScaleDownDelaySeconds: fc.integer({ min: 0, max: 40 }),
      },
      { requiredKeys: [] },
    );
    // Promotes and analysis verdicts are likelier, so that runs get past the switch and into post-promotion often.
    const intervention = fc.oneof(
      { arbitrary: fc.constantFrom('none', 'promoteFull', 'abort', 'retry', 'newTemplate', 'newBrokenTemplate', 'rollback', 'back', 'wait', 'pause', 'unpause', 'preInconclusive', 'postInconclusive'), weight: 13 },
      { arbitrary: fc.constantFrom('promote', 'prePass', 'preFail', 'postFail', 'postPass'), weight: 10 },
    );
    fc.assert(
      fc.property(strategy, fc.array(intervention, { maxLength: 30 }), fc.integer({ min: 1, max: 6 }), fc.boolean(), fc.integer({ min: 1, max: 2 ** 31 - 2 }), (bg, acts, replicas, deadlineAbort, seed) => {
        let state = seed;
        const chaos = (): number => (state = (state * 48271) % 2147483647) / 2147483647; // Park-Miller: reproducible
        const w = new BlueGreenWorld({ replicas, blueGreen: bg, progressDeadlineSeconds: 30, progressDeadlineAbort: deadlineAbort, chaos });
        w.run(40);
        w.templateHash = 'h2'; // every case starts mid-update
        let n = 3;
        const settle = (k: number, phase: 'Successful' | 'Failed' | 'Inconclusive'): void => {
          if (w.stepAnalysis[k] === 'Running') w.stepAnalysis[k] = phase;
        };
        for (const act of acts) {
          if (act === 'promote') w.promote();
          if (act === 'promoteFull') w.status.promoteFull = true;
          if (act === 'abort') w.status.abort = true;
          if (act === 'retry') w.status.abort = false;
          if (act === 'newTemplate' || act === 'newBrokenTemplate') {
            w.templateHash = `h${n++}`;
            if (act === 'newBrokenTemplate') w.brokenHashes.add(w.templateHash);
          }
          if (act === 'rollback' && w.status.stableRS !== undefined) w.templateHash = w.status.stableRS;
          if (act === 'back') {
            // Back to the latest other revision that still has pods (warm: within its scale-down delay, or a preview).
            const warm = w.rs.filter((r) => r.hash !== w.templateHash && r.replicas > 0).sort((a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0))[0];
            if (warm !== undefined) w.templateHash = warm.hash;
          }
          if (act === 'wait') w.now += 60_000;
          if (act === 'pause') w.spec.paused = true;
          if (act === 'unpause') w.spec.paused = false;
          if (act === 'preFail') settle(PRE_PROMOTION, 'Failed');
          if (act === 'prePass') settle(PRE_PROMOTION, 'Successful');
          if (act === 'preInconclusive') settle(PRE_PROMOTION, 'Inconclusive');
          if (act === 'postFail') settle(POST_PROMOTION, 'Failed');
          if (act === 'postPass') settle(POST_PROMOTION, 'Successful');
          if (act === 'postInconclusive') settle(POST_PROMOTION, 'Inconclusive');
          w.reconcile();
          w.settle();
          w.now += 500;
        }
        w.run(80);
        w.quiesce();
        expect(w.violations).toEqual([]);
        if (w.status.abort === true) expect(w.selectors.active).toBe(w.status.stableRS);
        if (w.brokenHashes.has(w.selectors.active ?? '')) throw new Error('a never-Ready revision became active');
      }),
      { numRuns: Number(process.env.SLUICE_PROPERTY_RUNS ?? 300) },
    );
  });
});

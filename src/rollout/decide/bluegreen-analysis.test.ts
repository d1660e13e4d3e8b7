import { describe, expect, it } from '@jest/globals';
import { ANALYSIS, deployed, kinds, replicasOf } from './bluegreen-testing.ts';
import { POST_PROMOTION, PRE_PROMOTION } from './types.ts';

describe('blue-green engine: pre- and post-promotion analysis', () => {
  it('runs prePromotionAnalysis against the preview; success lets the switch happen', () => {
    const w = deployed({ prePromotionAnalysis: ANALYSIS });
    w.templateHash = 'h2';
    w.run();
    expect(w.stepAnalysis[PRE_PROMOTION]).toBe('Running');
    expect(w.selectors).toEqual({ active: 'h1', preview: 'h2' });
    expect(w.status.phase).toBe('Progressing');
    expect(w.status.message).toBe('active service cutover pending');
    w.stepAnalysis[PRE_PROMOTION] = 'Successful';
    w.run();
    expect(w.selectors.active).toBe('h2');
    expect(w.status.stableRS).toBe('h2');
    expect(w.violations).toEqual([]);
  });

  it('aborts on a failed prePromotionAnalysis without touching the active Service; the new pods go after abortScaleDownDelaySeconds', () => {
    const w = deployed({ prePromotionAnalysis: ANALYSIS, abortScaleDownDelaySeconds: 10 });
    w.templateHash = 'h2';
    w.run();
    const mark = w.log.length;
    w.stepAnalysis[PRE_PROMOTION] = 'Failed';
    const d = w.reconcile();
    expect(d.status.abort).toBe(true);
    expect(d.status.phase).toBe('Degraded');
    expect(d.events.map((e) => e.reason)).toEqual(['AnalysisRunFailed', 'RolloutAborted']);
    w.settle();
    w.run(6);
    expect(w.selectors.active).toBe('h1');
    expect(kinds(w).filter((k) => k === 'pin active h2')).toEqual([]);
    w.now += 10_000;
    w.run();
    expect(kinds(w, mark)).toEqual(expect.arrayContaining(['pin preview h1', 'scaleReplicaSet']));
    expect(w.selectors).toEqual({ active: 'h1', preview: 'h1' });
    expect(replicasOf(w, 'h2')).toBe(0);
    expect(replicasOf(w, 'h1')).toBe(4);
    expect(w.status.stableRS).toBe('h1');
    expect(w.violations).toEqual([]);
  });

  it('keeps an aborted revision up for inspection when abortScaleDownDelaySeconds is 0', () => {
    const w = deployed({ autoPromotionEnabled: false, abortScaleDownDelaySeconds: 0 });
    w.templateHash = 'h2';
    w.run();
    w.status.abort = true;
    w.run();
    w.now += 3_600_000;
    w.run();
    expect(replicasOf(w, 'h2')).toBe(4);
    expect(w.selectors).toEqual({ active: 'h1', preview: 'h2' });
  });

  it('switches the active Service back to the previous stable when postPromotionAnalysis fails', () => {
    const w = deployed({ postPromotionAnalysis: ANALYSIS, scaleDownDelaySeconds: 5 });
    w.templateHash = 'h2';
    w.run();
    expect(w.selectors.active).toBe('h2');
    expect(w.stepAnalysis[POST_PROMOTION]).toBe('Running');
    expect(w.status.stableRS).toBe('h1'); // not stable before the post-promotion analysis passes
    expect(w.status.message).toBe('waiting for post-promotion analysis to complete');
    w.now += 60_000; // well past scaleDownDelaySeconds: the previous stable is still whole
    w.run(3);
    expect(replicasOf(w, 'h1')).toBe(4);
    w.stepAnalysis[POST_PROMOTION] = 'Failed';
    const d = w.reconcile();
    expect(d.actions).toContainEqual({ kind: 'pinService', role: 'active', hash: 'h1' });
    expect(d.status.abort).toBe(true);
    expect(d.events.map((e) => e.reason)).toEqual(['AnalysisRunFailed', 'RolloutAborted']);
    w.settle();
    w.run();
    expect(w.selectors.active).toBe('h1');
    expect(w.status.stableRS).toBe('h1');
    expect(w.status.phase).toBe('Degraded');
    expect(w.violations).toEqual([]);
  });

  it('reports the pre- and post-promotion runs in status.blueGreen while their revision is current', () => {
    const w = deployed({ prePromotionAnalysis: ANALYSIS, postPromotionAnalysis: ANALYSIS });
    w.templateHash = 'h2';
    w.run();
    expect(w.status.blueGreen?.prePromotionAnalysisRunStatus).toEqual({ name: 'web-h2--2', status: 'Running' });
    expect(w.status.blueGreen?.postPromotionAnalysisRunStatus).toBeUndefined();
    w.stepAnalysis[PRE_PROMOTION] = 'Successful';
    w.run();
    expect(w.status.blueGreen?.prePromotionAnalysisRunStatus).toEqual({ name: 'web-h2--2', status: 'Successful' });
    expect(w.status.blueGreen?.postPromotionAnalysisRunStatus).toEqual({ name: 'web-h2--3', status: 'Running' });
    w.stepAnalysis[POST_PROMOTION] = 'Successful';
    w.run();
    expect(w.status.stableRS).toBe('h2');
    expect(w.status.blueGreen).toMatchObject({ prePromotionAnalysisRunStatus: { status: 'Successful' }, postPromotionAnalysisRunStatus: { name: 'web-h2--3', status: 'Successful' } });
    w.templateHash = 'h3';
    w.reconcile();
    expect(w.status.blueGreen?.prePromotionAnalysisRunStatus).toBeUndefined(); // a new revision: h2's runs no longer apply
    expect(w.status.blueGreen?.postPromotionAnalysisRunStatus).toBeUndefined();
    expect(w.violations).toEqual([]);
  });

  it('makes the new revision stable once postPromotionAnalysis succeeds, then retires the old one after its delay', () => {
    const w = deployed({ postPromotionAnalysis: ANALYSIS, scaleDownDelaySeconds: 5 });
    w.templateHash = 'h2';
    w.run();
    w.stepAnalysis[POST_PROMOTION] = 'Successful';
    w.run(2);
    expect(w.status.stableRS).toBe('h2');
    expect(w.rsOf('h1')?.scaleDownAt).toBe(w.now - 1000 + 5_000);
    w.run();
    expect(replicasOf(w, 'h1')).toBe(0);
    expect(w.violations).toEqual([]);
  });
});

import { describe, expect, it } from '@jest/globals';
import { PAUSE_BLUE_GREEN } from './bluegreen.ts';
import { ANALYSIS, deployed, kinds, replicasOf, until } from './bluegreen-testing.ts';
import { PAUSE_INCONCLUSIVE } from './canary.ts';
import { POST_PROMOTION, PRE_PROMOTION } from './types.ts';

describe('blue-green engine', () => {
  it('sends a first deploy straight to active, both Services on it', () => {
    const w = deployed({ autoPromotionEnabled: false });
    expect(w.status.stableRS).toBe('h1');
    expect(w.status.phase).toBe('Healthy');
    expect(w.selectors).toEqual({ active: 'h1', preview: 'h1' });
    expect(w.status.blueGreen).toEqual({ activeSelector: 'h1', previewSelector: 'h1' });
    expect(w.status.pauseConditions).toBeUndefined();
    expect(w.violations).toEqual([]);
  });

  it('brings a new revision up behind the preview Service and waits until promoted (autoPromotionEnabled: false)', () => {
    const w = deployed({ autoPromotionEnabled: false });
    const mark = w.log.length;
    w.templateHash = 'h2';
    w.run();
    expect(w.selectors).toEqual({ active: 'h1', preview: 'h2' });
    expect(w.status.phase).toBe('Paused');
    expect(w.status.pauseConditions).toEqual([expect.objectContaining({ reason: PAUSE_BLUE_GREEN })]);
    expect(w.status.controllerPause).toBe(true);
    expect(w.status.conditions?.find((c) => c.type === 'Paused')).toMatchObject({ status: 'True', reason: PAUSE_BLUE_GREEN });
    expect(w.status.blueGreen).toMatchObject({ activeSelector: 'h1', previewSelector: 'h2' });
    expect(w.status.stableRS).toBe('h1');
    expect([replicasOf(w, 'h1'), replicasOf(w, 'h2')]).toEqual([4, 4]);
    w.now += 3_600_000;
    w.run(3);
    expect(w.selectors.active).toBe('h1'); // an hour later: still waiting

    w.promote();
    w.run(3);
    expect(w.selectors).toEqual({ active: 'h2', preview: 'h2' });
    expect(w.status.stableRS).toBe('h2');
    expect(w.status.phase).toBe('Healthy');
    expect(w.log.flatMap((d) => d.events).map((e) => e.reason)).toEqual(expect.arrayContaining(['RolloutPaused', 'RolloutResumed', 'ActiveServiceSwitched', 'RolloutCompleted']));
    // The previous active keeps its pods for scaleDownDelaySeconds (30 s by default): switching back needs no new pod.
    expect(replicasOf(w, 'h1')).toBe(4);
    expect(w.rsOf('h1')?.scaleDownAt).toBeDefined();
    w.run();
    expect(replicasOf(w, 'h1')).toBe(0);
    // The whole update costs these writes (besides status): few, and each one needed.
    expect(kinds(w, mark)).toEqual(['createReplicaSet', 'pin preview h2', 'pin active h2', 'markScaleDown', 'scaleReplicaSet']);
    expect(w.violations).toEqual([]);
  });

  it('switches on its own once the preview is fully available when auto-promotion is on (the default)', () => {
    const w = deployed();
    w.templateHash = 'h2';
    w.run();
    expect(w.status.stableRS).toBe('h2');
    expect(w.selectors.active).toBe('h2');
    expect(w.log.flatMap((d) => d.events).map((e) => e.reason)).not.toContain('RolloutPaused');
    // The switch came only once h2 had every pod available.
    const switchAt = w.log.findIndex((d) => d.actions.some((a) => a.kind === 'pinService' && a.role === 'active' && a.hash === 'h2'));
    expect(w.log[switchAt]?.status.availableReplicas).toBeGreaterThanOrEqual(8);
    expect(w.violations).toEqual([]);
  });

  it('promotes after autoPromotionSeconds, with a timer rather than polling', () => {
    const w = deployed({ autoPromotionSeconds: 20 });
    w.templateHash = 'h2';
    for (let i = 0; i < 6; i++) {
      w.reconcile();
      w.settle();
      w.now += 1000;
    }
    expect(w.status.pauseConditions).toEqual([expect.objectContaining({ reason: PAUSE_BLUE_GREEN })]);
    expect(w.selectors.active).toBe('h1');
    const started = Date.parse(w.status.pauseConditions?.[0]?.startTime ?? '');
    expect(w.log.some((d) => d.requeueAfterMs === 20_000)).toBe(true);
    w.now = started + 19_000;
    w.reconcile();
    expect(w.selectors.active).toBe('h1');
    w.now = started + 20_000;
    w.run(4);
    expect(w.selectors.active).toBe('h2');
    expect(w.status.stableRS).toBe('h2');
    expect(w.violations).toEqual([]);
  });

  it('ignores autoPromotionSeconds when autoPromotionEnabled is false (Argo documents it so)', () => {
    const w = deployed({ autoPromotionEnabled: false, autoPromotionSeconds: 5 });
    w.templateHash = 'h2';
    w.run();
    w.now += 60_000;
    w.run(3);
    expect(w.selectors.active).toBe('h1');
    expect(w.status.phase).toBe('Paused');
  });

  it('keeps the preview at previewReplicaCount until promoted, then scales up and switches only at full availability', () => {
    const w = deployed({ autoPromotionEnabled: false, previewReplicaCount: 1 });
    w.templateHash = 'h2';
    w.run();
    expect(replicasOf(w, 'h2')).toBe(1);
    expect(w.selectors.preview).toBe('h2');
    expect(w.status.phase).toBe('Paused');
    w.promote();
    const d = w.reconcile();
    expect(d.actions).toContainEqual({ kind: 'scaleReplicaSet', name: 'web-h2', replicas: 4 });
    expect(d.actions.some((a) => a.kind === 'pinService' && a.role === 'active')).toBe(false); // not yet available
    expect(d.status.blueGreen?.scaleUpPreviewCheckPoint).toBe(true);
    w.settle();
    w.run(4);
    expect(w.selectors.active).toBe('h2');
    expect(w.status.blueGreen?.scaleUpPreviewCheckPoint).toBeUndefined();
    expect(w.violations).toEqual([]);
  });

  it('never makes a revision whose pods never become Ready active; the progress deadline marks it Degraded', () => {
    const w = deployed({}, { brokenHashes: new Set(['h2']), progressDeadlineSeconds: 30 });
    w.templateHash = 'h2';
    for (let i = 0; i < 10; i++) {
      w.reconcile();
      w.settle();
      w.now += 5000;
    }
    expect(w.selectors).toEqual({ active: 'h1', preview: 'h1' });
    expect(w.status.phase).toBe('Degraded');
    expect(w.status.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    expect(w.violations).toEqual([]);
  });

  it('aborts a never-Ready revision with progressDeadlineAbort and scales it down', () => {
    const w = deployed({ abortScaleDownDelaySeconds: 2 }, { brokenHashes: new Set(['h2']), progressDeadlineSeconds: 10, progressDeadlineAbort: true });
    w.templateHash = 'h2';
    w.run(30);
    expect(w.status.abort).toBe(true);
    expect(replicasOf(w, 'h2')).toBe(0);
    expect(w.selectors.active).toBe('h1');
    expect(w.violations).toEqual([]);
  });

  it('retries after an abort: the pre-promotion analysis runs again from scratch', () => {
    const w = deployed({ prePromotionAnalysis: ANALYSIS, abortScaleDownDelaySeconds: 1 });
    w.templateHash = 'h2';
    w.run();
    w.stepAnalysis[PRE_PROMOTION] = 'Failed';
    w.run();
    expect(replicasOf(w, 'h2')).toBe(0);
    w.status.abort = false; // Argo's `retry`
    const d = w.reconcile();
    expect(d.actions).toContainEqual({ kind: 'deleteAnalysisRun', stepIndex: PRE_PROMOTION });
    expect(d.status.abort).not.toBe(true); // the deleted Failed run decides nothing
    expect(d.events.map((e) => e.reason)).toContain('RolloutRetry');
    w.settle();
    w.run();
    expect(w.stepAnalysis[PRE_PROMOTION]).toBe('Running');
    expect(w.selectors).toEqual({ active: 'h1', preview: 'h2' });
    expect(w.status.phase).not.toBe('Degraded');
    expect(w.violations).toEqual([]);
  });

  it('retries within abortScaleDownDelaySeconds: the failed run goes and its successor starts in the same pass, no timer', () => {
    const w = deployed({ prePromotionAnalysis: ANALYSIS });
    w.templateHash = 'h2';
    w.run();
    w.stepAnalysis[PRE_PROMOTION] = 'Failed';
    w.reconcile();
    w.settle();
    w.status.abort = false; // `retry`: the preview still has its pods
    const d = w.reconcile();
    expect(d.actions.filter((a) => a.kind === 'deleteAnalysisRun' || a.kind === 'createAnalysisRun').map((a) => a.kind)).toEqual(['deleteAnalysisRun', 'createAnalysisRun']);
    expect(d.requeueAfterMs).toBeUndefined();
    expect(w.stepAnalysis[PRE_PROMOTION]).toBe('Running');
    expect(w.violations).toEqual([]);
  });

  it('measures afresh when the template returns to a superseded revision: its ended runs pass nothing', () => {
    const w = deployed({ prePromotionAnalysis: ANALYSIS, scaleDownDelaySeconds: 600 });
    w.templateHash = 'h2';
    w.run();
    expect(w.stepAnalysis[PRE_PROMOTION]).toBe('Running');
    w.templateHash = 'h3'; // h2's run is ended (terminated: it reads Successful)
    w.run();
    expect(w.runs.get('h2')?.[PRE_PROMOTION]).toBe('Successful');
    w.templateHash = 'h2'; // and back, within h2's scale-down delay
    const mark = w.log.length;
    w.run();
    expect(w.log[mark]?.actions).toContainEqual({ kind: 'deleteAnalysisRun', stepIndex: PRE_PROMOTION });
    expect(w.stepAnalysis[PRE_PROMOTION]).toBe('Running'); // a new run
    expect(w.selectors.active).toBe('h1');
    w.stepAnalysis[PRE_PROMOTION] = 'Successful';
    w.run();
    expect(w.selectors.active).toBe('h2');
    expect(w.violations).toEqual([]);
  });

  it('moves the preview Service off a revision before previewReplicaCount 0 takes its pods (a retry)', () => {
    const w = deployed({ previewReplicaCount: 0 }, { replicas: 1 });
    w.templateHash = 'h2';
    w.reconcile();
    w.settle();
    w.reconcile(); // 0 pods to preview, nothing to check or wait for: scaled up for the switch
    w.settle();
    w.status.abort = true; // before the switch is decided: the preview is on h2
    w.reconcile();
    w.settle();
    w.status.abort = false;
    w.run();
    expect(w.violations).toEqual([]);
    expect(w.selectors.active).toBe('h2');
  });

  it('keeps a retried revision behind the preview Service with previewReplicaCount 0: no flip, and the switch comes', () => {
    const w = deployed({ previewReplicaCount: 0 });
    w.templateHash = 'h2';
    until(w, () => w.selectors.preview === 'h2'); // scaled up for the switch; one pod up so far
    expect(w.selectors.active).toBe('h1');
    w.status.abort = true; // the abort keeps the new pods for abortScaleDownDelaySeconds
    w.reconcile();
    w.settle();
    w.status.abort = false; // `retry`, within that delay
    const mark = w.log.length;
    w.run();
    expect(kinds(w, mark).filter((k) => k.startsWith('pin preview'))).toEqual([]);
    expect(w.selectors).toEqual({ active: 'h2', preview: 'h2' });
    w.quiesce();
    expect(w.violations).toEqual([]);
  });

  it('rolls back instantly onto a ReplicaSet within its scale-down delay: previewReplicaCount does not cut its pods', () => {
    const w = deployed({ previewReplicaCount: 1, scaleDownDelaySeconds: 600 });
    w.templateHash = 'h2';
    until(w, () => w.rsOf('h1')?.scaleDownAt !== undefined);
    expect(w.status.stableRS).toBe('h2');
    expect(replicasOf(w, 'h1')).toBe(4);
    w.templateHash = 'h1'; // the rollback, within the delay
    const mark = w.log.length;
    w.reconcile();
    expect(kinds(w, mark)).toEqual(['setRevision', 'unmarkScaleDown', 'pin preview h1', 'pin active h1']); // h1 reused: revision 3
    w.settle();
    w.run();
    expect(w.log.slice(mark).flatMap((d) => d.actions).filter((a) => a.kind === 'scaleReplicaSet' && a.name === 'web-h1')).toEqual([]);
    expect(w.status.stableRS).toBe('h1');
    expect(replicasOf(w, 'h1')).toBe(4);
    expect(w.violations).toEqual([]);
  });

  it('skips the pause and both analyses on promote --full', () => {
    const w = deployed({ autoPromotionEnabled: false, prePromotionAnalysis: ANALYSIS, postPromotionAnalysis: ANALYSIS });
    w.templateHash = 'h2';
    w.run();
    expect(w.stepAnalysis[PRE_PROMOTION]).toBe('Running');
    w.status.promoteFull = true;
    w.run();
    expect(w.terminated).toEqual([PRE_PROMOTION]);
    expect(w.selectors.active).toBe('h2');
    expect(w.status.stableRS).toBe('h2');
    expect(w.status.promoteFull).toBeUndefined();
    expect(w.stepAnalysis[POST_PROMOTION]).toBeUndefined();
    expect(w.violations).toEqual([]);
  });

  it('pauses on an inconclusive pre-promotion analysis; a plain promote does not skip it, promote --full does', () => {
    const w = deployed({ prePromotionAnalysis: ANALYSIS });
    w.templateHash = 'h2';
    w.run();
    w.stepAnalysis[PRE_PROMOTION] = 'Inconclusive';
    w.run();
    expect(w.status.pauseConditions).toEqual([expect.objectContaining({ reason: PAUSE_INCONCLUSIVE })]);
    w.promote();
    w.run();
    expect(w.selectors.active).toBe('h1');
    expect(w.status.phase).toBe('Paused');
    w.status.promoteFull = true;
    w.run();
    expect(w.selectors.active).toBe('h2');
    expect(w.violations).toEqual([]);
  });

  it('holds still while spec.paused, and abort still wins', () => {
    const w = deployed();
    w.spec.paused = true;
    w.templateHash = 'h2';
    w.run();
    expect(w.selectors.active).toBe('h1');
    expect(w.status.phase).toBe('Paused');
    w.status.abort = true;
    w.run();
    expect(w.status.phase).toBe('Degraded');
    expect(w.selectors.active).toBe('h1');
  });

  it('supersedes a revision waiting in preview with a newer one, retiring the older preview', () => {
    const w = deployed({ autoPromotionEnabled: false, scaleDownDelaySeconds: 3 });
    w.templateHash = 'h2';
    w.run();
    w.templateHash = 'h3';
    w.run();
    expect(w.selectors).toEqual({ active: 'h1', preview: 'h3' });
    expect(replicasOf(w, 'h2')).toBe(0);
    expect(w.status.pauseConditions).toEqual([expect.objectContaining({ reason: PAUSE_BLUE_GREEN })]);
    w.promote();
    w.run();
    expect(w.selectors.active).toBe('h3');
    expect(w.violations).toEqual([]);
  });

  it('clears an abort when the template moves to another revision: a warm one switches in as any new revision would', () => {
    // Found by the property below: the abort belonged to h3; the template's move back to h2 starts h2's own update.
    const w = deployed({ scaleDownDelaySeconds: 30 });
    w.templateHash = 'h2';
    w.reconcile();
    w.settle();
    w.templateHash = 'h3';
    w.run(3);
    w.status.abort = true;
    w.reconcile();
    w.settle();
    expect(w.status.abort).toBe(true);
    expect(w.selectors.active).toBe('h1');
    w.templateHash = 'h2';
    w.run();
    expect(w.status.abort).toBeUndefined();
    expect(w.selectors.active).toBe('h2');
    expect(w.violations).toEqual([]);
  });

  it('goes back without a switch when the template returns to the stable revision', () => {
    const w = deployed({ autoPromotionEnabled: false });
    w.templateHash = 'h2';
    w.run();
    w.templateHash = 'h1';
    w.run();
    expect(w.selectors).toEqual({ active: 'h1', preview: 'h1' });
    expect(w.status.phase).toBe('Healthy');
    expect(w.status.pauseConditions).toBeUndefined();
    expect(replicasOf(w, 'h2')).toBe(0);
    expect(w.violations).toEqual([]);
  });

});

import { describe, expect, it } from '@jest/globals';
import type { CanaryStep } from '../../api/rollout/schema.ts';
import { decideCanary, PAUSE_STEP } from './canary.ts';
import { deployed, newRevision, STEPS } from './canary-testing.ts';

describe('canary engine', () => {
  it('sends a first deploy straight to stable, both Services on it', () => {
    const w = deployed();
    expect(w.status.stableRS).toBe('h1');
    expect(w.status.phase).toBe('Healthy');
    expect(w.selectors).toEqual({ canary: 'h1', stable: 'h1' });
    expect(w.rs).toEqual([expect.objectContaining({ hash: 'h1', replicas: 4, available: 4 })]);
    expect(w.violations).toEqual([]);
  });

  it('walks setWeight 20, a 2 s pause, setWeight 50 and waits at an indefinite pause until promoted', () => {
    const w = deployed();
    newRevision(w);
    w.run();
    expect(w.status.currentStepIndex).toBe(3);
    expect(w.status.phase).toBe('Paused');
    expect(w.status.pauseConditions).toEqual([expect.objectContaining({ reason: PAUSE_STEP })]);
    expect(w.status.controllerPause).toBe(true);
    expect(w.routerWeight).toBe(50);
    expect(w.status.canary?.weights?.canary).toMatchObject({ weight: 50, podTemplateHash: 'h2', serviceName: 'web-canary' });
    expect(w.status.canary?.weights?.stable).toMatchObject({ weight: 50, podTemplateHash: 'h1' });
    expect(w.rs.find((r) => r.hash === 'h2')?.replicas).toBe(2); // ceil(4 × 50%)
    expect(w.rs.find((r) => r.hash === 'h1')?.replicas).toBe(4); // a routed canary keeps the stable whole
    // The weights the router saw, in order: 20 then 50, never more.
    const weights = w.log.flatMap((d) => d.actions.filter((a) => a.kind === 'setWeight').map((a) => (a.kind === 'setWeight' ? a.weight : -1)));
    expect(weights).toEqual([20, 50]);
    // The 2 s pause really waited: the engine asked for a timer of 2 s.
    expect(w.log.some((d) => d.requeueAfterMs === 2000)).toBe(true);

    // Promote, as Argo's plugin does: clear pauseConditions.
    delete w.status.pauseConditions;
    w.run(80);
    expect(w.status.stableRS).toBe('h2');
    expect(w.status.phase).toBe('Healthy');
    expect(w.selectors).toEqual({ canary: 'h2', stable: 'h2' });
    expect(w.routerWeight).toBe(0);
    expect(w.rs.find((r) => r.hash === 'h1')?.replicas).toBe(0); // after its 30 s delay
    expect(w.violations).toEqual([]);
  });

  it('switches the stable Service, verifies it, and only then resets the weight (no window without a backend)', () => {
    const w = deployed([{ setWeight: 50 }]);
    newRevision(w);
    w.run(80);
    const order = w.log.flatMap((d) => d.actions).filter((a) => a.kind === 'pinService' || a.kind === 'setWeight').map((a) => (a.kind === 'pinService' ? `pin ${a.role} ${a.hash}` : `weight ${a.weight}`));
    const pinStable = order.indexOf('pin stable h2');
    expect(pinStable).toBeGreaterThan(order.indexOf('weight 50'));
    expect(order.slice(pinStable + 1)).toEqual(['weight 0']);
    // The reset came in a later reconcile than the switch: the switch was observed first.
    const switchRound = w.log.findIndex((d) => d.actions.some((a) => a.kind === 'pinService' && a.role === 'stable' && a.hash === 'h2'));
    const resetRound = w.log.findIndex((d) => d.actions.some((a) => a.kind === 'setWeight' && a.weight === 0));
    expect(resetRound).toBeGreaterThan(switchRound);
    expect(w.violations).toEqual([]);
  });

  it('aborts: weight 0 at once, canary Service back on stable, routes removed, Degraded, canary scaled down after its delay', () => {
    const w = deployed();
    newRevision(w);
    w.run(6);
    expect(w.routerWeight).toBe(20);
    w.routes.add('header-route');
    w.status.abort = true;
    const d = w.reconcile();
    expect(d.actions.map((a) => a.kind)).toEqual(['setWeight', 'removeManagedRoutes', 'pinService']);
    expect(w.routerWeight).toBe(0);
    expect(w.selectors.canary).toBe('h1');
    expect(w.routes.size).toBe(0);
    expect(d.status.phase).toBe('Degraded');
    expect(d.status.message).toMatch(/^RolloutAborted/);
    expect(d.status.currentStepIndex).toBe(0);
    expect(d.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'RolloutAborted' }));
    w.settle();
    expect(w.reconcile().requeueAfterMs).toBe(30_000); // Services observed off the canary: wait out the delay
    w.now += 30_000;
    w.reconcile();
    expect(w.rs.find((r) => r.hash === 'h2')?.replicas).toBe(0);
    expect(w.violations).toEqual([]);
  });

  it('lets abort win over a promote sent at the same time', () => {
    const w = deployed();
    newRevision(w);
    w.run(6);
    w.status.abort = true;
    w.status.promoteFull = true;
    delete w.status.pauseConditions;
    const d = w.reconcile();
    expect(d.status.stableRS).toBe('h1');
    expect(d.status.currentStepIndex).toBe(0);
    expect(w.routerWeight).toBe(0);
  });

  it('retries from step 0 after an abort', () => {
    const w = deployed();
    newRevision(w);
    w.run(6);
    w.status.abort = true;
    w.run(3);
    w.status.abort = false; // Argo's `retry` patch, nothing more
    w.run(6);
    expect(w.status.phase).not.toBe('Degraded');
    expect(w.routerWeight).toBe(20);
    expect(w.status.currentStepIndex).toBeGreaterThanOrEqual(1);
    expect(w.violations).toEqual([]);
  });

  it('skips the remaining steps on a full promote', () => {
    const w = deployed();
    newRevision(w);
    w.run(6);
    w.status.promoteFull = true;
    w.run(80);
    expect(w.status.stableRS).toBe('h2');
    expect(w.status.promoteFull).toBeUndefined();
    expect(w.log.flatMap((d) => d.actions).filter((a) => a.kind === 'setWeight' && a.weight === 50)).toHaveLength(0);
    expect(w.violations).toEqual([]);
  });

  it('aborts a canary whose pods never become ready when the progress deadline passes', () => {
    const w = deployed(STEPS, { brokenHashes: new Set(['h2']), progressDeadlineSeconds: 60, progressDeadlineAbort: true });
    newRevision(w);
    for (let i = 0; i < 5; i++) {
      w.reconcile();
      w.settle();
      w.now += 1000;
    }
    expect(w.status.abort).toBeUndefined();
    expect(w.routerWeight).toBe(0); // never any traffic to pods that are not ready
    expect(w.selectors.canary).toBe('h1');
    const timer = w.log.at(-1)?.requeueAfterMs;
    expect(timer).toBeDefined(); // the deadline is a timer, not a poll
    w.now += 61_000;
    w.run(3);
    expect(w.status.abort).toBe(true);
    expect(w.status.phase).toBe('Degraded');
    expect(w.status.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    expect(w.violations).toEqual([]);
  });

  it('restarts at step 0 for a new template mid-rollout, taking traffic off the old canary first', () => {
    const w = deployed();
    newRevision(w, 'h2');
    w.run(10);
    expect(w.routerWeight).toBe(50);
    newRevision(w, 'h3');
    const d = w.reconcile();
    expect(d.status.currentStepIndex).toBe(0);
    w.settle();
    w.run(6);
    expect(w.selectors.canary).toBe('h3');
    expect(w.routerWeight).toBe(20);
    expect(w.violations).toEqual([]);
  });

  it('skips the steps when the template goes back to the stable revision', () => {
    const w = deployed();
    newRevision(w, 'h2');
    w.run(6);
    newRevision(w, 'h1');
    w.run(40);
    expect(w.status.currentStepIndex).toBe(STEPS.length);
    expect(w.status.stableRS).toBe('h1');
    expect(w.routerWeight).toBe(0);
    expect(w.selectors.canary).toBe('h1');
    expect(w.rs.find((r) => r.hash === 'h2')?.replicas).toBe(0);
    expect(w.status.phase).toBe('Healthy');
    expect(w.violations).toEqual([]);
  });

  it('approximates the weight with replica counts without traffic routing, never dipping below capacity', () => {
    const w = deployed([{ setWeight: 25 }, { pause: {} }], { routed: false, replicas: 4 });
    newRevision(w);
    w.run(10);
    expect(w.rs.find((r) => r.hash === 'h2')?.replicas).toBe(1);
    expect(w.rs.find((r) => r.hash === 'h1')?.replicas).toBe(3);
    expect(w.status.canary?.weights?.canary?.weight).toBe(25);
    for (const d of w.log) expect((d.status.availableReplicas ?? 0) + 0).toBeGreaterThanOrEqual(0);
    delete w.status.pauseConditions;
    w.run(20);
    expect(w.status.stableRS).toBe('h2');
    expect(w.rs.find((r) => r.hash === 'h1')?.replicas).toBe(0);
  });

  it('runs an analysis step: creates the run, advances on success, aborts on failure', () => {
    const steps: CanaryStep[] = [{ setWeight: 10 }, { analysis: { templates: [{ templateName: 'success-rate' }] } }, { setWeight: 60 }];
    const ok = deployed(steps);
    newRevision(ok);
    ok.run(6);
    expect(ok.log.flatMap((d) => d.actions).filter((a) => a.kind === 'createAnalysisRun')).toHaveLength(1);
    expect(ok.status.currentStepIndex).toBe(1);
    ok.stepAnalysis[1] = 'Successful';
    ok.run(12);
    expect(ok.log.flatMap((d) => d.actions)).toContainEqual(expect.objectContaining({ kind: 'setWeight', weight: 60 }));
    expect(ok.status.stableRS).toBe('h2'); // the last step done, it promoted

    const bad = deployed(steps);
    newRevision(bad);
    bad.run(6);
    bad.stepAnalysis[1] = 'Failed';
    bad.run(3);
    expect(bad.status.abort).toBe(true);
    expect(bad.routerWeight).toBe(0);
    expect(bad.violations).toEqual([]);
  });

  it('reports the current step\'s run in status.canary while the step runs, and drops it once the step moves on', () => {
    const steps: CanaryStep[] = [{ setWeight: 10 }, { analysis: { templates: [{ templateName: 'success-rate' }] } }, { setWeight: 60 }, { pause: {} }];
    const w = deployed(steps);
    w.spec.strategy!.canary!.analysis = { templates: [{ templateName: 'error-rate' }] };
    newRevision(w);
    w.run(6);
    expect(w.status.currentStepIndex).toBe(1);
    expect(w.status.canary?.currentStepAnalysisRunStatus).toEqual({ name: 'web-h2-1', status: 'Running' });
    expect(w.status.canary?.currentBackgroundAnalysisRunStatus).toEqual({ name: 'web-h2--1', status: 'Running' });
    // A quiet world: the same observation decides the same status (nothing to write).
    const again = w.reconcile();
    expect(again.status).toEqual(w.log.at(-2)?.status);
    w.stepAnalysis[1] = 'Successful';
    w.run(12);
    expect(w.status.currentStepIndex).toBe(3);
    expect(w.status.canary?.currentStepAnalysisRunStatus).toBeUndefined(); // the step moved on (Argo clears it)
    expect(w.status.canary?.currentBackgroundAnalysisRunStatus).toEqual({ name: 'web-h2--1', status: 'Running' });
    delete w.status.pauseConditions;
    w.run(20);
    expect(w.status.stableRS).toBe('h2');
    // The revision stays current: its background run (ended at promotion, Successful) is still reported.
    expect(w.status.canary?.currentBackgroundAnalysisRunStatus).toEqual({ name: 'web-h2--1', status: 'Successful' });
    newRevision(w, 'h3');
    w.reconcile();
    expect(w.status.canary?.currentBackgroundAnalysisRunStatus).toBeUndefined(); // h2's run measured another revision
    expect(w.violations).toEqual([]);
  });

  it('keeps the failed step run (name, status, message) in the status after the abort it caused', () => {
    const steps: CanaryStep[] = [{ setWeight: 10 }, { analysis: { templates: [{ templateName: 'success-rate' }] } }, { setWeight: 60 }];
    const w = deployed(steps);
    newRevision(w);
    w.run(6);
    const d = decideCanary({
      now: w.now,
      spec: w.spec,
      status: w.status,
      templateHash: 'h2',
      stepsHash: JSON.stringify(steps),
      replicaSets: structuredClone(w.rs),
      serviceSelectors: { ...w.selectors },
      stepAnalysis: { 1: 'Failed' },
      analysisRunRefs: { 1: { name: 'web-h2-1', message: 'metric "success-rate" assessed Failed' } },
    });
    expect(d.status.abort).toBe(true);
    expect(d.status.currentStepIndex).toBe(0);
    expect(d.status.canary?.currentStepAnalysisRunStatus).toEqual({ name: 'web-h2-1', status: 'Failed', message: 'metric "success-rate" assessed Failed' });
    // Later reconciles of the aborted rollout keep it.
    const later = decideCanary({ now: w.now + 1000, spec: w.spec, status: d.status, templateHash: 'h2', stepsHash: JSON.stringify(steps), replicaSets: structuredClone(w.rs), serviceSelectors: { ...w.selectors }, stepAnalysis: {} });
    expect(later.status.canary?.currentStepAnalysisRunStatus).toEqual(d.status.canary?.currentStepAnalysisRunStatus);
  });

  it('bumps the revision of a reused ReplicaSet (a rollback) to the highest + 1, as Argo does', () => {
    const w = deployed();
    newRevision(w, 'h2');
    w.run(10);
    delete w.status.pauseConditions;
    w.run(80);
    delete w.status.pauseConditions;
    w.run(80);
    expect(w.rs.map((r) => [r.hash, r.revision])).toEqual([['h1', 1], ['h2', 2]]);
    newRevision(w, 'h1');
    const d = w.reconcile();
    expect(d.actions[0]).toEqual({ kind: 'setRevision', name: 'web-h1', revision: 3 });
    expect(w.reconcile().actions.filter((a) => a.kind === 'setRevision')).toEqual([]); // once
    expect(w.violations).toEqual([]);
  });

  it('measures afresh when the template returns to a superseded revision: its ended runs (read Successful) go', () => {
    const steps: CanaryStep[] = [{ setWeight: 10 }, { analysis: { templates: [{ templateName: 'success-rate' }] } }, { setWeight: 60 }];
    const w = deployed(steps);
    newRevision(w);
    w.run(6);
    expect(w.status.currentStepIndex).toBe(1);
    newRevision(w, 'h3'); // the shell terminates h2's run: it reads Successful from now on
    w.run(6);
    const back = decideCanary({
      now: w.now,
      spec: w.spec,
      status: w.status,
      templateHash: 'h2',
      stepsHash: JSON.stringify(steps),
      replicaSets: structuredClone(w.rs),
      serviceSelectors: { ...w.selectors },
      stepAnalysis: { 1: 'Successful' },
    });
    expect(back.actions).toContainEqual({ kind: 'deleteAnalysisRun', stepIndex: 1 });
    expect(back.status.currentStepIndex).toBe(0);
  });

  it('fast-tracks a rollback to a revision within rollbackWindow', () => {
    const w = deployed();
    w.spec.rollbackWindow = { revisions: 2 };
    newRevision(w, 'h2');
    w.run(10);
    delete w.status.pauseConditions;
    w.run(80);
    delete w.status.pauseConditions;
    w.run(80);
    expect(w.status.stableRS).toBe('h2');
    const mark = w.log.length;
    newRevision(w, 'h1'); // h1 is the previous revision: inside the window
    const d = w.reconcile();
    expect(d.status.currentStepIndex).toBe(STEPS.length);
    expect(d.events).toContainEqual(expect.objectContaining({ reason: 'RollbackFastTracked' }));
    w.settle();
    w.run(80);
    expect(w.status.stableRS).toBe('h1');
    expect(w.log.slice(mark).flatMap((x) => x.actions).filter((a) => a.kind === 'setWeight' && a.weight > 0)).toEqual([]);
    expect(w.violations).toEqual([]);
  });

  it('shrinks the stable with dynamicStableScale, keeping enough for its share, and restores it on abort', () => {
    const w = deployed([{ setWeight: 50 }, { pause: {} }], { replicas: 4 });
    w.spec.strategy!.canary!.dynamicStableScale = true;
    newRevision(w);
    w.run(12);
    expect(w.routerWeight).toBe(50);
    expect(w.rs.find((r) => r.hash === 'h1')?.replicas).toBe(2); // 50% of 4
    w.status.abort = true;
    w.run(3);
    expect(w.rs.find((r) => r.hash === 'h1')?.replicas).toBe(4);
    expect(w.violations).toEqual([]);
  });

  it('grows a replica-ratio canary within maxSurge and shrinks the stable within maxUnavailable', () => {
    const w = deployed([{ setWeight: 50 }, { pause: {} }], { routed: false, replicas: 10 });
    w.spec.strategy!.canary!.maxSurge = 2;
    w.spec.strategy!.canary!.maxUnavailable = 0;
    newRevision(w);
    const first = w.reconcile();
    expect(first.actions).toContainEqual(expect.objectContaining({ kind: 'createReplicaSet', replicas: 0 }));
    w.settle();
    const grow = w.reconcile();
    expect(grow.actions).toContainEqual({ kind: 'scaleReplicaSet', name: 'web-h2', replicas: 2 }); // 10 + 2 surge - 10 stable
    w.settle();
    w.run(20);
    expect(w.rs.find((r) => r.hash === 'h2')?.replicas).toBe(5);
    expect(w.rs.find((r) => r.hash === 'h1')?.replicas).toBe(5);
    expect(w.violations).toEqual([]);
  });

  it('runs background analysis from startingStep, terminates it at promotion, and aborts when it fails', () => {
    const steps: CanaryStep[] = [{ setWeight: 10 }, { pause: { duration: '1s' } }, { setWeight: 50 }, { pause: { duration: '1s' } }];
    const ok = deployed(steps);
    ok.spec.strategy!.canary!.analysis = { templates: [{ templateName: 'error-rate' }], startingStep: 2 };
    newRevision(ok);
    ok.reconcile();
    ok.settle();
    expect(ok.stepAnalysis[-1]).toBeUndefined(); // not before step 2
    ok.run(40);
    expect(ok.log.flatMap((d) => d.actions).filter((a) => a.kind === 'createAnalysisRun' && a.stepIndex === -1)).toHaveLength(1);
    expect(ok.status.stableRS).toBe('h2');
    expect(ok.terminated).toEqual([-1]); // no longer needed once promoted

    const bad = deployed(steps);
    bad.spec.strategy!.canary!.analysis = { templates: [{ templateName: 'error-rate' }] };
    newRevision(bad);
    bad.run(4);
    bad.stepAnalysis[-1] = 'Failed';
    bad.run(3);
    expect(bad.status.abort).toBe(true);
    expect(bad.routerWeight).toBe(0);
    expect(bad.violations).toEqual([]);
  });

  it('terminates a step analysis that a person promoted past (Argo: promote skips the current step)', () => {
    const steps: CanaryStep[] = [{ setWeight: 10 }, { analysis: { templates: [{ templateName: 't' }] } }, { setWeight: 40 }, { pause: {} }];
    const w = deployed(steps);
    newRevision(w);
    w.run(8);
    expect(w.status.currentStepIndex).toBe(1);
    w.status.currentStepIndex = 2; // the plugin's promote when no pause condition is set
    w.run(8);
    expect(w.terminated).toEqual([1]);
    expect(w.routerWeight).toBe(40);
    expect(w.violations).toEqual([]);
  });

  it('restarts pods for restartAt a batch at a time, never while a batch is still coming up', () => {
    const w = deployed([], { replicas: 8 });
    w.spec.restartAt = new Date(w.now - 1000).toISOString();
    w.restartPending = { h1: 8 };
    const batches: number[] = [];
    for (let i = 0; i < 30 && w.status.restartedAt === undefined; i++) {
      const d = w.reconcile();
      for (const a of d.actions) if (a.kind === 'restartPods') batches.push(a.count);
      w.settle();
      w.now += 1000;
    }
    expect(batches).toEqual([2, 2, 2, 2]); // maxUnavailable 25% of 8
    expect(w.status.restartedAt).toBe(w.spec.restartAt);
    expect(w.violations).toEqual([]);
  });

  it('keeps revisionHistoryLimit old ReplicaSets and deletes older ones', () => {
    const w = deployed([]);
    w.spec.revisionHistoryLimit = 1;
    for (const h of ['h2', 'h3', 'h4']) {
      newRevision(w, h);
      w.run(60);
      w.now += 60_000;
      w.run(10);
    }
    expect(w.rs.map((r) => r.hash).sort()).toEqual(['h3', 'h4']); // the stable h4 and one old revision
    expect(w.violations).toEqual([]);
  });

});

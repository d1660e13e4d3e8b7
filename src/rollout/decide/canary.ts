// The canary step engine: observed state in; actions, next status and a requeue delay out. Pure: no clock, no I/O.
// One reconcile advances at most one step; the shell performs the actions in order and writes the status last.
// decideOnce runs the stages in order; the later ones (replica targets, traffic, steps, analysis, promotion) live in
// canary-stages.ts.
import { ROLLOUT_DEFAULTS } from '../../api/rollout/schema.ts';
import { clearWait, Gates, gatePoint, recordWait } from './gates.ts';
import { routeExperiments } from './experiment-routes.ts';
import { finishDecision } from './phase.ts';
import { bumpRevision, byHashIn, newestFirst, pruneHistory, restart, scaleDownRetired, wakeups } from './replicasets.ts';
import { putRef, runRef } from './run-status.ts';
import { BACKGROUND, type Decision, type Observed, type ReplicaSetView } from './types.ts';
import { backgroundAnalysis, type CanaryCtx, hasTarget, iso, pin, pinBoth, promote, type RevisionCtx, routeTraffic, runStep, scaleReplicaSets, setWeights, type StepCtx } from './canary-stages.ts';

// The plugin, the simulator and the observer read step weights from here.
export { canaryReplicasFor, weightAt } from './weights.ts';
export { hasTarget, PAUSE_INCONCLUSIVE, PAUSE_STEP } from './canary-stages.ts';

/**
 * One reconcile. When this pass decides to abort (an analysis failed, the progress deadline passed), the abort is
 * carried out in the same reconcile: traffic leaves the canary now, not one event later.
 */
export function decideCanary(o: Observed): Decision {
  const gates = new Gates(o.spec.strategy?.canary?.webhooks, o.gates);
  const withNeeds = (d: Decision): Decision => (gates.need.size > 0 ? { ...d, needGates: [...gates.need] } : d);
  const d = decideOnce(o, gates);
  if (d.status.abort !== true || o.status.abort === true) return withNeeds(reportRuns(o, d, d.status.currentStepIndex));
  // The first pass's actions are dropped, so the weights it wrote into the status were never applied: the second pass
  // must start from the weights in force, or it would skip moving traffic off the canary.
  const again = decideOnce({ ...o, status: { ...d.status, canary: { ...d.status.canary, weights: o.status.canary?.weights } } }, gates);
  return withNeeds(reportRuns(o, { ...again, events: [...d.events, ...again.events] }, d.status.currentStepIndex));
}

/**
 * The runs in the status, as Argo reports them: the current step's run while that step is an analysis (gone once the
 * step moves on), the background run while the revision is current. `stepIndex`: the step this reconcile worked on
 * (before an abort sends the index back to 0, so the run that failed is the one reported).
 */
function reportRuns(o: Observed, d: Decision, stepIndex: number | undefined): Decision {
  const canary = o.spec.strategy?.canary;
  const aborted = d.status.abort === true;
  const onAnalysis = stepIndex !== undefined && canary?.steps?.[stepIndex]?.analysis !== undefined;
  const prev = o.status.canary;
  putRef(d.status, 'canary', 'currentStepAnalysisRunStatus', runRef(o, d.actions, stepIndex ?? 0, onAnalysis, aborted, prev?.currentStepAnalysisRunStatus));
  putRef(d.status, 'canary', 'currentBackgroundAnalysisRunStatus', runRef(o, d.actions, BACKGROUND, canary?.analysis !== undefined, aborted, prev?.currentBackgroundAnalysisRunStatus));
  return d;
}

function decideOnce(o: Observed, gates: Gates): Decision {
  const c = newContext(o, gates);
  // The gate holding the rollout is decided afresh each reconcile: every return below that does not hold clears it.
  if (c.s.gates?.waiting !== undefined) c.s.gates = clearWait(c.s.gates);
  startOver(c);
  const firstDeploy = c.s.stableRS === undefined;
  const newRS = c.byHash(c.hash);
  if (newRS === undefined) {
    c.actions.push({ kind: 'createReplicaSet', hash: c.hash, replicas: firstDeploy || c.s.stableRS === c.hash ? c.replicas : 0 });
    return finish(c);
  }
  bumpRevision(o, newRS, c.actions);
  if (firstDeploy) return deployFirst(c, newRS);

  const stableHash = c.s.stableRS ?? c.hash;
  const r: RevisionCtx = Object.assign(c, { newRS, stableHash, stableRS: c.byHash(stableHash), currentWeight: c.s.canary?.weights?.canary?.weight ?? 0, canaryIsNew: c.hash !== stableHash });
  // Abort wins over everything, promote included (DESIGN invariant 4).
  if (r.s.abort === true) return abort(r);
  retry(r);
  housekeeping(r);
  if (rollbackRequested(r)) return finish(r, 0);
  if (o.spec.paused === true) return finish(r);

  const p = position(r);
  scaleReplicaSets(p);
  if (preRolloutFailed(p)) return finish(p, 0);
  routeTraffic(p);
  runStep(p);
  p.s.currentStepIndex = Math.min(p.index, p.steps.length);
  backgroundAnalysis(p);
  promote(p);
  if (p.s.abort !== true) recordWait(p.s, o.status.gates, p.held, iso(o.now), p.events);
  if (p.held !== undefined && p.s.abort !== true) p.wake(gates.intervalMs(p.held.type));
  return finish(p);
}

function newContext(o: Observed, gates: Gates): CanaryCtx {
  const canary = o.spec.strategy?.canary ?? {};
  const { wake, next: requeue } = wakeups();
  return {
    o,
    gates,
    canary,
    steps: canary.steps ?? [],
    replicas: o.spec.replicas ?? ROLLOUT_DEFAULTS.replicas,
    routed: canary.trafficRouting !== undefined,
    hash: o.templateHash,
    byHash: byHashIn(o.replicaSets),
    s: structuredClone(o.status),
    actions: [],
    events: [],
    wake,
    requeue,
    progressed: false,
    analysisRuns: o.stepAnalysis,
    experiments: o.experiments ?? {},
  };
}

function finish(c: CanaryCtx, requeue: number | undefined = c.requeue()): Decision {
  routeExperiments(c);
  return finishDecision(c.s, c.o, c.actions, c.events, requeue, c.progressed, c.replicas);
}

/**
 * A new template or new steps start the steps again. Back to the stable revision (a rollback) or a first deploy
 * skips them: the policy that allows a skip (DESIGN invariant 5).
 */
function startOver(c: CanaryCtx): void {
  const { o, s, hash, events } = c;
  if (s.currentPodHash === hash && s.currentStepHash === o.stepsHash) return;
  const templateChanged = s.currentPodHash !== hash;
  s.currentPodHash = hash;
  s.currentStepHash = o.stepsHash;
  // rollbackWindow: going back to one of the last N revisions is a rollback too, fast-tracked like one.
  const windowN = o.spec.rollbackWindow?.revisions ?? 0;
  const recent = o.replicaSets
    .filter((r) => r.hash !== s.stableRS)
    .sort(newestFirst)
    .slice(0, windowN)
    .map((r) => r.hash);
  const fastTrack = templateChanged && s.stableRS !== undefined && s.stableRS !== hash && recent.includes(hash);
  s.currentStepIndex = s.stableRS === undefined || s.stableRS === hash || fastTrack ? c.steps.length : 0;
  if (fastTrack) events.push({ type: 'Normal', reason: 'RollbackFastTracked', message: `revision ${hash} is within the rollback window: skipping the steps` });
  delete s.pauseConditions;
  delete s.controllerPause;
  delete s.promoteFull;
  delete s.gates;
  if (templateChanged) {
    delete s.abort;
    delete s.abortedAt;
    events.push({ type: 'Normal', reason: 'RolloutUpdated', message: `revision ${hash}: ${s.currentStepIndex === 0 ? 'starting the steps' : 'no steps to run'}` });
  }
  // The steps start over: runs this revision has from before (ended when it was superseded: a terminated run reads
  // Successful) decide nothing now; they go, and the steps measure afresh.
  if (s.currentStepIndex === 0) forgetRuns(c);
  c.progressed = true;
}

function forgetRuns(c: CanaryCtx): void {
  for (const k of Object.keys(c.analysisRuns)) c.actions.push({ kind: 'deleteAnalysisRun', stepIndex: Number(k) });
  c.analysisRuns = {};
  for (const k of Object.keys(c.experiments)) c.actions.push({ kind: 'deleteExperiment', stepIndex: Number(k) });
  c.experiments = {};
}

/** First deploy: the only revision goes straight to stable, with both Services on it. */
function deployFirst(c: CanaryCtx, newRS: ReplicaSetView): Decision {
  const { o, s, hash, replicas, canary } = c;
  if (newRS.replicas !== replicas) c.actions.push({ kind: 'scaleReplicaSet', name: newRS.name, replicas });
  pinBoth(o, hash, c.actions, c.routed || hasTarget(o, 'canary') || hasTarget(o, 'stable'));
  if (newRS.available >= replicas) {
    s.stableRS = hash;
    s.currentStepIndex = c.steps.length;
    setWeights(s, 0, hash, hash, canary.canaryService, canary.stableService);
    c.events.push({ type: 'Normal', reason: 'RolloutCompleted', message: `revision ${hash} is stable` });
  }
  return finish(c);
}

/** Abort: traffic and both Services back on stable, the stable whole again, the canary scaled down after its delay. */
function abort(c: RevisionCtx): Decision {
  const { o, s, actions, canary, replicas, routed, hash, newRS, stableHash, stableRS, canaryIsNew } = c;
  const firstTime = s.abortedAt === undefined;
  s.abortedAt ??= iso(o.now);
  s.currentStepIndex = 0;
  delete s.pauseConditions;
  delete s.controllerPause;
  delete s.promoteFull;
  if (routed && c.currentWeight !== 0) actions.push({ kind: 'setWeight', weight: 0, canaryHash: hash, stableHash });
  setWeights(s, 0, hash, stableHash, canary.canaryService, canary.stableService);
  if (routed && firstTime) actions.push({ kind: 'removeManagedRoutes' });
  if (stableRS !== undefined && stableRS.replicas !== replicas) actions.push({ kind: 'scaleReplicaSet', name: stableRS.name, replicas });
  // An abort can land mid-promotion, after the stable Service moved: both Services go back to the stable revision.
  pin(o, actions, 'stable', stableHash);
  pin(o, actions, 'canary', stableHash);
  const stillRouted = o.serviceSelectors.canary === hash || o.serviceSelectors.stable === hash;
  if (canaryIsNew && newRS.replicas > 0 && !stillRouted) {
    const delayS = routed ? (canary.abortScaleDownDelaySeconds ?? ROLLOUT_DEFAULTS.abortScaleDownDelaySeconds) : 0;
    if (delayS > 0 || !routed) {
      const at = Date.parse(s.abortedAt) + delayS * 1000;
      if (o.now >= at) actions.push({ kind: 'scaleReplicaSet', name: newRS.name, replicas: 0 });
      else c.wake(at - o.now);
    }
  } else if (canaryIsNew && newRS.replicas > 0) {
    c.wake(1000); // the Services are moving off it; scale down once that is observed
  }
  for (const [k, p] of Object.entries(o.stepAnalysis)) if (p === 'Running' || p === 'Pending') actions.push({ kind: 'terminateAnalysisRun', stepIndex: Number(k) });
  for (const [k, p] of Object.entries(c.experiments)) if (p === 'Running' || p === 'Pending') actions.push({ kind: 'terminateExperiment', stepIndex: Number(k) });
  if (firstTime) c.events.push({ type: 'Warning', reason: 'RolloutAborted', message: `update to revision ${hash} aborted; traffic back on ${stableHash}` });
  return finish(c);
}

/**
 * Retry (Argo's plugin sets abort back to false): the steps start again, and so do their analyses: the runs of the
 * aborted attempt (terminated ones read as Successful) must not count for the new one.
 */
function retry(c: RevisionCtx): void {
  const { s } = c;
  if (s.abortedAt === undefined) return;
  delete s.abortedAt;
  delete s.gates; // the start gates are asked again
  s.currentStepIndex = 0;
  forgetRuns(c);
  c.progressed = true;
  c.events.push({ type: 'Normal', reason: 'RolloutRetry', message: `retrying revision ${c.hash} from step 0` });
}

/** What every pass past the abort check does, paused or not: retired ReplicaSets, revision history, restarts. */
function housekeeping(c: RevisionCtx): void {
  const { o, hash, stableHash, actions } = c;
  // Retired ReplicaSets (neither the new revision nor stable) go to zero after their deadline.
  const pinned = [o.serviceSelectors.canary, o.serviceSelectors.stable];
  scaleDownRetired(o, hash, stableHash, pinned, c.routed ? (c.canary.scaleDownDelaySeconds ?? ROLLOUT_DEFAULTS.scaleDownDelaySeconds) : 0, actions, c.wake);
  pruneHistory(o, hash, stableHash, pinned, actions);
  const restartIn = restart(o, c.s, c.replicas, actions);
  if (restartIn !== undefined) c.wake(restartIn);
}

/** A rollback hook that answers 2xx asks for an abort, at any point of the steps (Flagger's rollback webhook). */
function rollbackRequested(c: RevisionCtx): boolean {
  if (!c.canaryIsNew || !c.gates.has('rollback')) return false;
  const who = c.gates.rollbackRequested();
  if (who !== undefined) {
    c.s.abort = true;
    c.events.push({ type: 'Warning', reason: 'RollbackRequested', message: `webhook ${who} asked for a rollback: aborting` });
    return true;
  }
  c.wake(c.gates.intervalMs('rollback'));
  return false;
}

/** The step this pass works on (after a full promotion or a person's promote), and what the gates hold. */
function position(c: RevisionCtx): StepCtx {
  const { s, steps, events } = c;
  let index = s.currentStepIndex ?? 0;
  if (s.promoteFull === true && index < steps.length) {
    index = steps.length;
    delete s.pauseConditions;
    delete s.controllerPause;
    c.progressed = true;
    events.push({ type: 'Normal', reason: 'RolloutPromotedFull', message: 'promoted to the end, remaining steps skipped' });
  }
  // The pause handshake Argo's plugin relies on: we set pauseConditions and controllerPause; a person's promote
  // clears pauseConditions; seeing controllerPause without pauseConditions means "promoted": the step is done.
  if (s.controllerPause === true && (s.pauseConditions ?? []).length === 0) {
    delete s.controllerPause;
    index++;
    c.progressed = true;
    events.push({ type: 'Normal', reason: 'RolloutResumed', message: `promoted past step ${index - 1}` });
  }
  // Gates that hold the rollout before it starts, before a weight rises, before promotion (gates.ts).
  const gate = gatePoint(c.o, c.gates, index, c.currentWeight, c.byHash(c.hash)?.replicas ?? 0);
  // weight and the replica targets are set by scaleReplicaSets, appliedWeight by routeTraffic.
  return Object.assign(c, { index, gate, held: gate.held, holdSteps: gate.holdSteps, trafficCap: gate.holdSteps ? c.currentWeight : 100, weight: 0, wantCanary: 0, canaryTarget: 0, appliedWeight: 0 });
}

/** pre-rollout checks, once the confirmed canary's pods are up and before any traffic: a failure aborts. */
function preRolloutFailed(c: StepCtx): boolean {
  const { s, hash, newRS } = c;
  if (c.gate.preRollout && newRS.available >= c.wantCanary && newRS.replicas === c.canaryTarget) {
    const g = c.gates.check('pre-rollout');
    if (g.state === 'open') {
      s.gates = { ...s.gates, started: hash };
      c.holdSteps = false;
      c.trafficCap = 100;
    } else if (g.state === 'closed') {
      s.abort = true;
      c.events.push({ type: 'Warning', reason: 'PreRolloutFailed', message: `pre-rollout webhook ${g.name} failed: ${g.message}: aborting` });
      return true;
    } else c.held = g;
  } else if (c.gate.started) s.gates = { ...s.gates, started: hash };
  return false;
}

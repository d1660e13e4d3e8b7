// The canary step engine: observed state in; actions, next status and a requeue delay out. Pure: no clock, no I/O.
// One reconcile advances at most one step; the shell performs the actions in order and writes the status last.
import { parseDuration } from '../../api/common/duration.ts';
import { ROLLOUT_DEFAULTS, type CanaryStep, type RolloutStatus } from '../../api/rollout/schema.ts';
import { clearWait, Gates, gatePoint, recordWait, type GateState } from './gates.ts';
import { finishDecision as finish } from './phase.ts';
import { bumpRevision, byHashIn, newestFirst, pruneHistory, restart, scaleDownRetired, surgeAndUnavailable, wakeups } from './replicasets.ts';
import { putRef, runRef } from './run-status.ts';
import { BACKGROUND, type Action, type AnalysisRunPhase, type Decision, type EngineEvent, type Observed } from './types.ts';
import { canaryReplicasFor, weightAt } from './weights.ts';

// The plugin, the simulator and the observer read step weights from here.
export { canaryReplicasFor, weightAt } from './weights.ts';

export const PAUSE_STEP = 'CanaryPauseStep';
export const PAUSE_INCONCLUSIVE = 'InconclusiveAnalysisRun';

const iso = (ms: number): string => new Date(ms).toISOString();

/** setCanaryScale in force at step `index`, as a replica count; undefined when the weight decides. */
function canaryScaleAt(steps: readonly CanaryStep[], index: number, replicas: number): number | undefined {
  let scale: number | undefined;
  for (let i = 0; i <= Math.min(index, steps.length - 1); i++) {
    const s = steps[i]?.setCanaryScale;
    if (s === undefined) continue;
    if (s.matchTrafficWeight === true) scale = undefined;
    else if (s.replicas !== undefined) scale = s.replicas;
    else if (s.weight !== undefined) scale = Math.ceil((replicas * s.weight) / 100);
  }
  return index >= steps.length ? undefined : scale;
}

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
  const canary = o.spec.strategy?.canary ?? {};
  const steps = canary.steps ?? [];
  const replicas = o.spec.replicas ?? ROLLOUT_DEFAULTS.replicas;
  const routed = canary.trafficRouting !== undefined;
  const actions: Action[] = [];
  const events: EngineEvent[] = [];
  const s: RolloutStatus = structuredClone(o.status);
  const { wake, next: requeue } = wakeups();
  const byHash = byHashIn(o.replicaSets);
  const hash = o.templateHash;
  let progressed = false;
  let analysisRuns = o.stepAnalysis;
  // The gate holding the rollout is decided afresh each reconcile: every return below that does not hold clears it.
  if (s.gates?.waiting !== undefined) s.gates = clearWait(s.gates);

  // A new template or new steps start the steps again. Back to the stable revision (a rollback) or a first deploy
  // skips them: the policy that allows a skip (DESIGN invariant 5).
  if (s.currentPodHash !== hash || s.currentStepHash !== o.stepsHash) {
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
    s.currentStepIndex = s.stableRS === undefined || s.stableRS === hash || fastTrack ? steps.length : 0;
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
    if (s.currentStepIndex === 0) {
      for (const k of Object.keys(analysisRuns)) actions.push({ kind: 'deleteAnalysisRun', stepIndex: Number(k) });
      analysisRuns = {};
    }
    progressed = true;
  }
  const firstDeploy = s.stableRS === undefined;
  const newRS = byHash(hash);
  if (newRS === undefined) {
    actions.push({ kind: 'createReplicaSet', hash, replicas: firstDeploy || s.stableRS === hash ? replicas : 0 });
    return finish(s, o, actions, events, requeue(), progressed, replicas);
  }
  bumpRevision(o, newRS, actions);

  // First deploy: the only revision goes straight to stable, with both Services on it.
  if (firstDeploy) {
    if (newRS.replicas !== replicas) actions.push({ kind: 'scaleReplicaSet', name: newRS.name, replicas });
    pinBoth(o, hash, actions, routed || hasTarget(o, 'canary') || hasTarget(o, 'stable'));
    if (newRS.available >= replicas) {
      s.stableRS = hash;
      s.currentStepIndex = steps.length;
      setWeights(s, 0, hash, hash, canary.canaryService, canary.stableService);
      events.push({ type: 'Normal', reason: 'RolloutCompleted', message: `revision ${hash} is stable` });
    }
    return finish(s, o, actions, events, requeue(), progressed, replicas);
  }

  const stableHash = s.stableRS ?? hash;
  const stableRS = byHash(stableHash);
  const currentWeight = s.canary?.weights?.canary?.weight ?? 0;
  const canaryIsNew = hash !== stableHash;

  // Abort wins over everything, promote included (DESIGN invariant 4).
  if (s.abort === true) {
    const firstTime = s.abortedAt === undefined;
    s.abortedAt ??= iso(o.now);
    s.currentStepIndex = 0;
    delete s.pauseConditions;
    delete s.controllerPause;
    delete s.promoteFull;
    if (routed && currentWeight !== 0) actions.push({ kind: 'setWeight', weight: 0, canaryHash: hash, stableHash });
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
        else wake(at - o.now);
      }
    } else if (canaryIsNew && newRS.replicas > 0) {
      wake(1000); // the Services are moving off it; scale down once that is observed
    }
    for (const [k, p] of Object.entries(o.stepAnalysis)) if (p === 'Running' || p === 'Pending') actions.push({ kind: 'terminateAnalysisRun', stepIndex: Number(k) });
    if (firstTime) events.push({ type: 'Warning', reason: 'RolloutAborted', message: `update to revision ${hash} aborted; traffic back on ${stableHash}` });
    return finish(s, o, actions, events, requeue(), progressed, replicas);
  }

  // Retry (Argo's plugin sets abort back to false): the steps start again, and so do their analyses: the runs of the
  // aborted attempt (terminated ones read as Successful) must not count for the new one.
  if (s.abortedAt !== undefined) {
    delete s.abortedAt;
    delete s.gates; // the start gates are asked again
    s.currentStepIndex = 0;
    for (const k of Object.keys(analysisRuns)) actions.push({ kind: 'deleteAnalysisRun', stepIndex: Number(k) });
    analysisRuns = {};
    progressed = true;
    events.push({ type: 'Normal', reason: 'RolloutRetry', message: `retrying revision ${hash} from step 0` });
  }

  // Retired ReplicaSets (neither the new revision nor stable) go to zero after their deadline.
  const pinned = [o.serviceSelectors.canary, o.serviceSelectors.stable];
  scaleDownRetired(o, hash, stableHash, pinned, routed ? (canary.scaleDownDelaySeconds ?? ROLLOUT_DEFAULTS.scaleDownDelaySeconds) : 0, actions, wake);

  pruneHistory(o, hash, stableHash, pinned, actions);
  const restartIn = restart(o, s, replicas, actions);
  if (restartIn !== undefined) wake(restartIn);

  // A rollback hook that answers 2xx asks for an abort, at any point of the steps (Flagger's rollback webhook).
  if (canaryIsNew && gates.has('rollback')) {
    const who = gates.rollbackRequested();
    if (who !== undefined) {
      s.abort = true;
      events.push({ type: 'Warning', reason: 'RollbackRequested', message: `webhook ${who} asked for a rollback: aborting` });
      return finish(s, o, actions, events, 0, progressed, replicas);
    }
    wake(gates.intervalMs('rollback'));
  }

  if (o.spec.paused === true) return finish(s, o, actions, events, requeue(), progressed, replicas);

  let index = s.currentStepIndex ?? 0;
  if (s.promoteFull === true && index < steps.length) {
    index = steps.length;
    delete s.pauseConditions;
    delete s.controllerPause;
    progressed = true;
    events.push({ type: 'Normal', reason: 'RolloutPromotedFull', message: 'promoted to the end, remaining steps skipped' });
  }
  // The pause handshake Argo's plugin relies on: we set pauseConditions and controllerPause; a person's promote
  // clears pauseConditions; seeing controllerPause without pauseConditions means "promoted": the step is done.
  if (s.controllerPause === true && (s.pauseConditions ?? []).length === 0) {
    delete s.controllerPause;
    index++;
    progressed = true;
    events.push({ type: 'Normal', reason: 'RolloutResumed', message: `promoted past step ${index - 1}` });
  }

  // Gates that hold the rollout before it starts, before a weight rises, before promotion (gates.ts).
  const gate = gatePoint(o, gates, index, currentWeight, byHash(hash)?.replicas ?? 0);
  let held: Exclude<GateState, { state: 'open' }> | undefined = gate.held;
  let holdSteps = gate.holdSteps;
  let trafficCap = gate.holdSteps ? currentWeight : 100;

  // Replica counts for where we are (or where a gate holds the rollout).
  const weight = Math.min(weightAt(steps, gate.replicaIndex ?? index), 100);
  const scale = canaryScaleAt(steps, gate.replicaIndex ?? index, replicas);
  let wantCanary = canaryIsNew ? Math.min(replicas, scale ?? canaryReplicasFor(weight, replicas, routed)) : replicas;
  // setCanaryScale may ask for fewer pods than the traffic it receives; never none while it gets traffic.
  if (routed && canaryIsNew && currentWeight > 0 && o.serviceSelectors.canary === hash) wantCanary = Math.max(wantCanary, 1);
  // Mid-promotion the stable Service already serves from the new revision: it keeps every pod.
  if (canaryIsNew && o.serviceSelectors.stable === hash) wantCanary = replicas;
  let canaryTarget = wantCanary;
  const budget = surgeAndUnavailable(canary.maxSurge, canary.maxUnavailable, replicas);
  // Replica-ratio canaries: the stable gives back what the canary made available, at most maxUnavailable more...
  const ratioStable = Math.min(replicas, Math.max(replicas - wantCanary, replicas - budget.unavailable - Math.min(newRS.available, wantCanary)));
  if (!routed && canaryIsNew && stableRS !== undefined && wantCanary > newRS.replicas) {
    // ...and the canary grows within maxSurge: total pods stay at most replicas + maxSurge.
    canaryTarget = Math.min(wantCanary, Math.max(newRS.replicas, replicas + budget.surge - Math.max(stableRS.replicas, ratioStable)));
  }
  if (newRS.replicas !== canaryTarget) actions.push({ kind: 'scaleReplicaSet', name: newRS.name, replicas: canaryTarget });
  // Routed canaries keep the stable whole until promotion switches it; replica-ratio canaries trade pods all along.
  if (canaryIsNew && stableRS !== undefined && (index < steps.length || !routed)) {
    let wantStable: number;
    if (routed) {
      // dynamicStableScale: the stable shrinks as the canary takes traffic, but always keeps enough pods for the
      // stable share of the weight in force (and everything again on abort, above).
      wantStable = canary.dynamicStableScale === true ? Math.max(Math.ceil((replicas * (100 - Math.max(weight, currentWeight))) / 100), replicas - newRS.available) : replicas;
    } else {
      wantStable = ratioStable;
    }
    wantStable = Math.min(wantStable, replicas);
    if (stableRS.replicas !== wantStable) actions.push({ kind: 'scaleReplicaSet', name: stableRS.name, replicas: wantStable });
  }

  // pre-rollout checks, once the confirmed canary's pods are up and before any traffic: a failure aborts.
  if (gate.preRollout && newRS.available >= wantCanary && newRS.replicas === canaryTarget) {
    const c = gates.check('pre-rollout');
    if (c.state === 'open') {
      s.gates = { ...s.gates, started: hash };
      holdSteps = false;
      trafficCap = 100;
    } else if (c.state === 'closed') {
      s.abort = true;
      events.push({ type: 'Warning', reason: 'PreRolloutFailed', message: `pre-rollout webhook ${c.name} failed: ${c.message}: aborting` });
      return finish(s, o, actions, events, 0, progressed, replicas);
    } else held = c;
  } else if (gate.started) s.gates = { ...s.gates, started: hash };

  // Traffic: the canary Service moves to the new revision only once it has ready pods; the weight moves only once
  // the Service points there (DESIGN invariant 2). Lowering a weight is always allowed; a held gate caps it.
  let appliedWeight = currentWeight;
  if (routed && canaryIsNew && index < steps.length) {
    pin(o, actions, 'stable', stableHash);
    if (o.serviceSelectors.canary !== hash) {
      if (currentWeight > 0) {
        // Traffic still flows to an older canary: take it back to stable before the Service moves.
        actions.push({ kind: 'setWeight', weight: 0, canaryHash: o.serviceSelectors.canary ?? hash, stableHash });
        appliedWeight = 0;
      }
      if (wantCanary > 0 && newRS.replicas > 0) pin(o, actions, 'canary', hash);
    } else if (newRS.available === 0 && currentWeight > 0) {
      // The canary lost every ready pod: its traffic would fail, so it goes back to stable until pods return.
      actions.push({ kind: 'setWeight', weight: 0, canaryHash: hash, stableHash });
      appliedWeight = 0;
    } else if (Math.min(weight, trafficCap) !== currentWeight) {
      const target = Math.min(weight, trafficCap);
      const ready = newRS.available >= canaryReplicasFor(target, replicas, true) && newRS.available > 0;
      if ((target < currentWeight && newRS.available > 0) || ready) {
        actions.push({ kind: 'setWeight', weight: target, canaryHash: hash, stableHash });
        appliedWeight = target;
      }
    }
  } else if (!routed && canaryIsNew) {
    appliedWeight = Math.round((100 * Math.min(newRS.available, wantCanary)) / replicas);
  } else if (routed && !canaryIsNew) {
    // Back on the stable revision (a rollback): traffic leaves the old canary first, then its Service follows.
    if (currentWeight !== 0) {
      actions.push({ kind: 'setWeight', weight: 0, canaryHash: o.serviceSelectors.canary ?? hash, stableHash });
      appliedWeight = 0;
    }
    pinBoth(o, hash, actions, true);
  }
  setWeights(s, appliedWeight, hash, stableHash, canary.canaryService, canary.stableService);

  // The current step.
  const step = steps[index];
  if (step !== undefined && canaryIsNew && !holdSteps) {
    const podsReady = newRS.available >= wantCanary && newRS.replicas === wantCanary;
    let done = false;
    if (step.setWeight !== undefined) {
      done = podsReady && (routed ? appliedWeight === weight : true);
    } else if (step.setCanaryScale !== undefined) {
      done = podsReady;
    } else if (step.pause !== undefined) {
      const pause = (s.pauseConditions ?? []).find((p) => p.reason === PAUSE_STEP);
      if (pause === undefined) {
        s.pauseConditions = [...(s.pauseConditions ?? []), { reason: PAUSE_STEP, startTime: iso(o.now) }];
        s.controllerPause = true;
        events.push({ type: 'Normal', reason: 'RolloutPaused', message: `paused at step ${index}${step.pause.duration !== undefined ? ` for ${String(step.pause.duration)}` : ' until promoted'}` });
        if (step.pause.duration !== undefined) wake(parseDuration(step.pause.duration));
      } else if (step.pause.duration !== undefined) {
        const ends = Date.parse(pause.startTime ?? iso(o.now)) + parseDuration(step.pause.duration);
        if (o.now >= ends) {
          s.pauseConditions = (s.pauseConditions ?? []).filter((p) => p.reason !== PAUSE_STEP);
          if (s.pauseConditions.length === 0) delete s.pauseConditions;
          delete s.controllerPause;
          done = true;
        } else wake(ends - o.now);
      }
    } else if (step.setHeaderRoute !== undefined) {
      if (routed) actions.push({ kind: 'setHeaderRoute', name: step.setHeaderRoute.name, match: step.setHeaderRoute.match ?? [] });
      done = true;
    } else if (step.setMirrorRoute !== undefined) {
      if (routed) actions.push({ kind: 'setMirrorRoute', name: step.setMirrorRoute.name, percentage: step.setMirrorRoute.percentage ?? 100, match: step.setMirrorRoute.match ?? [] });
      done = true;
    } else if (step.analysis !== undefined) {
      const phase = analysisRuns[index];
      if (phase === undefined) actions.push({ kind: 'createAnalysisRun', stepIndex: index, analysis: step.analysis });
      else if (phase === 'Successful') done = true;
      else if (phase === 'Failed' || phase === 'Error') {
        s.abort = true;
        events.push({ type: 'Warning', reason: 'AnalysisRunFailed', message: `step ${index} analysis ${phase}: aborting` });
        wake(0);
      } else if (phase === 'Inconclusive' && !(s.pauseConditions ?? []).some((p) => p.reason === PAUSE_INCONCLUSIVE)) {
        s.pauseConditions = [...(s.pauseConditions ?? []), { reason: PAUSE_INCONCLUSIVE, startTime: iso(o.now) }];
        s.controllerPause = true;
        events.push({ type: 'Warning', reason: 'AnalysisRunInconclusive', message: `step ${index} analysis inconclusive: paused until promoted` });
      }
    } else {
      done = true; // a step kind this engine does not act on would be an InvalidSpec before we get here
    }
    // rollout webhooks: a check at the end of every step; a failure is a failed check and aborts.
    if (done && gates.has('rollout')) {
      const c = gates.check('rollout');
      done = c.state === 'open';
      if (c.state === 'closed') {
        s.abort = true;
        events.push({ type: 'Warning', reason: 'RolloutCheckFailed', message: `rollout webhook ${c.name} failed at step ${index}: ${c.message}: aborting` });
        wake(0);
      }
    }
    if (done) {
      index++;
      progressed = true;
      wake(0); // the next step starts at once
    }
  }
  s.currentStepIndex = Math.min(index, steps.length);

  // Background analysis runs from startingStep until the revision is promoted; it can abort or pause the rollout.
  const bg = canary.analysis;
  const running = (p: AnalysisRunPhase | undefined): boolean => p === 'Running' || p === 'Pending';
  if (bg !== undefined && canaryIsNew && s.abort !== true && index >= (bg.startingStep ?? 0)) {
    const phase = analysisRuns[BACKGROUND];
    if (phase === undefined && index < steps.length) actions.push({ kind: 'createAnalysisRun', stepIndex: BACKGROUND, analysis: bg });
    else if (phase === 'Failed' || phase === 'Error') {
      s.abort = true;
      events.push({ type: 'Warning', reason: 'AnalysisRunFailed', message: `background analysis ${phase}: aborting` });
      wake(0);
    } else if (phase === 'Inconclusive' && !(s.pauseConditions ?? []).some((p) => p.reason === PAUSE_INCONCLUSIVE)) {
      s.pauseConditions = [...(s.pauseConditions ?? []), { reason: PAUSE_INCONCLUSIVE, startTime: iso(o.now) }];
      s.controllerPause = true;
      events.push({ type: 'Warning', reason: 'AnalysisRunInconclusive', message: 'background analysis inconclusive: paused until promoted' });
    }
  }
  // A step analysis still running behind the current step was promoted past: it decides nothing any more.
  for (const [k, p] of Object.entries(analysisRuns)) {
    const i = Number(k);
    if (i !== BACKGROUND && i < index && running(p)) actions.push({ kind: 'terminateAnalysisRun', stepIndex: i });
  }

  // Promotion: new revision fully available → stable Service switched → switch verified → weight reset → stable.
  if (canaryIsNew && index >= steps.length && s.abort !== true && !holdSteps) {
    // Only on what was observed at full size, and not while this reconcile is still resizing the canary.
    if (newRS.available >= replicas && newRS.replicas === replicas && canaryTarget === replicas) {
      if (routed && hasTarget(o, 'stable') && o.serviceSelectors.stable !== hash) {
        pin(o, actions, 'stable', hash);
      } else if (routed && currentWeight !== 0) {
        actions.push({ kind: 'setWeight', weight: 0, canaryHash: hash, stableHash: hash });
        setWeights(s, 0, hash, hash, canary.canaryService, canary.stableService);
      } else {
        if (routed) pin(o, actions, 'canary', hash);
        if (routed) actions.push({ kind: 'removeManagedRoutes' }, { kind: 'finishRouting' });
        s.stableRS = hash;
        if (running(analysisRuns[BACKGROUND])) actions.push({ kind: 'terminateAnalysisRun', stepIndex: BACKGROUND });
        delete s.promoteFull;
        delete s.pauseConditions;
        delete s.controllerPause;
        setWeights(s, 0, hash, hash, canary.canaryService, canary.stableService);
        progressed = true;
        events.push({ type: 'Normal', reason: 'RolloutCompleted', message: `revision ${hash} promoted to stable` });
        wake(0); // retire the old stable on the next pass
      }
    }
  }
  if (s.abort !== true) recordWait(s, o.status.gates, held, iso(o.now), events);
  if (held !== undefined && s.abort !== true) wake(gates.intervalMs(held.type));
  return finish(s, o, actions, events, requeue(), progressed, replicas);
}

function pinBoth(o: Observed, hash: string, actions: Action[], hasServices: boolean): void {
  if (!hasServices) return;
  pin(o, actions, 'stable', hash);
  pin(o, actions, 'canary', hash);
}

/** Whether the Rollout routes this role through something we pin: a Service, or an Istio DestinationRule subset. */
export function hasTarget(o: Pick<Observed, 'spec'>, role: 'canary' | 'stable'): boolean {
  const c = o.spec.strategy?.canary;
  const dr = c?.trafficRouting?.istio?.destinationRule;
  return (role === 'canary' ? (c?.canaryService ?? dr?.canarySubsetName) : (c?.stableService ?? dr?.stableSubsetName)) !== undefined;
}

/** Points a Service at a revision, if it has that Service, is not there yet, and the revision has available pods
 * (a Service never moves onto a revision that cannot serve: DESIGN invariant 2). */
function pin(o: Observed, actions: Action[], role: 'canary' | 'stable', hash: string): void {
  if (!hasTarget(o, role) || o.serviceSelectors[role] === hash) return;
  if ((o.replicaSets.find((r) => r.hash === hash)?.available ?? 0) === 0) return;
  actions.push({ kind: 'pinService', role, hash });
}

function setWeights(s: RolloutStatus, weight: number, canaryHash: string, stableHash: string, canaryService?: string, stableService?: string): void {
  s.canary = {
    ...s.canary,
    weights: {
      canary: { weight, podTemplateHash: canaryHash, ...(canaryService !== undefined ? { serviceName: canaryService } : {}) },
      stable: { weight: 100 - weight, podTemplateHash: stableHash, ...(stableService !== undefined ? { serviceName: stableService } : {}) },
    },
  };
}

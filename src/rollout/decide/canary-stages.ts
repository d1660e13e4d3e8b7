// The canary step engine's later stages, run in this order by decideOnce (canary.ts) once the new revision has a
// ReplicaSet, a stable revision exists and the rollout is neither aborted nor paused: replica targets, traffic, the
// current step, background analysis, promotion. They share one context object: the observed state in, the status clone and the actions/events out.
import { parseDuration } from '../../api/common/duration.ts';
import type { CanaryStep, CanaryStrategy, RolloutStatus } from '../../api/rollout/schema.ts';
import type { Gates, GatePoint, GateState } from './gates.ts';
import { surgeAndUnavailable } from './replicasets.ts';
import { BACKGROUND, type Action, type AnalysisRunPhase, type EngineEvent, type Observed, type ReplicaSetView } from './types.ts';
import { canaryReplicasFor, weightAt } from './weights.ts';

export const PAUSE_STEP = 'CanaryPauseStep';
export const PAUSE_INCONCLUSIVE = 'InconclusiveAnalysisRun';
export const PAUSE_INCONCLUSIVE_EXPERIMENT = 'InconclusiveExperiment';

export const iso = (ms: number): string => new Date(ms).toISOString();

/** What every stage of one pass reads and writes. */
export interface CanaryCtx {
  readonly o: Observed;
  readonly gates: Gates;
  readonly canary: CanaryStrategy;
  readonly steps: readonly CanaryStep[];
  readonly replicas: number;
  readonly routed: boolean;
  readonly hash: string;
  readonly byHash: (h: string | undefined) => ReplicaSetView | undefined;
  /** The next status: a clone of the observed one, changed in place. */
  readonly s: RolloutStatus;
  readonly actions: Action[];
  readonly events: EngineEvent[];
  readonly wake: (ms: number) => void;
  readonly requeue: () => number | undefined;
  progressed: boolean;
  /** The runs that still count for this attempt (the observed ones, unless the steps started over). */
  analysisRuns: Record<number, AnalysisRunPhase>;
  /** The same for the experiment steps' Experiments. */
  experiments: Record<number, AnalysisRunPhase>;
}

/** Once the new revision has a ReplicaSet and a stable one exists: the two revisions and the weight in force. */
export interface RevisionCtx extends CanaryCtx {
  readonly newRS: ReplicaSetView;
  readonly stableHash: string;
  readonly stableRS: ReplicaSetView | undefined;
  readonly currentWeight: number;
  readonly canaryIsNew: boolean;
}

/** Where the steps stand this pass, what a gate holds, and the replica and traffic targets that follow. */
export interface StepCtx extends RevisionCtx {
  index: number;
  readonly gate: GatePoint;
  held: Exclude<GateState, { state: 'open' }> | undefined;
  holdSteps: boolean;
  trafficCap: number;
  weight: number;
  wantCanary: number;
  canaryTarget: number;
  appliedWeight: number;
}

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

/** Replica counts for where we are (or where a gate holds the rollout): scales the canary and the stable. */
export function scaleReplicaSets(c: StepCtx): void {
  const { o, canary, steps, replicas, routed, hash, newRS, stableRS, currentWeight, canaryIsNew } = c;
  c.weight = Math.min(weightAt(steps, c.gate.replicaIndex ?? c.index), 100);
  const scale = canaryScaleAt(steps, c.gate.replicaIndex ?? c.index, replicas);
  c.wantCanary = canaryIsNew ? Math.min(replicas, scale ?? canaryReplicasFor(c.weight, replicas, routed)) : replicas;
  // setCanaryScale may ask for fewer pods than the traffic it receives; never none while it gets traffic.
  if (routed && canaryIsNew && currentWeight > 0 && o.serviceSelectors.canary === hash) c.wantCanary = Math.max(c.wantCanary, 1);
  // Mid-promotion the stable Service already serves from the new revision: it keeps every pod.
  if (canaryIsNew && o.serviceSelectors.stable === hash) c.wantCanary = replicas;
  const wantCanary = c.wantCanary;
  c.canaryTarget = wantCanary;
  const budget = surgeAndUnavailable(canary.maxSurge, canary.maxUnavailable, replicas);
  // Replica-ratio canaries: the stable gives back what the canary made available, at most maxUnavailable more...
  const ratioStable = Math.min(replicas, Math.max(replicas - wantCanary, replicas - budget.unavailable - Math.min(newRS.available, wantCanary)));
  if (!routed && canaryIsNew && stableRS !== undefined && wantCanary > newRS.replicas) {
    // ...and the canary grows within maxSurge: total pods stay at most replicas + maxSurge.
    c.canaryTarget = Math.min(wantCanary, Math.max(newRS.replicas, replicas + budget.surge - Math.max(stableRS.replicas, ratioStable)));
  }
  if (newRS.replicas !== c.canaryTarget) c.actions.push({ kind: 'scaleReplicaSet', name: newRS.name, replicas: c.canaryTarget });
  // Routed canaries keep the stable whole until promotion switches it; replica-ratio canaries trade pods all along.
  if (canaryIsNew && stableRS !== undefined && (c.index < steps.length || !routed)) {
    let wantStable: number;
    if (routed) {
      // dynamicStableScale: the stable shrinks as the canary takes traffic, but always keeps enough pods for the
      // stable share of the weight in force (and everything again on abort, above).
      wantStable = canary.dynamicStableScale === true ? Math.max(Math.ceil((replicas * (100 - Math.max(c.weight, currentWeight))) / 100), replicas - newRS.available) : replicas;
    } else {
      wantStable = ratioStable;
    }
    wantStable = Math.min(wantStable, replicas);
    if (stableRS.replicas !== wantStable) c.actions.push({ kind: 'scaleReplicaSet', name: stableRS.name, replicas: wantStable });
  }
}

/**
 * Traffic: the canary Service moves to the new revision only once it has ready pods; the weight moves only once
 * the Service points there (DESIGN invariant 2). Lowering a weight is always allowed; a held gate caps it.
 */
export function routeTraffic(c: StepCtx): void {
  const { o, actions, replicas, routed, hash, newRS, stableHash, currentWeight, canaryIsNew, weight } = c;
  c.appliedWeight = currentWeight;
  if (routed && canaryIsNew && c.index < c.steps.length) {
    pin(o, actions, 'stable', stableHash);
    if (o.serviceSelectors.canary !== hash) {
      if (currentWeight > 0) {
        // Traffic still flows to an older canary: take it back to stable before the Service moves.
        actions.push({ kind: 'setWeight', weight: 0, canaryHash: o.serviceSelectors.canary ?? hash, stableHash });
        c.appliedWeight = 0;
      }
      if (c.wantCanary > 0 && newRS.replicas > 0) pin(o, actions, 'canary', hash);
    } else if (newRS.available === 0 && currentWeight > 0) {
      // The canary lost every ready pod: its traffic would fail, so it goes back to stable until pods return.
      actions.push({ kind: 'setWeight', weight: 0, canaryHash: hash, stableHash });
      c.appliedWeight = 0;
    } else if (Math.min(weight, c.trafficCap) !== currentWeight) {
      const target = Math.min(weight, c.trafficCap);
      const ready = newRS.available >= canaryReplicasFor(target, replicas, true) && newRS.available > 0;
      if ((target < currentWeight && newRS.available > 0) || ready) {
        actions.push({ kind: 'setWeight', weight: target, canaryHash: hash, stableHash });
        c.appliedWeight = target;
      }
    }
  } else if (!routed && canaryIsNew) {
    c.appliedWeight = Math.round((100 * Math.min(newRS.available, c.wantCanary)) / replicas);
  } else if (routed && !canaryIsNew) {
    // Back on the stable revision (a rollback): traffic leaves the old canary first, then its Service follows.
    if (currentWeight !== 0) {
      actions.push({ kind: 'setWeight', weight: 0, canaryHash: o.serviceSelectors.canary ?? hash, stableHash });
      c.appliedWeight = 0;
    }
    pinBoth(o, hash, actions, true);
  }
  setWeights(c.s, c.appliedWeight, hash, stableHash, c.canary.canaryService, c.canary.stableService);
}

/** The current step: whether it is done, then the rollout webhooks' check at its end; done moves to the next step. */
export function runStep(c: StepCtx): void {
  const step = c.steps[c.index];
  if (step === undefined || !c.canaryIsNew || c.holdSteps) return;
  let done = stepDone(c, step);
  // rollout webhooks: a check at the end of every step; a failure is a failed check and aborts.
  if (done && c.gates.has('rollout')) {
    const g = c.gates.check('rollout');
    done = g.state === 'open';
    if (g.state === 'closed') abortFor(c, 'RolloutCheckFailed', `rollout webhook ${g.name} failed at step ${c.index}: ${g.message}: aborting`);
  }
  if (done) {
    c.index++;
    c.progressed = true;
    c.wake(0); // the next step starts at once
  }
}

function stepDone(c: StepCtx, step: CanaryStep): boolean {
  const { newRS, wantCanary, routed, actions } = c;
  const podsReady = newRS.available >= wantCanary && newRS.replicas === wantCanary;
  if (step.setWeight !== undefined) return podsReady && (routed ? c.appliedWeight === c.weight : true);
  if (step.setCanaryScale !== undefined) return podsReady;
  if (step.pause !== undefined) return pauseDone(c, step.pause);
  if (step.setHeaderRoute !== undefined) {
    if (routed) actions.push({ kind: 'setHeaderRoute', name: step.setHeaderRoute.name, match: step.setHeaderRoute.match ?? [] });
    return true;
  }
  if (step.setMirrorRoute !== undefined) {
    if (routed) actions.push({ kind: 'setMirrorRoute', name: step.setMirrorRoute.name, percentage: step.setMirrorRoute.percentage ?? 100, match: step.setMirrorRoute.match ?? [] });
    return true;
  }
  if (step.analysis !== undefined) return stepAnalysisDone(c, step.analysis);
  if (step.experiment !== undefined) return stepExperimentDone(c, step.experiment);
  return true; // a step kind this engine does not act on would be an InvalidSpec before we get here
}

function pauseDone(c: StepCtx, pause: NonNullable<CanaryStep['pause']>): boolean {
  const { s, o } = c;
  const current = (s.pauseConditions ?? []).find((p) => p.reason === PAUSE_STEP);
  if (current === undefined) {
    s.pauseConditions = [...(s.pauseConditions ?? []), { reason: PAUSE_STEP, startTime: iso(o.now) }];
    s.controllerPause = true;
    c.events.push({ type: 'Normal', reason: 'RolloutPaused', message: `paused at step ${c.index}${pause.duration !== undefined ? ` for ${String(pause.duration)}` : ' until promoted'}` });
    if (pause.duration !== undefined) c.wake(parseDuration(pause.duration));
  } else if (pause.duration !== undefined) {
    const ends = Date.parse(current.startTime ?? iso(o.now)) + parseDuration(pause.duration);
    if (o.now >= ends) {
      s.pauseConditions = (s.pauseConditions ?? []).filter((p) => p.reason !== PAUSE_STEP);
      if (s.pauseConditions.length === 0) delete s.pauseConditions;
      delete s.controllerPause;
      return true;
    } else c.wake(ends - o.now);
  }
  return false;
}

function stepAnalysisDone(c: StepCtx, analysis: NonNullable<CanaryStep['analysis']>): boolean {
  const phase = c.analysisRuns[c.index];
  if (phase === undefined) c.actions.push({ kind: 'createAnalysisRun', stepIndex: c.index, analysis });
  else if (phase === 'Successful') return true;
  else if (phase === 'Failed' || phase === 'Error') abortFor(c, 'AnalysisRunFailed', `step ${c.index} analysis ${phase}: aborting`);
  else if (phase === 'Inconclusive' && !pausedInconclusive(c.s)) pauseInconclusive(c, `step ${c.index} analysis inconclusive: paused until promoted`);
  return false;
}

/** The step's Experiment: started once, passes when Successful, aborts when Failed or Error, pauses when Inconclusive. */
function stepExperimentDone(c: StepCtx, experiment: NonNullable<CanaryStep['experiment']>): boolean {
  const phase = c.experiments[c.index];
  if (phase === undefined) c.actions.push({ kind: 'createExperiment', stepIndex: c.index, experiment });
  else if (phase === 'Successful') return true;
  else if (phase === 'Failed' || phase === 'Error') abortFor(c, 'ExperimentFailed', `step ${c.index} experiment ${phase}: aborting`);
  else if (phase === 'Inconclusive' && !(c.s.pauseConditions ?? []).some((p) => p.reason === PAUSE_INCONCLUSIVE_EXPERIMENT)) {
    c.s.pauseConditions = [...(c.s.pauseConditions ?? []), { reason: PAUSE_INCONCLUSIVE_EXPERIMENT, startTime: iso(c.o.now) }];
    c.s.controllerPause = true;
    c.events.push({ type: 'Warning', reason: 'ExperimentInconclusive', message: `step ${c.index} experiment inconclusive: paused until promoted` });
  }
  return false;
}

export const running = (p: AnalysisRunPhase | undefined): boolean => p === 'Running' || p === 'Pending';
const pausedInconclusive = (s: RolloutStatus): boolean => (s.pauseConditions ?? []).some((p) => p.reason === PAUSE_INCONCLUSIVE);

function pauseInconclusive(c: CanaryCtx, message: string): void {
  c.s.pauseConditions = [...(c.s.pauseConditions ?? []), { reason: PAUSE_INCONCLUSIVE, startTime: iso(c.o.now) }];
  c.s.controllerPause = true;
  c.events.push({ type: 'Warning', reason: 'AnalysisRunInconclusive', message });
}

/** A failed analysis or check aborts: decideCanary carries the abort out in a second pass of the same reconcile. */
function abortFor(c: CanaryCtx, reason: string, message: string): void {
  c.s.abort = true;
  c.events.push({ type: 'Warning', reason, message });
  c.wake(0);
}

/** Background analysis runs from startingStep until the revision is promoted; it can abort or pause the rollout. */
export function backgroundAnalysis(c: StepCtx): void {
  const bg = c.canary.analysis;
  if (bg !== undefined && c.canaryIsNew && c.s.abort !== true && c.index >= (bg.startingStep ?? 0)) {
    const phase = c.analysisRuns[BACKGROUND];
    if (phase === undefined && c.index < c.steps.length) c.actions.push({ kind: 'createAnalysisRun', stepIndex: BACKGROUND, analysis: bg });
    else if (phase === 'Failed' || phase === 'Error') abortFor(c, 'AnalysisRunFailed', `background analysis ${phase}: aborting`);
    else if (phase === 'Inconclusive' && !pausedInconclusive(c.s)) pauseInconclusive(c, 'background analysis inconclusive: paused until promoted');
  }
  // A step analysis still running behind the current step was promoted past: it decides nothing any more.
  for (const [k, p] of Object.entries(c.analysisRuns)) {
    const i = Number(k);
    if (i !== BACKGROUND && i < c.index && running(p)) c.actions.push({ kind: 'terminateAnalysisRun', stepIndex: i });
  }
  // So does an Experiment (one without a duration runs until told), and every one once the revision is promoted.
  for (const [k, p] of Object.entries(c.experiments)) if (Number(k) < c.index && running(p)) c.actions.push({ kind: 'terminateExperiment', stepIndex: Number(k) });
}

/** Promotion: new revision fully available → stable Service switched → switch verified → weight reset → stable. */
export function promote(c: StepCtx): void {
  const { o, s, actions, canary, replicas, routed, hash, newRS } = c;
  if (!c.canaryIsNew || c.index < c.steps.length || s.abort === true || c.holdSteps) return;
  // Only on what was observed at full size, and not while this reconcile is still resizing the canary.
  if (!(newRS.available >= replicas && newRS.replicas === replicas && c.canaryTarget === replicas)) return;
  if (routed && hasTarget(o, 'stable') && o.serviceSelectors.stable !== hash) {
    pin(o, actions, 'stable', hash);
  } else if (routed && c.currentWeight !== 0) {
    actions.push({ kind: 'setWeight', weight: 0, canaryHash: hash, stableHash: hash });
    setWeights(s, 0, hash, hash, canary.canaryService, canary.stableService);
  } else {
    if (routed) pin(o, actions, 'canary', hash);
    if (routed) actions.push({ kind: 'removeManagedRoutes' }, { kind: 'finishRouting' });
    s.stableRS = hash;
    if (running(c.analysisRuns[BACKGROUND])) actions.push({ kind: 'terminateAnalysisRun', stepIndex: BACKGROUND });
    delete s.promoteFull;
    delete s.pauseConditions;
    delete s.controllerPause;
    setWeights(s, 0, hash, hash, canary.canaryService, canary.stableService);
    c.progressed = true;
    c.events.push({ type: 'Normal', reason: 'RolloutCompleted', message: `revision ${hash} promoted to stable` });
    c.wake(0); // retire the old stable on the next pass
  }
}

export function pinBoth(o: Observed, hash: string, actions: Action[], hasServices: boolean): void {
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
export function pin(o: Observed, actions: Action[], role: 'canary' | 'stable', hash: string): void {
  if (!hasTarget(o, role) || o.serviceSelectors[role] === hash) return;
  if ((o.replicaSets.find((r) => r.hash === hash)?.available ?? 0) === 0) return;
  actions.push({ kind: 'pinService', role, hash });
}

export function setWeights(s: RolloutStatus, weight: number, canaryHash: string, stableHash: string, canaryService?: string, stableService?: string): void {
  s.canary = {
    ...s.canary,
    weights: {
      canary: { weight, podTemplateHash: canaryHash, ...(canaryService !== undefined ? { serviceName: canaryService } : {}) },
      stable: { weight: 100 - weight, podTemplateHash: stableHash, ...(stableService !== undefined ? { serviceName: stableService } : {}) },
    },
  };
}

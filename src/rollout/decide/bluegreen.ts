// The blue-green engine: observed state in; actions, next status and a requeue delay out. Pure: no clock, no I/O.
// A new revision comes up beside the active one behind the preview Service, is checked (prePromotionAnalysis), waits
// for a promote (autoPromotionEnabled: false) or autoPromotionSeconds, and takes the active Service only once it is
// fully available. The previous revision stays whole until postPromotionAnalysis passes (it is still status.stableRS),
// and then for scaleDownDelaySeconds: switching the active Service back to it needs no new pod.
import { ROLLOUT_DEFAULTS, type BlueGreenStrategy, type RolloutStatus } from '../../api/rollout/schema.ts';
import { BlueGreenGates, type GateVerdict } from './bluegreen-gates.ts';
import { PAUSE_INCONCLUSIVE } from './canary.ts';
import { clearWait, Gates, recordWait, type GateState } from './gates.ts';
import { finishDecision } from './phase.ts';
import { bumpRevision, byHashIn, pruneHistory, restart, scaleDownRetired, wakeups } from './replicasets.ts';
import { putRef, runRef } from './run-status.ts';
import { POST_PROMOTION, PRE_PROMOTION, type Action, type AnalysisRunPhase, type BlueGreenObserved, type Decision, type EngineEvent, type ReplicaSetView } from './types.ts';

export const PAUSE_BLUE_GREEN = 'BlueGreenPause';

const iso = (ms: number): string => new Date(ms).toISOString();
const running = (p: AnalysisRunPhase | undefined): boolean => p === 'Running' || p === 'Pending';
const failed = (p: AnalysisRunPhase | undefined): boolean => p === 'Failed' || p === 'Error';

/** Whether the controller pauses before the switch: until promoted (autoPromotionEnabled: false), or for
 * autoPromotionSeconds. As Argo documents it, autoPromotionSeconds is ignored when autoPromotionEnabled is false. */
function pauseSeconds(bg: BlueGreenStrategy): number | 'untilPromoted' | undefined {
  if ((bg.autoPromotionEnabled ?? ROLLOUT_DEFAULTS.autoPromotionEnabled) === false) return 'untilPromoted';
  return (bg.autoPromotionSeconds ?? 0) > 0 ? bg.autoPromotionSeconds : undefined;
}

/**
 * One reconcile. When this pass decides to abort (an analysis failed, the progress deadline passed), the abort is
 * carried out in the same reconcile: the active Service goes back now, not one event later.
 */
export function decideBlueGreen(o: BlueGreenObserved): Decision {
  const gates = new Gates(o.spec.strategy?.blueGreen?.webhooks, o.gates);
  const withNeeds = (d: Decision): Decision => (gates.need.size > 0 ? { ...d, needGates: [...gates.need] } : d);
  const d = decideOnce(o, gates);
  if (d.status.abort !== true || o.status.abort === true) return withNeeds(reportRuns(o, d));
  const again = decideOnce({ ...o, status: d.status }, gates);
  return withNeeds(reportRuns(o, { ...again, events: [...d.events, ...again.events] }));
}

/** The pre- and post-promotion runs in the status, as Argo reports them: while the revision they measured is current. */
function reportRuns(o: BlueGreenObserved, d: Decision): Decision {
  const bg = o.spec.strategy?.blueGreen;
  const aborted = d.status.abort === true;
  const prev = o.status.blueGreen;
  putRef(d.status, 'blueGreen', 'prePromotionAnalysisRunStatus', runRef(o, d.actions, PRE_PROMOTION, bg?.prePromotionAnalysis !== undefined, aborted, prev?.prePromotionAnalysisRunStatus));
  putRef(d.status, 'blueGreen', 'postPromotionAnalysisRunStatus', runRef(o, d.actions, POST_PROMOTION, bg?.postPromotionAnalysis !== undefined, aborted, prev?.postPromotionAnalysisRunStatus));
  return d;
}

function decideOnce(o: BlueGreenObserved, gates: Gates): Decision {
  const bg = o.spec.strategy?.blueGreen ?? {};
  const replicas = o.spec.replicas ?? ROLLOUT_DEFAULTS.replicas;
  const previewCount = Math.min(replicas, bg.previewReplicaCount ?? replicas);
  const actions: Action[] = [];
  const events: EngineEvent[] = [];
  const s: RolloutStatus = structuredClone(o.status);
  // The gate holding the rollout is decided afresh each reconcile (gates.ts).
  if (s.gates?.waiting !== undefined) s.gates = clearWait(s.gates);
  let held: Exclude<GateState, { state: 'open' }> | undefined;
  const { wake, next: requeue } = wakeups();
  const byHash = byHashIn(o.replicaSets);
  const hash = o.templateHash;
  let progressed = false;
  let runs = o.stepAnalysis;
  // Where the Services point once this decision's actions are done (the status reports it).
  const sel = { ...o.serviceSelectors };
  const services = { active: bg.activeService, preview: bg.previewService };
  /** Available pods of a revision that this decision leaves in place (a scale-down in it counts already). */
  const serving = (h: string): number => {
    const rs = byHash(h);
    if (rs === undefined) return 0;
    let replicas = rs.replicas;
    for (const a of actions) if (a.kind === 'scaleReplicaSet' && a.name === rs.name) replicas = a.replicas;
    return Math.min(rs.available, replicas);
  };
  /** Points a Service at a revision that has at least `min` available pods (and one at least). */
  const pin = (role: 'active' | 'preview', h: string, min: number): boolean => {
    if (services[role] === undefined || sel[role] === h) return false;
    if (serving(h) < Math.max(1, min)) return false;
    actions.push({ kind: 'pinService', role, hash: h });
    sel[role] = h;
    return true;
  };
  // The active Service only ever moves onto a revision that can take all of it.
  const pinActive = (h: string): boolean => pin('active', h, replicas);
  const scale = (rs: ReplicaSetView | undefined, n: number): void => {
    if (rs !== undefined && rs.replicas !== n) actions.push({ kind: 'scaleReplicaSet', name: rs.name, replicas: n });
  };
  const end = (): Decision => {
    s.blueGreen = { ...s.blueGreen, activeSelector: sel.active, previewSelector: sel.preview };
    if (sel.active === undefined) delete s.blueGreen.activeSelector;
    if (sel.preview === undefined) delete s.blueGreen.previewSelector;
    if (s.abort !== true) recordWait(s, o.status.gates, held, iso(o.now), events);
    if (held !== undefined && s.abort !== true) wake(gates.intervalMs(held.type));
    return finishDecision(s, o, actions, events, requeue(), progressed, replicas);
  };

  if (s.currentPodHash !== hash) {
    s.currentPodHash = hash;
    delete s.pauseConditions;
    delete s.controllerPause;
    delete s.promoteFull;
    delete s.abort;
    delete s.abortedAt;
    delete s.gates; // a new revision is asked through its gates afresh
    if (s.blueGreen !== undefined) delete s.blueGreen.scaleUpPreviewCheckPoint;
    const direct = s.stableRS === undefined || s.stableRS === hash;
    // Back to a revision that was superseded: its runs were ended then (a terminated run reads Successful), so they
    // decide nothing now; they go, and its analyses measure afresh.
    if (!direct) for (const k of Object.keys(runs)) actions.push({ kind: 'deleteAnalysisRun', stepIndex: Number(k) });
    if (!direct) runs = {};
    events.push({ type: 'Normal', reason: 'RolloutUpdated', message: `revision ${hash}: ${direct ? 'straight to active' : 'coming up behind the preview Service'}` });
    progressed = true;
  }
  const firstDeploy = s.stableRS === undefined;
  const newRS = byHash(hash);
  const bgGates = new BlueGreenGates(gates, hash, s.promoteFull === true);
  /** A gate point that does not go: an abort (with its event) or a hold; true when the pass stops here. */
  const stopAt = (v: GateVerdict): boolean => {
    if (v.go) return false;
    if ('abort' in v) {
      s.abort = true;
      events.push({ type: 'Warning', reason: v.reason, message: v.abort });
      wake(0);
    } else held = v.held;
    return true;
  };
  if (newRS === undefined) {
    const direct = firstDeploy || s.stableRS === hash;
    // Unconfirmed, the new revision's ReplicaSet is created without pods.
    const confirmed = direct || !stopAt(bgGates.confirmRollout(s));
    actions.push({ kind: 'createReplicaSet', hash, replicas: direct ? replicas : confirmed ? previewCount : 0 });
    return end();
  }
  bumpRevision(o, newRS, actions);
  // This revision serves (or is about to): a scale-down deadline left from when it was retired no longer applies.
  if (newRS.scaleDownAt !== undefined) actions.push({ kind: 'unmarkScaleDown', name: newRS.name });

  // First deploy: the only revision goes straight to active (and preview) once fully available.
  if (firstDeploy) {
    scale(newRS, replicas);
    pin('preview', hash, 1);
    pinActive(hash);
    if (newRS.available >= replicas && (services.active === undefined || sel.active === hash)) {
      s.stableRS = hash;
      progressed = true;
      events.push({ type: 'Normal', reason: 'RolloutCompleted', message: `revision ${hash} is active and stable` });
    }
    return end();
  }

  const stableHash = s.stableRS ?? hash;
  const stableRS = byHash(stableHash);
  const isNew = hash !== stableHash;

  // Retired ReplicaSets (behind neither Service, neither new nor stable) go to zero after scaleDownDelaySeconds.
  const pinned = [o.serviceSelectors.active, o.serviceSelectors.preview];
  scaleDownRetired(o, hash, stableHash, pinned, bg.scaleDownDelaySeconds ?? ROLLOUT_DEFAULTS.scaleDownDelaySeconds, actions, wake);
  pruneHistory(o, hash, stableHash, pinned, actions);

  // Abort wins over everything, promote included: the active Service goes back to the stable revision (still whole),
  // and the new revision's pods stay for abortScaleDownDelaySeconds (0: kept) so its failure can be inspected.
  if (s.abort === true) {
    const firstTime = s.abortedAt === undefined;
    s.abortedAt ??= iso(o.now);
    delete s.pauseConditions;
    delete s.controllerPause;
    delete s.promoteFull;
    if (s.blueGreen !== undefined) delete s.blueGreen.scaleUpPreviewCheckPoint;
    scale(stableRS, replicas);
    pinActive(stableHash);
    if (isNew && newRS.replicas > 0) {
      const delayS = bg.abortScaleDownDelaySeconds ?? ROLLOUT_DEFAULTS.abortScaleDownDelaySeconds;
      const at = Date.parse(s.abortedAt) + delayS * 1000;
      if (delayS > 0 && o.now >= at) {
        // The preview Service leaves it first; it goes to zero once neither Service is observed on it.
        pin('preview', stableHash, 1);
        const observedOn = o.serviceSelectors.active === hash || o.serviceSelectors.preview === hash;
        if (!observedOn) scale(newRS, 0);
        else wake(1000);
      } else if (delayS > 0) wake(at - o.now);
    }
    for (const [k, p] of Object.entries(runs)) if (running(p)) actions.push({ kind: 'terminateAnalysisRun', stepIndex: Number(k) });
    if (firstTime) {
      const back = o.serviceSelectors.active === hash ? `active Service back on ${stableHash}` : `active Service stays on ${stableHash}`;
      events.push({ type: 'Warning', reason: 'RolloutAborted', message: `update to revision ${hash} aborted; ${back}` });
    }
    return end();
  }

  // Retry (Argo's plugin sets abort back to false): the revision starts over, and so do its analyses. Their new runs
  // reuse the names and may be created in this same pass: the shell no longer counts a run it deleted, even while a
  // cache still holds it.
  if (s.abortedAt !== undefined) {
    delete s.abortedAt;
    delete s.gates; // the start gates are asked again
    for (const k of Object.keys(runs)) actions.push({ kind: 'deleteAnalysisRun', stepIndex: Number(k) });
    runs = {};
    progressed = true;
    events.push({ type: 'Normal', reason: 'RolloutRetry', message: `retrying revision ${hash}` });
  }

  const restartIn = restart(o, s, replicas, actions);
  if (restartIn !== undefined) wake(restartIn);
  if (o.spec.paused === true) return end();

  // Back on the stable revision (a rollback before the switch, or nothing to do): both Services on it.
  if (!isNew) {
    scale(newRS, replicas);
    pinActive(hash);
    pin('preview', hash, 1);
    delete s.pauseConditions;
    delete s.controllerPause;
    return end();
  }

  // A rollback hook may ask for an abort at any time before the new revision is stable.
  if (bgGates.rollback(s, events, wake)) return end();

  // The stable revision stays whole until the new one is stable: it is where an abort goes back to.
  scale(stableRS, replicas);
  const full = s.promoteFull === true;
  const wasPaused = (o.status.conditions ?? []).some((c) => c.type === 'Paused' && c.status === 'True');
  if (full) {
    for (const k of [PRE_PROMOTION, POST_PROMOTION]) if (running(runs[k])) actions.push({ kind: 'terminateAnalysisRun', stepIndex: k });
    delete s.pauseConditions;
  }
  const pauseFor = (reason: string, message: string): void => {
    if ((s.pauseConditions ?? []).some((p) => p.reason === reason)) return;
    s.pauseConditions = [...(s.pauseConditions ?? []), { reason, startTime: iso(o.now) }];
    s.controllerPause = true;
    events.push({ type: reason === PAUSE_INCONCLUSIVE ? 'Warning' : 'Normal', reason: reason === PAUSE_INCONCLUSIVE ? 'AnalysisRunInconclusive' : 'RolloutPaused', message });
  };
  const unpause = (reason: string): void => {
    s.pauseConditions = (s.pauseConditions ?? []).filter((p) => p.reason !== reason);
    if (s.pauseConditions.length === 0) delete s.pauseConditions;
  };

  if (o.serviceSelectors.active !== hash) {
    if (stopAt(bgGates.confirmRollout(s))) return end();
    // Before the switch: the new revision comes up behind the preview Service at previewReplicaCount. That count is a
    // floor, never a cut: a warm ReplicaSet (a rollback within its scale-down delay, a retry before the abort took its
    // pods) keeps the pods it has, so going back to it is instant.
    const scaledUp = full || s.blueGreen?.scaleUpPreviewCheckPoint === true;
    let want = scaledUp ? replicas : Math.max(previewCount, Math.min(newRS.replicas, replicas));
    if (want > 0) {
      scale(newRS, want);
      pin('preview', hash, 1);
    } else if (sel.preview === hash) {
      // previewReplicaCount 0 and no pod asked for: the preview Service leaves pods that are going (and stays off).
      pin('preview', stableHash, 1);
    }
    const previewReady = newRS.replicas === want && newRS.available >= want;
    const previewOn = services.preview === undefined || sel.preview === hash || want === 0;
    if (stopAt(bgGates.preRollout(s, previewReady && previewOn))) return end();

    const pre = runs[PRE_PROMOTION];
    const preDone = bg.prePromotionAnalysis === undefined || full || pre === 'Successful';
    if (!preDone) {
      // The run starts once the preview serves the new revision at its size; its verdict counts whenever it comes.
      if (pre === undefined) {
        if (previewReady && previewOn) actions.push({ kind: 'createAnalysisRun', stepIndex: PRE_PROMOTION, analysis: bg.prePromotionAnalysis ?? {} });
      } else if (failed(pre)) {
        s.abort = true;
        events.push({ type: 'Warning', reason: 'AnalysisRunFailed', message: `pre-promotion analysis ${pre}: aborting; the active Service stays on ${stableHash}` });
        wake(0);
      } else if (pre === 'Inconclusive') {
        // Argo's rule: only a Successful pre-promotion analysis lets the switch happen; a person decides with
        // promote --full (switch anyway) or abort.
        pauseFor(PAUSE_INCONCLUSIVE, 'pre-promotion analysis inconclusive: paused; promote --full switches anyway, abort goes back');
      }
    }

    // rollout checks while the checked revision waits for the switch; a failure aborts.
    if (preDone && stopAt(bgGates.rolloutChecks()) && s.abort === true) return end();
    const checked = preDone && held === undefined;

    // The pause before the switch (after a successful pre-promotion analysis, as Argo orders them).
    const pause = pauseSeconds(bg);
    let pauseDone = pause === undefined || full;
    if (pauseDone) unpause(PAUSE_BLUE_GREEN); // the spec no longer asks for it
    if (!pauseDone && checked && previewReady) {
      const cond = (s.pauseConditions ?? []).find((p) => p.reason === PAUSE_BLUE_GREEN);
      if (cond !== undefined) {
        if (typeof pause === 'number') {
          const ends = Date.parse(cond.startTime ?? iso(o.now)) + pause * 1000;
          if (o.now >= ends) {
            unpause(PAUSE_BLUE_GREEN); // controllerPause stays: "the pause happened and ended"
            pauseDone = true;
            events.push({ type: 'Normal', reason: 'RolloutResumed', message: `promoted automatically after autoPromotionSeconds (${pause}s)` });
          } else wake(ends - o.now);
        }
      } else if (s.controllerPause === true) {
        // The pause handshake Argo's plugin relies on: we paused (controllerPause) and a person's promote cleared
        // pauseConditions.
        pauseDone = true;
        if (wasPaused) events.push({ type: 'Normal', reason: 'RolloutResumed', message: `promoted: revision ${hash} takes the active Service once fully available` });
      } else {
        const how = pause === 'untilPromoted' ? 'until promoted' : `for ${String(pause)}s (autoPromotionSeconds)`;
        pauseFor(PAUSE_BLUE_GREEN, `revision ${hash} is up behind the preview Service; paused ${how}`);
        if (typeof pause === 'number') wake(pause * 1000);
      }
    }

    // previewReplicaCount: once checked and promoted, the new revision grows to full size before it takes traffic.
    if (!scaledUp && checked && pauseDone && previewReady && want < replicas) {
      s.blueGreen = { ...s.blueGreen, scaleUpPreviewCheckPoint: true };
      want = replicas;
      scale(newRS, want);
    }

    // The switch: only onto a revision with every pod available, and only once checked, promoted and confirmed.
    const saturated = want === replicas && newRS.replicas === replicas && newRS.available >= replicas;
    if (s.abort !== true && checked && pauseDone && saturated && !stopAt(bgGates.confirmPromotion()) && pinActive(hash)) {
      progressed = true;
      events.push({ type: 'Normal', reason: 'ActiveServiceSwitched', message: `active Service ${services.active ?? ''} switched from ${o.serviceSelectors.active ?? 'none'} to revision ${hash}${full ? ' (promoted fully: pause and analysis skipped)' : ''}` });
    }
    return end();
  }

  // After the switch: the new revision serves; postPromotionAnalysis decides whether it stays.
  scale(newRS, replicas);
  pin('preview', hash, 1);
  unpause(PAUSE_BLUE_GREEN);
  const post = runs[POST_PROMOTION];
  const postDone = bg.postPromotionAnalysis === undefined || full || post === 'Successful';
  if (!postDone) {
    if (post === undefined) {
      actions.push({ kind: 'createAnalysisRun', stepIndex: POST_PROMOTION, analysis: bg.postPromotionAnalysis ?? {} });
    } else if (failed(post)) {
      s.abort = true;
      events.push({ type: 'Warning', reason: 'AnalysisRunFailed', message: `post-promotion analysis ${post}: aborting; the active Service goes back to ${stableHash}` });
      wake(0);
    } else if (post === 'Inconclusive') {
      pauseFor(PAUSE_INCONCLUSIVE, 'post-promotion analysis inconclusive: paused; promote --full keeps the new revision, abort goes back');
    }
    return end();
  }
  s.stableRS = hash;
  delete s.pauseConditions;
  delete s.controllerPause;
  delete s.promoteFull;
  if (s.blueGreen !== undefined) delete s.blueGreen.scaleUpPreviewCheckPoint;
  progressed = true;
  events.push({ type: 'Normal', reason: 'RolloutCompleted', message: `revision ${hash} promoted to stable` });
  wake(0); // retire the previous stable on the next pass
  return end();
}

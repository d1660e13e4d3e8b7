// Status conditions and phase, computed from the next status. Pure.
import { ROLLOUT_DEFAULTS, type RolloutPhase, type RolloutSpec, type RolloutStatus } from '../../api/rollout/schema.ts';
import type { Condition } from '../../api/common/meta.ts';
import { waitingText } from './gates.ts';
import type { Action, Decision, EngineEvent, ObservedBase, ReplicaSetView } from './types.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

function put(conds: Condition[], c: Condition): Condition[] {
  const i = conds.findIndex((x) => x.type === c.type);
  if (i < 0) return [...conds, c];
  const copy = [...conds];
  copy[i] = c;
  return copy;
}

/** A condition whose status/reason/message did not change keeps its timestamps (no churn, no extra writes). */
function same(prev: Condition | undefined, status: Condition['status'], reason: string, message: string): boolean {
  return prev !== undefined && prev.status === status && prev.reason === reason && prev.message === message;
}

export interface ProgressVerdict {
  conditions: Condition[];
  timedOut: boolean;
  abort: boolean;
  message: string;
  /** When the deadline would pass if nothing happens: a timer, so it is evaluated even on a quiet cluster. */
  checkInMs?: number;
}

/**
 * The Progressing condition doubles as the progress clock: lastUpdateTime moves whenever the rollout made progress
 * (a new revision, a step, more pods available). While the rollout waits for pods (not paused, not aborted) and
 * that clock is older than progressDeadlineSeconds, the deadline is exceeded (DESIGN invariant 4: evaluated on
 * every reconcile, whatever a router says).
 */
export function progressing(s: RolloutStatus, o: ObservedBase, progressed: boolean, newRS: ReplicaSetView | undefined, replicas: number): ProgressVerdict {
  let conds = [...(s.conditions ?? [])];
  const prev = conds.find((c) => c.type === 'Progressing');
  const now = iso(o.now);
  const deadlineMs = (o.spec.progressDeadlineSeconds ?? ROLLOUT_DEFAULTS.progressDeadlineSeconds) * 1000;
  // A held webhook gate waits on a person or a system, like a pause: no progress deadline runs meanwhile.
  const gate = s.gates?.waiting;
  const paused = o.spec.paused === true || (s.pauseConditions ?? []).length > 0 || gate !== undefined;
  const complete = s.stableRS === s.currentPodHash && (newRS?.available ?? 0) >= replicas;
  const moved = progressed || s.availableReplicas !== o.status.availableReplicas || s.updatedReplicas !== o.status.updatedReplicas;

  let status: Condition['status'] = 'True';
  let reason = complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated';
  let message = complete ? `revision ${s.currentPodHash ?? ''} is available` : `revision ${s.currentPodHash ?? ''} is progressing`;
  let timedOut = false;
  let abort = false;
  let checkInMs: number | undefined;

  const lastProgress = moved || prev?.lastUpdateTime === undefined ? o.now : Date.parse(prev.lastUpdateTime);
  const waitingForPods = !complete && !paused && s.abort !== true && (newRS === undefined || newRS.available < newRS.replicas);
  if (s.abort === true) {
    status = 'False';
    reason = prev?.reason === 'ProgressDeadlineExceeded' ? 'ProgressDeadlineExceeded' : 'RolloutAborted';
    message = reason === 'RolloutAborted' ? `update to revision ${s.currentPodHash ?? ''} aborted` : (prev?.message ?? 'progress deadline exceeded');
  } else if (waitingForPods) {
    const due = lastProgress + deadlineMs;
    if (o.now > due) {
      status = 'False';
      reason = 'ProgressDeadlineExceeded';
      message = `revision ${s.currentPodHash ?? ''} made no progress for ${deadlineMs / 1000}s`;
      timedOut = true;
      abort = o.spec.progressDeadlineAbort === true;
    } else checkInMs = due - o.now + 1;
  } else if (paused) {
    reason = 'RolloutPaused';
    message = 'rollout is paused';
  }
  if (!same(prev, status, reason, message) || moved) {
    conds = put(conds, {
      type: 'Progressing',
      status,
      reason,
      message,
      lastTransitionTime: prev !== undefined && prev.status === status ? prev.lastTransitionTime : now,
      lastUpdateTime: moved || prev === undefined ? now : prev.lastUpdateTime,
    });
  }
  const pausedStatus: Condition['status'] = paused ? 'True' : 'False';
  const prevPaused = conds.find((c) => c.type === 'Paused');
  const pausedReason = paused ? ((s.pauseConditions ?? [])[0]?.reason ?? (gate !== undefined && o.spec.paused !== true ? 'WaitingForGate' : 'PausedByUser')) : 'RolloutResumed';
  const pausedMessage = pausedReason === 'WaitingForGate' && gate !== undefined ? waitingText(gate) : pausedReason;
  if (prevPaused === undefined ? paused : !same(prevPaused, pausedStatus, pausedReason, pausedMessage)) {
    conds = put(conds, { type: 'Paused', status: pausedStatus, reason: pausedReason, message: pausedMessage, lastTransitionTime: now, lastUpdateTime: now });
  }
  const completedStatus: Condition['status'] = complete ? 'True' : 'False';
  const prevCompleted = conds.find((c) => c.type === 'Completed');
  if (prevCompleted?.status !== completedStatus) {
    conds = put(conds, { type: 'Completed', status: completedStatus, reason: complete ? 'RolloutCompleted' : 'RolloutProgressing', lastTransitionTime: now, lastUpdateTime: now });
  }
  return { conditions: conds, timedOut, abort, message, checkInMs };
}

/** Argo Rollouts' phase rules, in their priority order. */
export function rolloutPhase(s: RolloutStatus, spec: RolloutSpec, replicas: number): { phase: RolloutPhase; message: string } {
  const invalid = (s.conditions ?? []).find((c) => c.type === 'InvalidSpec' && c.status === 'True');
  if (invalid !== undefined) return { phase: 'Degraded', message: `InvalidSpec: ${invalid.message ?? ''}` };
  const prog = (s.conditions ?? []).find((c) => c.type === 'Progressing');
  if (s.abort === true) return { phase: 'Degraded', message: `RolloutAborted: ${prog?.message ?? 'aborted'}` };
  if (prog?.reason === 'ProgressDeadlineExceeded') return { phase: 'Degraded', message: `ProgressDeadlineExceeded: ${prog.message ?? ''}` };
  if (spec.paused === true) return { phase: 'Paused', message: 'manually paused' };
  const pause = (s.pauseConditions ?? [])[0];
  if (pause !== undefined) return { phase: 'Paused', message: pause.reason };
  if (s.gates?.waiting !== undefined) return { phase: 'Paused', message: waitingText(s.gates.waiting) };
  if ((s.updatedReplicas ?? 0) < replicas) return { phase: 'Progressing', message: 'more replicas need to be updated' };
  if ((s.availableReplicas ?? 0) < (s.updatedReplicas ?? 0)) return { phase: 'Progressing', message: 'updated replicas are still becoming available' };
  if (spec.strategy?.blueGreen !== undefined && s.stableRS !== s.currentPodHash) {
    if (s.blueGreen?.activeSelector !== s.currentPodHash) return { phase: 'Progressing', message: 'active service cutover pending' };
    return { phase: 'Progressing', message: 'waiting for post-promotion analysis to complete' };
  }
  if (s.stableRS !== s.currentPodHash) return { phase: 'Progressing', message: 'waiting for all steps to complete' };
  return { phase: 'Healthy', message: '' };
}

/**
 * The end of every decision, whatever the strategy: replica counts, the Progressing/Paused/Completed conditions
 * (a progress deadline may abort here), and the phase.
 */
export function finishDecision(s: RolloutStatus, o: ObservedBase, actions: Action[], events: EngineEvent[], requeue: number | undefined, progressed: boolean, replicas: number): Decision {
  const newRS = o.replicaSets.find((r) => r.hash === o.templateHash);
  s.replicas = o.replicaSets.reduce((n, r) => n + r.replicas, 0);
  s.updatedReplicas = newRS?.replicas ?? 0;
  s.readyReplicas = o.replicaSets.reduce((n, r) => n + r.ready, 0);
  s.availableReplicas = o.replicaSets.reduce((n, r) => n + r.available, 0);
  const prog = progressing(s, o, progressed, newRS, replicas);
  s.conditions = prog.conditions;
  if (prog.abort) {
    s.abort = true;
    events.push({ type: 'Warning', reason: 'ProgressDeadlineExceeded', message: prog.message });
    requeue = 0;
  } else if (prog.timedOut && !(o.status.conditions ?? []).some((c) => c.reason === 'ProgressDeadlineExceeded')) {
    events.push({ type: 'Warning', reason: 'ProgressDeadlineExceeded', message: prog.message });
  }
  if (prog.checkInMs !== undefined) requeue = requeue === undefined ? prog.checkInMs : Math.min(requeue, prog.checkInMs);
  const phase = rolloutPhase(s, o.spec, replicas);
  s.phase = phase.phase;
  s.message = phase.message;
  return { actions, status: s, requeueAfterMs: requeue, events };
}

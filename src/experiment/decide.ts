// The Experiment engine: observed state in (its spec and status, one ReplicaSet per template, one AnalysisRun per
// analysis); actions, the next status and a requeue delay out. Pure: no clock, no I/O. The phases are Argo's:
// Pending until every template has all its pods available (availableAt), Running while the analyses measure and the
// duration lasts, then Successful, Failed, Error or Inconclusive; the ReplicaSets are scaled to 0 once it ends.
import { parseDuration } from '../api/common/duration.ts';
import { getCondition, setCondition } from '../api/common/conditions.ts';
import type { AnalysisPhase } from '../api/analysis/schema.ts';
import { EXPERIMENT_DEFAULTS, type ExperimentPhase, type ExperimentSpec, type ExperimentStatus, type TemplateStatus, type TemplateStatusCode } from '../api/experiment/schema.ts';

/** A template's ReplicaSet as the engine sees it. */
export interface TemplateReplicaSet {
  name: string;
  replicas: number;
  updated: number;
  ready: number;
  available: number;
}

/** An analysis' run as the engine sees it. */
export interface ExperimentRunView {
  name: string;
  phase: AnalysisPhase;
  message?: string;
  /** spec.terminate is already set: asking again changes nothing. */
  terminating: boolean;
}

export interface ExperimentObserved {
  now: number;
  spec: ExperimentSpec;
  status: ExperimentStatus;
  /** By template name: its ReplicaSet, when it exists. */
  replicaSets: Readonly<Record<string, TemplateReplicaSet | undefined>>;
  /** By template name: the revision hash its ReplicaSet carries (computed by the shell from the template). */
  hashes: Readonly<Record<string, string>>;
  /** By analysis name: its run, when it exists. */
  runs: Readonly<Record<string, ExperimentRunView | undefined>>;
  /** By template name: the name of its Service, when it exists (templates with `service` have one). */
  services?: Readonly<Record<string, string | undefined>>;
  /** By template name: its Service's ready endpoints in the EndpointSlices (0 or unset: none published yet). */
  readyEndpoints?: Readonly<Record<string, number>>;
}

export type ExperimentAction =
  | { kind: 'createReplicaSet'; template: string; replicas: number }
  | { kind: 'scaleReplicaSet'; template: string; name: string; replicas: number }
  | { kind: 'createService'; template: string }
  | { kind: 'deleteService'; template: string; name: string }
  | { kind: 'createAnalysisRun'; analysis: string }
  | { kind: 'terminateAnalysisRun'; analysis: string; name: string };

export interface ExperimentDecision {
  actions: ExperimentAction[];
  status: ExperimentStatus;
  requeueAfterMs?: number;
  events: { type: 'Normal' | 'Warning'; reason: string; message: string }[];
}

export const PROGRESSING = 'Progressing';
export const COMPLETED_REASON = 'ExperimentCompleted';

const DONE: ReadonlySet<string> = new Set(['Successful', 'Failed', 'Error', 'Inconclusive']);
export const isCompleted = (phase: string | undefined): boolean => phase !== undefined && DONE.has(phase);

// Argo's order (worst last): a Failed run outweighs an Error, which outweighs an Inconclusive one.
const SEVERITY: Readonly<Record<string, number>> = { Inconclusive: 1, Error: 2, Failed: 3 };

const iso = (ms: number): string => new Date(ms).toISOString();
/** How often an Experiment past its duration looks again for an AnalysisRun it has not seen (its watch also wakes it). */
const RUN_WAIT_MS = 5_000;

export function decideExperiment(o: ExperimentObserved): ExperimentDecision {
  const s = structuredClone(o.status);
  const actions: ExperimentAction[] = [];
  const events: ExperimentDecision['events'] = [];
  const wakes: number[] = [];
  const wake = (ms: number): void => void wakes.push(Math.max(ms, 0));
  const wasDone = isCompleted(s.phase);

  const templates = templateStatuses(o, wasDone || o.spec.terminate === true, wake);
  if (!wasDone && s.availableAt === undefined && templates.length > 0 && templates.every((t) => t.status === 'Running')) {
    s.availableAt = iso(o.now);
    events.push({ type: 'Normal', reason: 'ExperimentAvailable', message: 'every template has its pods available' });
  }
  // Analyses start once every template is available (they compare pods that all exist), and never after the end.
  if (!wasDone && o.spec.terminate !== true && s.availableAt !== undefined) {
    for (const a of o.spec.analyses ?? []) if (o.runs[a.name] === undefined) actions.push({ kind: 'createAnalysisRun', analysis: a.name });
  }
  s.analysisRuns = (o.spec.analyses ?? []).flatMap((a) => {
    const run = o.runs[a.name];
    return run === undefined ? [] : [{ name: a.name, analysisRun: run.name, phase: run.phase, ...(run.message !== undefined ? { message: run.message } : {}) }];
  });
  if (s.analysisRuns.length === 0) delete s.analysisRuns;

  if (!wasDone) {
    const verdict = judge(o, s, templates);
    if (verdict !== undefined) {
      s.phase = verdict.phase;
      s.message = verdict.message;
      s.conditions = setCondition(s.conditions, { type: PROGRESSING, status: 'False', reason: COMPLETED_REASON, message: verdict.message }, iso(o.now));
      events.push({ type: verdict.phase === 'Successful' ? 'Normal' : 'Warning', reason: `Experiment${verdict.phase}`, message: verdict.message });
    } else {
      s.phase = s.availableAt === undefined ? 'Pending' : 'Running';
      s.conditions = setCondition(s.conditions, { type: PROGRESSING, status: 'True', reason: s.availableAt === undefined ? 'ReplicaSetsProgressing' : 'ExperimentRunning', message: s.availableAt === undefined ? 'waiting for every template to have its pods available' : 'the templates are running' }, iso(o.now));
      // Past the duration, only a run not seen yet holds the end: its creation wakes this Experiment, and so does this.
      const left = s.availableAt !== undefined && o.spec.duration !== undefined ? Date.parse(s.availableAt) + parseDuration(o.spec.duration) - o.now : undefined;
      if (left !== undefined) wake(left > 0 ? left : RUN_WAIT_MS);
    }
  }
  if (isCompleted(s.phase)) end(o, s, templates, actions, wake);
  s.templateStatuses = templates;
  const requeueAfterMs = wakes.length > 0 ? Math.min(...wakes) : undefined;
  return { actions: [...templateActions(o, s), ...actions], status: s, events, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
}

/** Each template's status from its ReplicaSet; a template still short of pods past the deadline has Failed. */
function templateStatuses(o: ExperimentObserved, ending: boolean, wake: (ms: number) => void): TemplateStatus[] {
  const deadlineMs = (o.spec.progressDeadlineSeconds ?? EXPERIMENT_DEFAULTS.progressDeadlineSeconds) * 1000;
  return o.spec.templates.map((t) => {
    const prev = o.status.templateStatuses?.find((x) => x.name === t.name);
    const rs = o.replicaSets[t.name];
    const want = t.replicas ?? EXPERIMENT_DEFAULTS.replicas;
    let code: TemplateStatusCode;
    let message: string | undefined;
    if (ending || prev?.status === 'Failed' || prev?.status === 'Successful' || prev?.status === 'Error') {
      code = prev?.status ?? 'Progressing';
      message = prev?.message;
    } else if (rs !== undefined && rs.replicas === want && rs.available >= want) {
      code = 'Running';
    } else {
      code = 'Progressing';
      const since = prev?.status === 'Progressing' && prev.lastTransitionTime !== undefined ? Date.parse(prev.lastTransitionTime) : o.now;
      if (o.now - since >= deadlineMs) {
        code = 'Failed';
        message = `ReplicaSet ${rs?.name ?? `for ${t.name}`} did not have ${want} available pods within progressDeadlineSeconds (${deadlineMs / 1000}s)`;
      } else wake(since + deadlineMs - o.now);
    }
    const transition = prev?.status === code && prev.lastTransitionTime !== undefined ? prev.lastTransitionTime : iso(o.now);
    const hash = o.hashes[t.name];
    return {
      name: t.name,
      replicas: rs?.replicas ?? 0,
      updatedReplicas: rs?.updated ?? 0,
      readyReplicas: rs?.ready ?? 0,
      availableReplicas: rs?.available ?? 0,
      status: code,
      ...(message !== undefined ? { message } : {}),
      lastTransitionTime: transition,
      ...(hash !== undefined ? { podTemplateHash: hash } : {}),
      ...(rs !== undefined ? { replicaSetName: rs.name } : {}),
      ...(t.service !== undefined && o.services?.[t.name] !== undefined ? { serviceName: o.services[t.name], readyEndpoints: o.readyEndpoints?.[t.name] ?? 0 } : {}),
    };
  });
}

/** Whether the Experiment ends now, and how: a failed template or analysis, termination, the duration, or the
 * analyses required for completion. Undefined: it goes on. */
function judge(o: ExperimentObserved, s: ExperimentStatus, templates: readonly TemplateStatus[]): { phase: ExperimentPhase; message: string } | undefined {
  const failed = templates.find((t) => t.status === 'Failed');
  if (failed !== undefined) return { phase: 'Failed', message: `template ${failed.name}: ${failed.message ?? 'failed'}` };
  let worst: { name: string; phase: AnalysisPhase; message?: string } | undefined;
  for (const a of o.spec.analyses ?? []) {
    const run = o.runs[a.name];
    if (run !== undefined && (SEVERITY[run.phase] ?? 0) > (SEVERITY[worst?.phase ?? ''] ?? 0)) worst = { name: a.name, phase: run.phase, ...(run.message !== undefined ? { message: run.message } : {}) };
  }
  if (worst !== undefined) return { phase: worst.phase, message: `analysis ${worst.name} ${worst.phase}${worst.message !== undefined ? `: ${worst.message}` : ''}` };
  if (o.spec.terminate === true) return { phase: 'Successful', message: 'Experiment terminated' };
  if (s.availableAt === undefined) return undefined;
  // An analysis whose run was never seen has not judged anything: never Successful on its absence (invariant 8).
  if ((o.spec.analyses ?? []).some((a) => o.runs[a.name] === undefined)) return undefined;
  if (o.spec.duration !== undefined && o.now >= Date.parse(s.availableAt) + parseDuration(o.spec.duration)) {
    return { phase: 'Successful', message: `Experiment completed after its duration (${String(o.spec.duration)})` };
  }
  const required = (o.spec.analyses ?? []).filter((a) => a.requiredForCompletion === true);
  if (required.length > 0 && required.every((a) => o.runs[a.name]?.phase === 'Successful')) {
    return { phase: 'Successful', message: `Experiment completed: required analyses ${required.map((a) => a.name).join(', ')} Successful` };
  }
  return undefined;
}

/** The end: runs still measuring are terminated; templates that ran are Successful (or keep their failure). */
function end(o: ExperimentObserved, s: ExperimentStatus, templates: TemplateStatus[], actions: ExperimentAction[], wake: (ms: number) => void): void {
  for (const a of o.spec.analyses ?? []) {
    const run = o.runs[a.name];
    if (run !== undefined && !isCompleted(run.phase) && !run.terminating) actions.push({ kind: 'terminateAnalysisRun', analysis: a.name, name: run.name });
  }
  for (const t of templates) {
    if (t.status === 'Running' || t.status === 'Progressing') {
      t.status = s.phase === 'Successful' ? 'Successful' : t.status === 'Running' ? 'Successful' : 'Failed';
      t.lastTransitionTime = iso(o.now);
    }
  }
  const endedAt = getCondition(s.conditions, PROGRESSING)?.lastTransitionTime;
  const delayMs = (o.spec.scaleDownDelaySeconds ?? EXPERIMENT_DEFAULTS.scaleDownDelaySeconds) * 1000;
  const at = (endedAt !== undefined ? Date.parse(endedAt) : o.now) + delayMs;
  if (o.now < at) wake(at - o.now);
}

/** ReplicaSets: created while the Experiment runs, at their replicas; scaled to 0 once it ended (after the delay). */
function templateActions(o: ExperimentObserved, s: ExperimentStatus): ExperimentAction[] {
  const out: ExperimentAction[] = [];
  const done = isCompleted(s.phase);
  const endedAt = getCondition(s.conditions, PROGRESSING)?.lastTransitionTime;
  const delayMs = (o.spec.scaleDownDelaySeconds ?? EXPERIMENT_DEFAULTS.scaleDownDelaySeconds) * 1000;
  const scaleDown = done && o.now >= (endedAt !== undefined ? Date.parse(endedAt) : o.now) + delayMs;
  for (const t of o.spec.templates) {
    const rs = o.replicaSets[t.name];
    const want = scaleDown ? 0 : (t.replicas ?? EXPERIMENT_DEFAULTS.replicas);
    if (rs === undefined) {
      if (!done) out.push({ kind: 'createReplicaSet', template: t.name, replicas: want });
    } else if (rs.replicas !== want && (scaleDown || !done)) {
      out.push({ kind: 'scaleReplicaSet', template: t.name, name: rs.name, replicas: want });
    }
    // The Service lives while the pods do: it goes with the scale-down (after the delay, which gives the Rollout
    // time to take its traffic off first).
    const svc = o.services?.[t.name];
    if (t.service !== undefined && svc === undefined && !done) out.push({ kind: 'createService', template: t.name });
    else if (svc !== undefined && scaleDown) out.push({ kind: 'deleteService', template: t.name, name: svc });
  }
  return out;
}

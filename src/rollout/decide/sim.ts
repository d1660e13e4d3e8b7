// A small deterministic world for testing the engine: it performs the engine's actions the way the shell and the
// cluster would (ReplicaSets scale, pods become available, Services move, routers take weights) and checks the
// DESIGN invariants on every step. Test support only; the product never runs it.
import type { CanaryStep, RolloutSpec, RolloutStatus, RolloutWebhookType } from '../../api/rollout/schema.ts';
import { decideCanary, weightAt } from './canary.ts';
import { surgeAndUnavailable } from './replicasets.ts';
import type { GateResults } from './gates.ts';
import type { Action, AnalysisRunPhase, Decision, ExperimentTemplateView, Observed, ReplicaSetView } from './types.ts';

export interface SimOptions {
  replicas?: number;
  steps: CanaryStep[];
  routed?: boolean;
  /** Hashes whose pods never become available (a broken canary). */
  brokenHashes?: Set<string>;
  progressDeadlineSeconds?: number;
  progressDeadlineAbort?: boolean;
}

export interface Violation {
  at: number;
  what: string;
}

export class World {
  now = 1_700_000_000_000;
  spec: RolloutSpec;
  status: RolloutStatus = {};
  templateHash = 'h1';
  rs: ReplicaSetView[] = [];
  selectors: { canary?: string; stable?: string } = {};
  /** What the router holds: the weight and which hash the canary Service resolves to. */
  routerWeight = 0;
  stepAnalysis: Record<number, AnalysisRunPhase> = {};
  /** The current revision's Experiments by step, as their controller reports them. */
  experiments: Record<number, AnalysisRunPhase> = {};
  /** Their templates (Services and available pods), by step, as their controller reports them. */
  experimentTemplates: Record<number, ExperimentTemplateView[]> = {};
  /** What the router sends to Services beside the canary and the stable (experiment templates), by Service. */
  routerExtra: Record<string, number> = {};
  readonly terminatedExperiments: number[] = [];
  restartPending: Record<string, number> | undefined;
  readonly terminated: number[] = [];
  private analysisFor = '';
  routes = new Set<string>();
  readonly violations: Violation[] = [];
  readonly log: Decision[] = [];
  /** How each webhook type answers (spec.strategy.canary.webhooks): true is a 2xx. Unset types answer 2xx. */
  gateAnswers: Partial<Record<RolloutWebhookType, boolean>> = {};
  /** Every webhook type the engine asked for, in order: the calls the shell made. */
  readonly gateCalls: RolloutWebhookType[] = [];
  private readonly opts: SimOptions;

  constructor(opts: SimOptions) {
    this.opts = opts;
    const routed = opts.routed ?? true;
    this.spec = {
      replicas: opts.replicas ?? 4,
      progressDeadlineSeconds: opts.progressDeadlineSeconds,
      progressDeadlineAbort: opts.progressDeadlineAbort,
      strategy: {
        canary: {
          steps: opts.steps,
          ...(routed ? { canaryService: 'web-canary', stableService: 'web-stable', trafficRouting: { gatewayAPI: { httpRoute: 'web' } } } : {}),
        },
      },
    };
  }

  /** Pods of every ReplicaSet converge on its spec (unless broken): the cluster between two reconciles. */
  settle(): void {
    for (const r of this.rs) {
      const ok = this.opts.brokenHashes?.has(r.hash) !== true;
      r.available = ok ? r.replicas : 0;
      r.ready = r.available;
    }
  }

  reconcile(): Decision {
    // Runs belong to one revision (the shell selects them by hash label): a new revision starts with none.
    if (this.analysisFor !== this.templateHash) {
      this.stepAnalysis = {};
      this.experiments = {};
      this.experimentTemplates = {};
      this.analysisFor = this.templateHash;
    }
    const before = structuredClone(this.status);
    const weightBefore = this.routerWeight;
    const d = this.decide({
      now: this.now,
      spec: this.spec,
      status: this.status,
      templateHash: this.templateHash,
      stepsHash: JSON.stringify(this.spec.strategy?.canary?.steps ?? []),
      replicaSets: structuredClone(this.rs),
      serviceSelectors: { ...this.selectors },
      stepAnalysis: { ...this.stepAnalysis },
      experiments: { ...this.experiments },
      experimentTemplates: structuredClone(this.experimentTemplates),
      analysisRunRefs: runRefs(this.templateHash, this.stepAnalysis),
      ...(this.restartPending !== undefined ? { restartPending: { ...this.restartPending } } : {}),
    });
    for (const a of d.actions) this.perform(a, before);
    this.check(before, d);
    // A held gate never lets the weight rise.
    if (d.status.gates?.waiting !== undefined && this.routerWeight > weightBefore) this.violate(`weight rose to ${this.routerWeight} while gate ${d.status.gates.waiting.name} held`);
    const rev = revisionViolation(this.rs, this.templateHash);
    if (rev !== undefined) this.violate(rev);
    this.status = d.status;
    this.log.push(d);
    return d;
  }

  private decide(o: Observed): Decision {
    return answerGates(decideCanary, o, this.gateAnswers, this.gateCalls);
  }

  private perform(a: Action, before: RolloutStatus): void {
    switch (a.kind) {
      case 'createReplicaSet':
        if (this.rs.some((x) => x.hash === a.hash)) this.violate(`created ${a.hash} twice`);
        this.rs.push({ name: `web-${a.hash}`, hash: a.hash, replicas: a.replicas, available: 0, ready: 0, createdAt: this.now, revision: nextSimRevision(this.rs) });
        break;
      case 'scaleReplicaSet': {
        const r = this.rs.find((x) => x.name === a.name);
        if (r === undefined) throw new Error(`scale of unknown ${a.name}`);
        // A replica-ratio canary grows only within maxSurge (the stable may grow back to restore capacity).
        const canary = this.spec.strategy?.canary;
        if (canary?.trafficRouting === undefined && r.hash === this.templateHash && a.replicas > r.replicas && before.stableRS !== undefined && before.stableRS !== r.hash) {
          const { surge } = surgeAndUnavailable(canary?.maxSurge, canary?.maxUnavailable, this.spec.replicas ?? 1);
          const total = this.rs.reduce((n, x) => n + x.replicas, 0) - r.replicas + a.replicas;
          if (total > (this.spec.replicas ?? 1) + surge + this.retiredReplicas(before.stableRS)) this.violate(`canary grew to ${total} pods, over replicas + maxSurge`);
        }
        r.replicas = a.replicas;
        r.available = Math.min(r.available, a.replicas);
        r.ready = r.available;
        if (a.replicas > 0) delete r.scaleDownAt;
        // Invariant: never scale to zero what a Service still routes to.
        if (a.replicas === 0 && (this.selectors.canary === r.hash || this.selectors.stable === r.hash) && this.effectiveWeightTo(r.hash) > 0) {
          this.violate(`scaled ${r.hash} to 0 while it still receives traffic`);
        }
        break;
      }
      case 'setRevision': {
        const r = this.rs.find((x) => x.name === a.name);
        if (r === undefined) throw new Error(`setRevision of unknown ${a.name}`);
        r.revision = a.revision;
        break;
      }
      case 'markScaleDown':
      case 'unmarkScaleDown':
        markScaleDown(this.rs, a);
        break;
      case 'pinService': {
        const target = this.rs.find((x) => x.hash === a.hash);
        // Invariant 2: a Service moves only onto a revision with ready pods.
        if ((target?.available ?? 0) === 0) this.violate(`${a.role} Service pinned to ${a.hash} with no available pods`);
        if (a.role !== 'canary' && a.role !== 'stable') throw new Error(`a canary pinned the ${a.role} Service`);
        this.selectors[a.role] = a.hash;
        break;
      }
      case 'setWeight': {
        const steps = this.spec.strategy?.canary?.steps ?? [];
        const cap = before.abort === true || this.status.abort === true ? 0 : weightAt(steps, before.currentStepIndex ?? 0);
        // Invariant 1: never above the weight of the step in force (0 after an abort), except the promotion reset to 0.
        if (a.weight > Math.max(cap, weightAt(steps, (before.currentStepIndex ?? 0) + 1)) && a.weight > 0) this.violate(`weight ${a.weight} above the step's`);
        // Invariant 2: weight only to a canary Service pinned to a revision with available pods.
        if (a.weight > 0) {
          const pinned = this.selectors.canary;
          const r = this.rs.find((x) => x.hash === pinned);
          if (pinned !== a.canaryHash || (r?.available ?? 0) === 0) this.violate(`weight ${a.weight} to ${a.canaryHash} before its Service points at ready pods`);
        }
        // Invariant 3: the promotion reset happens only after the stable Service is verified on the new revision.
        if (a.weight === 0 && a.stableHash === a.canaryHash && this.selectors.stable !== a.stableHash) this.violate('weight reset before the stable Service switched');
        this.routerWeight = a.weight;
        for (const n of a.remove ?? []) delete this.routerExtra[n];
        for (const x of a.additional ?? []) {
          // Invariant 2 for experiment templates: traffic only to a running Experiment's Service with available pods.
          const step = Object.entries(this.experimentTemplates).find(([, ts]) => ts.some((t) => t.serviceName === x.serviceName));
          const view = step?.[1].find((t) => t.serviceName === x.serviceName);
          if (step === undefined || this.experiments[Number(step[0])] !== 'Running' || (view?.available ?? 0) === 0 || (view?.readyEndpoints ?? 0) === 0) this.violate(`weight ${x.weight} to experiment Service ${x.serviceName} without a running Experiment's pods`);
          this.routerExtra[x.serviceName] = x.weight;
        }
        if (a.weight + Object.values(this.routerExtra).reduce((t, w) => t + w, 0) > 100) this.violate(`weights above 100: canary ${a.weight}, extra ${JSON.stringify(this.routerExtra)}`);
        break;
      }
      case 'setHeaderRoute':
      case 'setMirrorRoute':
        this.routes.add(a.name);
        break;
      case 'removeManagedRoutes':
        this.routes.clear();
        break;
      case 'finishRouting':
        if (this.routerWeight !== 0) this.violate('routing removed while the canary still had weight');
        break;
      case 'createAnalysisRun':
        if (this.stepAnalysis[a.stepIndex] !== undefined) this.violate(`analysis ${a.stepIndex} created twice`);
        this.stepAnalysis[a.stepIndex] = 'Running';
        break;
      case 'deleteAnalysisRun':
        delete this.stepAnalysis[a.stepIndex];
        break;
      case 'terminateAnalysisRun':
        // Terminated runs end as Successful unless already breached (Argo's rule); the engine must not act on it.
        this.stepAnalysis[a.stepIndex] = 'Successful';
        this.terminated.push(a.stepIndex);
        break;
      case 'createExperiment':
        if (this.experiments[a.stepIndex] !== undefined) this.violate(`experiment ${a.stepIndex} created twice`);
        this.experiments[a.stepIndex] = 'Pending';
        break;
      case 'deleteExperiment':
        delete this.experiments[a.stepIndex];
        break;
      case 'terminateExperiment':
        this.experiments[a.stepIndex] = 'Successful'; // a terminated Experiment ends Successful
        this.terminatedExperiments.push(a.stepIndex);
        break;
      case 'restartPods': {
        const r = this.rs.find((x) => x.hash === a.hash);
        if (r === undefined) throw new Error(`restart of unknown ${a.hash}`);
        if (this.rs.some((x) => x.replicas > 0 && x.available < x.replicas)) this.violate('restarted pods while a ReplicaSet was short of pods');
        if (this.restartPending !== undefined) this.restartPending[a.hash] = Math.max(0, (this.restartPending[a.hash] ?? 0) - a.count);
        r.available = Math.max(0, r.available - a.count); // evicted; settle() brings replacements
        break;
      }
      case 'deleteReplicaSet': {
        const r = this.rs.find((x) => x.name === a.name);
        if (r !== undefined && (r.replicas > 0 || r.hash === this.templateHash || r.hash === before.stableRS)) this.violate(`deleted ${r.hash} which is live`);
        this.rs = this.rs.filter((x) => x.name !== a.name);
        break;
      }
    }
  }

  /** Share of traffic that reaches `hash` through the router and the Services. */
  effectiveWeightTo(hash: string): number {
    let w = 0;
    if (this.selectors.canary === hash) w += this.routerWeight;
    if (this.selectors.stable === hash) w += 100 - this.routerWeight;
    return w;
  }

  private check(before: RolloutStatus, d: Decision): void {
    const steps = this.spec.strategy?.canary?.steps ?? [];
    const b = before.currentStepIndex ?? 0;
    const a = d.status.currentStepIndex ?? 0;
    const restarted = before.currentPodHash !== d.status.currentPodHash || before.currentStepHash !== d.status.currentStepHash;
    // Invariant 5: at most one step per reconcile, unless a new revision, a full promote or a rollback reset it.
    if (!restarted && before.promoteFull !== true && a > b + 1 && !(before.controllerPause === true && a === b + 2)) this.violate(`skipped from step ${b} to ${a}`);
    // Invariant 4: nothing advances while aborted.
    if (before.abort === true && !restarted && a > b) this.violate('advanced a step while aborted');
    if (d.status.abort === true && this.routerWeight !== 0 && (this.spec.strategy?.canary?.trafficRouting !== undefined)) this.violate('aborted with weight still on the canary');
    // An experiment template keeps traffic only while its Experiment runs, at the current step, and not after an abort.
    for (const [svc, w] of Object.entries(this.routerExtra)) {
      const step = Object.entries(this.experimentTemplates).find(([, ts]) => ts.some((t) => t.serviceName === svc));
      const gone = (step?.[1].find((t) => t.serviceName === svc)?.available ?? 0) === 0;
      if (w > 0 && (d.status.abort === true || step === undefined || gone || Number(step[0]) !== a || this.experiments[a] !== 'Running')) this.violate(`experiment Service ${svc} still has weight ${w} at step ${a}`);
    }
    // A Service never points at nothing.
    for (const role of ['canary', 'stable'] as const) {
      const h = this.selectors[role];
      if (h !== undefined && (this.rs.find((x) => x.hash === h)?.replicas ?? 0) === 0 && this.effectiveWeightTo(h) > 0) this.violate(`${role} Service routes to ${h} with no pods`);
    }
    // The step run reported is the current step's (while not aborted: then the failed one stays reported).
    const reported = d.status.canary?.currentStepAnalysisRunStatus;
    if (d.status.abort !== true && reported !== undefined && (steps[a]?.analysis === undefined || reported.name !== `web-${this.templateHash}-${a}`)) {
      this.violate(`status reports run ${reported.name} at step ${a}`);
    }
  }

  /** Pods of ReplicaSets that are neither stable nor the current revision (an older canary winding down). */
  private retiredReplicas(stable: string): number {
    return this.rs.filter((r) => r.hash !== stable && r.hash !== this.templateHash).reduce((n, r) => n + r.replicas, 0);
  }

  private violate(what: string): void {
    this.violations.push({ at: this.now, what });
  }

  /** Reconciles, lets the cluster settle and time pass, until nothing is left to do or `max` rounds. */
  run(max = 60, tickMs = 1000): void {
    for (let i = 0; i < max; i++) {
      const d = this.reconcile();
      this.settle();
      if (d.actions.length === 0 && (d.requeueAfterMs === undefined || d.requeueAfterMs > 0)) {
        if (d.requeueAfterMs === undefined) return;
        this.now += d.requeueAfterMs;
      } else this.now += tickMs;
    }
  }
}

/** A scale-down deadline set or dropped on a ReplicaSet of a simulated world. */
/** The names the shell passes for the observed runs (analysisRunRefs). */
export const runRefs = (hash: string, runs: Record<number, AnalysisRunPhase>): Record<number, { name: string }> =>
  Object.fromEntries(Object.keys(runs).map((k) => [Number(k), { name: `web-${hash}-${k}` }]));

/** The revision number the shell stamps on a ReplicaSet it creates. */
export const nextSimRevision = (rs: readonly ReplicaSetView[]): number => Math.max(0, ...rs.map((r) => r.revision ?? 0)) + 1;

/** After every reconcile, the current revision's ReplicaSet has the highest revision number (Argo's bump on reuse). */
export function revisionViolation(rs: readonly ReplicaSetView[], hash: string): string | undefined {
  const cur = rs.find((r) => r.hash === hash);
  const other = rs.find((r) => r.hash !== hash && (r.revision ?? 0) >= (cur?.revision ?? Infinity));
  return other === undefined ? undefined : `revision ${hash} (${String(cur?.revision)}) is not the highest: ${other.hash} has ${String(other.revision)}`;
}

export function markScaleDown(rs: ReplicaSetView[], a: Extract<Action, { kind: 'markScaleDown' | 'unmarkScaleDown' }>): void {
  const r = rs.find((x) => x.name === a.name);
  if (r === undefined) return;
  if (a.kind === 'markScaleDown') r.scaleDownAt = a.at;
  else delete r.scaleDownAt;
}

/**
 * The shell's loop (rollout/gates.ts) in a simulated world: decide, answer the gates asked for as `answers` says
 * (true is a 2xx; unset types answer 2xx), record each call in `calls`, decide again.
 */
export function answerGates<O extends { gates?: GateResults }>(decide: (o: O) => Decision, o: O, answers: Partial<Record<RolloutWebhookType, boolean>>, calls: RolloutWebhookType[]): Decision {
  let gates: GateResults = {};
  let d = decide(o);
  while ((d.needGates ?? []).some((t) => gates[t] === undefined)) {
    for (const t of d.needGates ?? []) {
      if (gates[t] !== undefined) continue;
      calls.push(t);
      gates = { ...gates, [t]: [{ name: t, ok: answers[t] ?? true, message: answers[t] === false ? 'HTTP 403' : 'HTTP 200' }] };
    }
    d = decide({ ...o, gates });
  }
  return d;
}

// A small deterministic world for the blue-green engine, like sim.ts for canaries: it performs the engine's actions
// the way the shell and the cluster would and checks the blue-green invariants on every reconcile. Test support only.
import type { BlueGreenStrategy, RolloutSpec, RolloutStatus, RolloutWebhookType } from '../../api/rollout/schema.ts';
import { decideBlueGreen } from './bluegreen.ts';
import { answerGates, markScaleDown, nextSimRevision, revisionViolation, runRefs, type Violation } from './sim.ts';
import { PRE_PROMOTION, type Action, type AnalysisRunPhase, type Decision, type ReplicaSetView } from './types.ts';

export interface BlueGreenSimOptions {
  replicas?: number;
  blueGreen?: Partial<BlueGreenStrategy>;
  /** Hashes whose pods never become available (a revision that never gets Ready). */
  brokenHashes?: Set<string>;
  progressDeadlineSeconds?: number;
  progressDeadlineAbort?: boolean;
  /** A rough cluster (property tests): with it, a pod that becomes Ready is sometimes not yet available
   * (minReadySeconds), and an available pod is sometimes lost (and comes back later). Numbers in [0, 1). */
  chaos?: () => number;
}

export class BlueGreenWorld {
  now = 1_700_000_000_000;
  spec: RolloutSpec;
  status: RolloutStatus = {};
  templateHash = 'h1';
  rs: ReplicaSetView[] = [];
  selectors: { active?: string; preview?: string } = {};
  /** Analysis runs by revision hash, then step index (as the runs' labels say). */
  readonly runs = new Map<string, Record<number, AnalysisRunPhase>>();
  /** Runs ended by terminate (`hash/step`): their Successful is no verdict. */
  private readonly ended = new Set<string>();
  readonly terminated: number[] = [];
  readonly violations: Violation[] = [];
  readonly log: Decision[] = [];
  /** How each webhook type answers (spec.strategy.blueGreen.webhooks): true is a 2xx. Unset types answer 2xx. */
  gateAnswers: Partial<Record<RolloutWebhookType, boolean>> = {};
  /** Every webhook type the engine asked for, in order: the calls the shell made. */
  readonly gateCalls: RolloutWebhookType[] = [];
  readonly brokenHashes: Set<string>;
  private readonly chaos: (() => number) | undefined;
  /** A pod was lost somewhere: a Service may be on a revision that is no longer fully available, through no decision. */
  private lost = false;
  /** No pod is lost meanwhile (quiesce). */
  private calm = false;
  /** The decision being performed aborts (this pass, or an earlier one). */
  private aborting = false;

  constructor(opts: BlueGreenSimOptions = {}) {
    this.brokenHashes = opts.brokenHashes ?? new Set();
    this.chaos = opts.chaos;
    this.spec = {
      replicas: opts.replicas ?? 4,
      progressDeadlineSeconds: opts.progressDeadlineSeconds,
      progressDeadlineAbort: opts.progressDeadlineAbort,
      strategy: { blueGreen: { activeService: 'web-active', previewService: 'web-preview', ...opts.blueGreen } },
    };
  }

  /** The runs of the current revision. */
  get stepAnalysis(): Record<number, AnalysisRunPhase> {
    let byStep = this.runs.get(this.templateHash);
    if (byStep === undefined) {
      byStep = {};
      this.runs.set(this.templateHash, byStep);
    }
    return byStep;
  }

  get blueGreen(): BlueGreenStrategy {
    const bg = this.spec.strategy?.blueGreen;
    if (bg === undefined) throw new Error('not a blue-green world');
    return bg;
  }

  get replicas(): number {
    return this.spec.replicas ?? 1;
  }

  rsOf(hash: string | undefined): ReplicaSetView | undefined {
    return this.rs.find((r) => r.hash === hash);
  }

  /**
   * The cluster between two reconciles: each ReplicaSet gains at most one pod (Ready first; available at once, or with
   * chaos sometimes a round later, as minReadySeconds does), and with chaos an available pod is sometimes lost.
   * Returns whether the world is still moving (something changed, or a pod is still on its way).
   */
  settle(): boolean {
    let changed = false;
    for (const r of this.rs) {
      if (this.brokenHashes.has(r.hash)) continue;
      if (this.chaos !== undefined && !this.calm && r.available > 0 && this.chaos() < 0.05) {
        r.available--;
        r.ready--;
        this.lost = true;
        changed = true;
        continue;
      }
      if (r.available < r.ready) {
        if (this.chaos === undefined || this.chaos() < 0.7) r.available++;
        changed = true;
      } else if (r.ready < r.replicas) {
        r.ready++;
        if (this.chaos === undefined || this.chaos() < 0.5) r.available++;
        changed = true;
      }
    }
    return changed;
  }

  reconcile(): Decision {
    // The shell ends the runs of superseded revisions (a terminated run reads Successful).
    for (const [h, byStep] of this.runs) {
      if (h === this.templateHash) continue;
      for (const [k, p] of Object.entries(byStep)) {
        if (p !== 'Running' && p !== 'Pending') continue;
        byStep[Number(k)] = 'Successful';
        this.ended.add(`${h}/${k}`);
      }
    }
    const before = structuredClone(this.status);
    const observed = structuredClone(this.rs);
    const d = answerGates(decideBlueGreen, {
      now: this.now,
      spec: this.spec,
      status: this.status,
      templateHash: this.templateHash,
      replicaSets: structuredClone(observed),
      serviceSelectors: { ...this.selectors },
      stepAnalysis: { ...this.stepAnalysis },
      analysisRunRefs: runRefs(this.templateHash, this.stepAnalysis),
    }, this.gateAnswers, this.gateCalls);
    // The pre-promotion verdict: a run ended by terminate passed nothing.
    const pre = this.ended.has(`${this.templateHash}/${PRE_PROMOTION}`) ? 'Terminated' : this.stepAnalysis[PRE_PROMOTION];
    this.aborting = before.abort === true || d.status.abort === true;
    for (const a of d.actions) this.perform(a, before, pre);
    this.check(before, d, observed);
    const rev = revisionViolation(this.rs, this.templateHash);
    if (rev !== undefined) this.violate(rev);
    this.status = d.status;
    this.log.push(d);
    return d;
  }

  private perform(a: Action, before: RolloutStatus, pre: AnalysisRunPhase | 'Terminated' | undefined): void {
    switch (a.kind) {
      case 'createReplicaSet':
        if (this.rsOf(a.hash) !== undefined) this.violate(`created ${a.hash} twice`);
        this.rs.push({ name: `web-${a.hash}`, hash: a.hash, replicas: a.replicas, available: 0, ready: 0, createdAt: this.now, revision: nextSimRevision(this.rs) });
        break;
      case 'scaleReplicaSet': {
        const r = this.rs.find((x) => x.name === a.name);
        if (r === undefined) throw new Error(`scale of unknown ${a.name}`);
        if (a.replicas < r.available && (this.selectors.active === r.hash)) this.violate(`scaled the active ${r.hash} down to ${a.replicas}`);
        if (a.replicas === 0 && this.selectors.preview === r.hash) this.violate(`scaled ${r.hash} to 0 behind the preview Service`);
        if (a.replicas < r.replicas) this.checkScaleDown(r, before);
        r.replicas = a.replicas;
        r.ready = Math.min(r.ready, a.replicas);
        r.available = Math.min(r.available, r.ready);
        if (a.replicas > 0) delete r.scaleDownAt;
        break;
      }
      case 'setRevision': {
        const r = this.rs.find((x) => x.name === a.name);
        if (r !== undefined) r.revision = a.revision;
        break;
      }
      case 'markScaleDown':
      case 'unmarkScaleDown':
        markScaleDown(this.rs, a);
        break;
      case 'pinService': {
        if (a.role !== 'active' && a.role !== 'preview') throw new Error(`a blue-green rollout pinned the ${a.role} Service`);
        const target = this.rsOf(a.hash);
        if ((target?.available ?? 0) === 0) this.violate(`${a.role} Service pinned to ${a.hash} with no available pods`);
        if (a.role === 'active') {
          // The invariant: the active selector only moves onto a revision whose every pod is available.
          if ((target?.available ?? 0) < this.replicas) this.violate(`active Service switched to ${a.hash} with ${target?.available ?? 0}/${this.replicas} available`);
          const toNew = before.stableRS !== undefined && a.hash !== before.stableRS;
          // A template change clears an abort (as in Argo): only an abort of the revision still current holds the switch.
          const aborted = before.abort === true && before.currentPodHash === this.templateHash;
          if (toNew && aborted) this.violate(`active Service switched to the new ${a.hash} while aborted`);
          if (toNew && this.blueGreen.prePromotionAnalysis !== undefined && before.promoteFull !== true && pre !== 'Successful') {
            this.violate(`active Service switched to ${a.hash} before its pre-promotion analysis succeeded (${pre ?? 'none'})`);
          }
        }
        this.selectors[a.role] = a.hash;
        break;
      }
      case 'createAnalysisRun':
        if (this.stepAnalysis[a.stepIndex] !== undefined) this.violate(`analysis ${a.stepIndex} created twice`);
        this.stepAnalysis[a.stepIndex] = 'Running';
        this.ended.delete(`${this.templateHash}/${a.stepIndex}`);
        break;
      case 'deleteAnalysisRun':
        delete this.stepAnalysis[a.stepIndex];
        break;
      case 'terminateAnalysisRun':
        this.stepAnalysis[a.stepIndex] = 'Successful';
        this.ended.add(`${this.templateHash}/${a.stepIndex}`);
        this.terminated.push(a.stepIndex);
        break;
      case 'deleteReplicaSet': {
        const r = this.rs.find((x) => x.name === a.name);
        if (r !== undefined && (r.replicas > 0 || r.hash === this.templateHash || r.hash === before.stableRS)) this.violate(`deleted ${r.hash} which is live`);
        this.rs = this.rs.filter((x) => x.name !== a.name);
        break;
      }
      default:
        this.violate(`a blue-green rollout asked for ${a.kind}`);
    }
  }

  /**
   * Pods are taken only when their time has come: the current revision keeps its pods unless aborted (a rollback onto
   * a warm ReplicaSet keeps them all), and a retired one keeps them until its scale-down deadline.
   */
  private checkScaleDown(r: ReplicaSetView, before: RolloutStatus): void {
    if (r.hash === this.templateHash) {
      if (!this.aborting && r.hash !== before.stableRS) this.violate(`scaled the current revision ${r.hash} down from ${r.replicas} outside an abort`);
      return;
    }
    if (r.hash === before.stableRS) {
      this.violate(`scaled the stable ${r.hash} down`);
      return;
    }
    const delayS = this.blueGreen.scaleDownDelaySeconds ?? 30;
    if (delayS > 0 && (r.scaleDownAt === undefined || this.now < r.scaleDownAt)) this.violate(`scaled the retired ${r.hash} down before its scale-down deadline`);
  }

  private check(before: RolloutStatus, d: Decision, observed: ReplicaSetView[]): void {
    const active = this.selectors.active;
    // The active Service never points at a ReplicaSet that is not fully available (unless a pod was lost since).
    if (!this.lost && active !== undefined && (this.rsOf(active)?.available ?? 0) < this.replicas) this.violate(`active Service on ${active}, which is not fully available`);
    // One decision moves a Service once at most (twice is a flip, and a loop if it repeats).
    for (const role of ['active', 'preview'] as const) {
      const pins = d.actions.filter((a) => a.kind === 'pinService' && a.role === role).length;
      if (pins > 1) this.violate(`one decision pinned the ${role} Service ${pins} times`);
    }
    if (d.status.abort === true && before.stableRS !== undefined) {
      if (d.status.stableRS !== before.stableRS) this.violate('the stable revision changed during an abort');
      // After an abort the active Service is on the previous stable (it was kept whole for this; if it lost a pod,
      // the active Service goes back once it is whole again).
      const stableWhole = (observed.find((r) => r.hash === d.status.stableRS)?.available ?? 0) >= this.replicas;
      if (stableWhole && active !== d.status.stableRS) this.violate(`aborted, yet the active Service is on ${active ?? 'nothing'}, not the stable ${d.status.stableRS ?? ''}`);
    }
    // A held gate never lets the active Service move to the new revision.
    if (d.status.gates?.waiting !== undefined && active !== before.blueGreen?.activeSelector && active === this.templateHash) this.violate(`active Service switched while gate ${d.status.gates.waiting.name} held`);
    if (d.status.blueGreen?.activeSelector !== active) this.violate(`status.blueGreen.activeSelector ${d.status.blueGreen?.activeSelector ?? 'unset'} but the Service is on ${active ?? 'nothing'}`);
    // Nothing a Service points at is without pods.
    for (const role of ['active', 'preview'] as const) {
      const h = this.selectors[role];
      if (h !== undefined && (this.rsOf(h)?.replicas ?? 0) === 0) this.violate(`${role} Service on ${h}, which has no pods`);
    }
  }

  private violate(what: string): void {
    this.violations.push({ at: this.now, what });
  }

  /** A person's `promote`: the plugin clears status.pauseConditions. */
  promote(): void {
    delete this.status.pauseConditions;
  }

  /** Reconciles, lets the cluster settle and time pass, until nothing is left to do or `max` rounds. */
  run(max = 60, tickMs = 1000): void {
    for (let i = 0; i < max; i++) {
      const d = this.reconcile();
      const changed = this.settle();
      if (d.actions.length === 0 && !changed && (d.requeueAfterMs === undefined || d.requeueAfterMs > 0)) {
        if (d.requeueAfterMs === undefined) return;
        this.now += d.requeueAfterMs;
      } else this.now += tickMs;
    }
  }

  /**
   * A quiet world: no time passes and nobody intervenes; only the engine's own actions change anything. It must come
   * to rest (a decision with no action on a settled world) within `max` reconciles, and stay there.
   */
  quiesce(max = 40): void {
    this.calm = true;
    try {
      this.comeToRest(max);
    } finally {
      this.calm = false;
    }
  }

  private comeToRest(max: number): void {
    let rest = -1;
    for (let i = 0; i < max; i++) {
      const d = this.reconcile();
      const changed = this.settle();
      if (rest >= 0 && d.actions.length > 0) {
        this.violate(`acted on a quiet world after coming to rest: ${d.actions.map((a) => a.kind).join(', ')}`);
        return;
      }
      if (d.actions.length === 0 && !changed && d.requeueAfterMs !== 0) {
        if (rest < 0) rest = i;
        else if (i - rest >= 2) return;
      }
    }
    if (rest < 0) this.violate(`never came to rest on a quiet world: ${this.log.slice(-4).map((d) => d.actions.map((a) => (a.kind === 'pinService' ? `pin ${a.role} ${a.hash}` : a.kind)).join('+')).join(' | ')}`);
  }
}

import type { RolloutAnalysis, RolloutExperimentStep, RolloutSpec, RolloutStatus, RolloutWebhookType } from '../../api/rollout/schema.ts';
import type { GateResults } from './gates.ts';

/** One ReplicaSet of the Rollout, as the engine needs to see it. */
export interface ReplicaSetView {
  name: string;
  hash: string;
  /** spec.replicas */
  replicas: number;
  available: number;
  ready: number;
  /** When this ReplicaSet may be scaled to zero (ms epoch), from its scale-down-deadline annotation. */
  scaleDownAt?: number;
  /** Creation time (ms epoch): the order of revisions when `revision` is missing (whole seconds: ties happen). */
  createdAt?: number;
  /** The rollout.argoproj.io/revision number (revision.ts): the order of revisions, for revisionHistoryLimit. */
  revision?: number;
}

/** One template of a step's Experiment, as its status reports it. */
export interface ExperimentTemplateView {
  name: string;
  serviceName?: string;
  /** The ports its Service exposes (its containers' ports). */
  ports?: number[];
  available: number;
  /** Its Service's ready endpoints as the EndpointSlices publish them: what a proxy can reach. */
  readyEndpoints?: number;
  podTemplateHash?: string;
}

/** A Service beside the canary and the stable that receives a share of traffic (a routed experiment template). */
export interface AdditionalDestination {
  serviceName: string;
  weight: number;
  podTemplateHash?: string;
  /** The ports the Service exposes: the router picks the one a backend reference needs. */
  ports?: number[];
}

/** The stepIndex of the background analysis run (strategy.canary.analysis). */
export const BACKGROUND = -1;
/** The stepIndex keys of a blue-green rollout's runs: before the active switch, and after it. */
export const PRE_PROMOTION = -2;
export const POST_PROMOTION = -3;

export type AnalysisRunPhase = 'Pending' | 'Running' | 'Successful' | 'Failed' | 'Error' | 'Inconclusive';

/** What the status says about one observed run (its phase comes from stepAnalysis). */
export interface AnalysisRunRef {
  name: string;
  message?: string;
}

/** What every strategy's decision depends on. The shell reads it from the caches; the engines never do I/O. */
export interface ObservedBase {
  now: number;
  spec: RolloutSpec;
  status: RolloutStatus;
  /** Hash of spec.template (see hash.ts). */
  templateHash: string;
  replicaSets: ReplicaSetView[];
  /** Analysis runs of the current revision, by step index; BACKGROUND (-1) is the background analysis, PRE_PROMOTION
   * and POST_PROMOTION a blue-green rollout's. */
  stepAnalysis: Record<number, AnalysisRunPhase>;
  /** The same runs' names and messages, by the same keys: what the status reports about them (optional: a
   * decision never depends on them). */
  analysisRunRefs?: Record<number, AnalysisRunRef>;
  /** The current revision's Experiments (experiment steps), by step index: their phase. */
  experiments?: Record<number, AnalysisRunPhase>;
  /** The same Experiments' templates, by step index: their Services and available pods (for routed templates). */
  experimentTemplates?: Record<number, ExperimentTemplateView[]>;
  /** While spec.restartAt is pending: per revision hash, how many running pods were created before it. */
  restartPending?: Record<string, number>;
}

/** Everything one canary decision depends on. */
export interface Observed extends ObservedBase {
  stepsHash: string;
  /** The revision hash each Service's selector is pinned to now (undefined: not pinned, or no such Service). */
  serviceSelectors: { canary?: string; stable?: string };
  /** Answers of the webhook gates the shell called this reconcile, by type (see gates.ts). */
  gates?: GateResults;
}

/** Everything one blue-green decision depends on. */
export interface BlueGreenObserved extends ObservedBase {
  /** The revision hash the active and preview Services select now (undefined: not pinned, or no such Service). */
  serviceSelectors: { active?: string; preview?: string };
  /** Answers of the webhook gates the shell called this reconcile, by type (see gates.ts). */
  gates?: GateResults;
}

export type ServiceRole = 'canary' | 'stable' | 'active' | 'preview';

export type Action =
  | { kind: 'createReplicaSet'; hash: string; replicas: number }
  | { kind: 'scaleReplicaSet'; name: string; replicas: number }
  /** Persist a scale-down deadline on the ReplicaSet (an annotation), so a restart keeps the delay. */
  | { kind: 'markScaleDown'; name: string; at: number }
  /** Drop a scale-down deadline: the ReplicaSet serves again (a blue-green rollback within the delay). */
  | { kind: 'unmarkScaleDown'; name: string }
  | { kind: 'pinService'; role: ServiceRole; hash: string }
  /**
   * `additional`: the experiment templates' Services that get traffic too (from the stable's share); `remove`: those
   * that had some and no longer do. Unset: none either way.
   */
  | { kind: 'setWeight'; weight: number; canaryHash: string; stableHash: string; additional?: AdditionalDestination[]; remove?: string[] }
  | { kind: 'setHeaderRoute'; name: string; match: unknown[] }
  | { kind: 'setMirrorRoute'; name: string; percentage: number; match: unknown[] }
  | { kind: 'removeManagedRoutes' }
  /** The rollout finished: routing objects that exist only for a canary (NGINX's canary Ingress) go away. */
  | { kind: 'finishRouting' }
  | { kind: 'createAnalysisRun'; stepIndex: number; analysis: RolloutAnalysis }
  /** Ends a run that no longer decides anything (its step was promoted past, or the rollout finished or aborted). */
  | { kind: 'terminateAnalysisRun'; stepIndex: number }
  /** A retry starts over: the previous attempt's runs go, so the steps measure afresh. */
  | { kind: 'deleteAnalysisRun'; stepIndex: number }
  | { kind: 'deleteReplicaSet'; name: string }
  /** An experiment step starts its Experiment; a step left behind, an abort or a promotion terminates it. */
  | { kind: 'createExperiment'; stepIndex: number; experiment: RolloutExperimentStep }
  | { kind: 'terminateExperiment'; stepIndex: number }
  /** A retry starts over: the previous attempt's Experiments go, like its runs. */
  | { kind: 'deleteExperiment'; stepIndex: number }
  /** The current revision's ReplicaSet was reused (a rollback): it takes the next revision number, as in Argo. */
  | { kind: 'setRevision'; name: string; revision: number }
  /** Evict `count` pods of a revision created before `before` (restartAt), oldest first; PDBs are honoured. */
  | { kind: 'restartPods'; hash: string; count: number; before: string };

export interface EngineEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface Decision {
  /** In order: the shell performs them one after another and stops at the first failure. */
  actions: Action[];
  status: RolloutStatus;
  /** Reconcile again after this long (a pause ending, a scale-down deadline); undefined: wait for an event. */
  requeueAfterMs?: number;
  events: EngineEvent[];
  /** Webhook types the engine consulted (held on those without an answer): the shell keeps their answers fresh. */
  needGates?: RolloutWebhookType[];
}

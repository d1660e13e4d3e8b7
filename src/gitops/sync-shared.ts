// Names and types shared by the stages of one Application reconcile (sync.ts sequences them). Kept apart from
// sync.ts so the stage modules need not import the module that imports them.
import type { ApplicationStatus } from '../api/application/schema.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import type { Discovery } from '../kube/discovery.ts';
import type { ResourceType } from '../kube/resource.ts';
import type { Health } from './health/health.ts';
import type { AppId, ObjectRef, PlannedObject } from './plan/plan.ts';
import type { GitSource } from './source/git.ts';
import type { HelmRepository } from './source/helmrepo.ts';

/** Argo CD's condition types, so alerts written for Argo CD keep working. */
export const COMPARISON_ERROR = 'ComparisonError';
export const SYNC_ERROR = 'SyncError';
/** Set to a new value (a timestamp) to make the next reconcile check Git at once instead of at the next poll. */
export const REFRESH_ANNOTATION = 'sluice.dev/refresh';
/**
 * Set to a new value (a timestamp) to run one sync now, automated or not (the CLI's `sync` verb). Prune follows
 * syncPolicy.automated.prune, or is asked for by the word `prune` after the value ("2026-01-01T00:00:00Z prune",
 * what `kubectl sluice app sync --prune` writes). The request holds until its operation finishes (a sync waiting on
 * a wave keeps it). The handled value is remembered in memory only: after a restart a still-present value causes
 * one more sync, which is harmless (a sync is idempotent).
 */
export const SYNC_ANNOTATION = 'sluice.dev/sync';

/** Does a sync request's value ask for prune? */
export const syncRequestPrunes = (value: string | undefined): boolean => value?.trim().split(/\s+/).slice(1).includes('prune') === true;

/** How often a sync that waits for a wave's health looks again. */
export const WAVE_POLL_MS = 2_000;

export type SyncResultResource = NonNullable<NonNullable<NonNullable<ApplicationStatus['operationState']>['syncResult']>['resources']>[number];
export type ResourceStatus = NonNullable<ApplicationStatus['resources']>[number];

export interface SyncDeps {
  /** The destination cluster's client (the operator's own, or a remote cluster's). */
  client: KubeClient;
  /** The operator's own cluster, where the Application and its Git credentials live (default: client). */
  homeClient?: KubeClient;
  discovery: Discovery;
  source: GitSource;
  /** Charts from Helm repositories (source.chart); without it such sources are a ComparisonError. */
  charts?: HelmRepository;
  /**
   * Live objects from a label-selected watch when it has synced ('unknown' before). A miss is an object that does
   * not exist or does not carry the instance label yet.
   */
  liveFromCache?: (rt: ResourceType, namespace: string, name: string) => KubeObject | undefined | 'unknown';
  /** Resolves when the watches of these kinds have listed (or at the deadline): one list instead of a GET each. */
  waitForWatches?: (kinds: ResourceType[], timeoutMs: number) => Promise<void>;
  /** Told of every kind the app manages, so the controller can watch it. */
  onKinds?: (kinds: ResourceType[]) => void;
  /** With sharding: this replica's shard id, which every applied object carries as its owner label (plan.ts). */
  shard?: string;
  /**
   * With sharding: takes over the live objects of these planned ones from a previous owner shard (gitops/shard.ts)
   * and says how many it relabelled and whether it could look at every kind. Runs before an app's compares in this
   * replica until it is complete.
   */
  adopt?: (app: AppId, objects: readonly PlannedObject[]) => Promise<{ moved: number; complete: boolean }>;
}

export interface SourceCheck {
  at: number;
  key: string;
  commit: string;
  base?: string;
  fetchRef?: string;
}

/** Where one source's last check is kept (the app's memory itself for spec.source). */
export interface SourceMemory {
  source?: SourceCheck;
}

/** What the controller remembers between reconciles of one app; losing it (a restart) costs one full compare. */
export interface AppMemory {
  /**
   * refKey → what was last found in sync: the live resourceVersion, the desired manifest's fingerprint, and the
   * live state (drift.ts liveState) then.
   */
  inSync: Map<string, { rv: string; fp: string; state: string }>;
  /** The last ls-remote: reconciles triggered by managed objects within the poll interval reuse its commit. */
  source?: SourceCheck;
  /** With spec.sources: each source's last check, in spec order (`source` then holds the oldest). */
  sources?: (SourceMemory | undefined)[];
  /** The value of the sync annotation last acted on. */
  syncToken?: string;
  /**
   * Sharded: the app's managed objects were taken over by this shard since it arrived here. Cleared when one of them
   * leaves this shard's watches (deleted, or its label edited away), so the next reconcile looks again.
   */
  adopted?: boolean;
}

export interface SyncOutcome {
  status: ApplicationStatus;
  requeueAfterMs: number;
  events: { type: 'Normal' | 'Warning'; reason: string; message: string }[];
}

/** One planned object compared with the cluster. */
export interface Compared {
  obj: PlannedObject;
  rt: ResourceType | undefined;
  live: KubeObject | undefined;
  synced: boolean;
  health: Health;
  message?: string;
  /** What a sync applies: the planned manifest with spec.ignoreDifferences respected against `live`. */
  manifest?: KubeObject;
}

/** What one sync run did: the operation's phase, per-object results, the compare updated by the applies. */
export interface SyncRun {
  phase: 'Running' | 'Failed' | 'Succeeded';
  message: string;
  results: SyncResultResource[];
  compared: Compared[];
  /** Not pruned (the delete failed, or the run stopped before the prune stage): they stay in the inventory. */
  failedPrunes: ObjectRef[];
}

/** An object reference as status.resources and syncResult spell it (empty group and namespace left out). */
export function refFields(r: ObjectRef): { group?: string; version?: string; kind: string; namespace?: string; name: string } {
  return { ...(r.group !== '' ? { group: r.group } : {}), ...(r.version !== undefined ? { version: r.version } : {}), kind: r.kind, ...(r.namespace !== '' ? { namespace: r.namespace } : {}), name: r.name };
}

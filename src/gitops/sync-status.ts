// The status stage of a reconcile: what a sync run makes of operationState, history and Events, and the
// Application's status from the compare. Pure.
import type { Application, ApplicationStatus } from '../api/application/schema.ts';
import { HISTORY_LIMIT } from '../api/application/schema.ts';
import { removeCondition, setCondition } from '../api/common/conditions.ts';
import { worst, type Health } from './health/health.ts';
import type { ObjectRef, Plan } from './plan/plan.ts';
import { COMPARISON_ERROR, refFields, SYNC_ERROR, type Compared, type ResourceStatus, type SyncOutcome, type SyncResultResource, type SyncRun } from './sync-shared.ts';

type Operation = NonNullable<ApplicationStatus['operationState']>;
type History = NonNullable<ApplicationStatus['history']>;

/**
 * How a revision is recorded: `revision` for spec.source, `revisions` (one per source, in spec order) for
 * spec.sources, as Argo CD does. `commit` is then the revisions joined by commas (revisionOf reverses it).
 */
export function revisionFields(commit: string, revisions: string[] | undefined): { revision: string } | { revisions: string[] } {
  return revisions === undefined ? { revision: commit } : { revisions };
}

/** The revision an operation or sync status was at, in the joined form the reconcile compares with. */
export function revisionOf(r: { revision?: string | undefined; revisions?: string[] | undefined } | undefined): string | undefined {
  return r?.revisions !== undefined ? r.revisions.join(',') : r?.revision;
}

/** A render, plan or source failure: nothing was applied or pruned. */
export function comparisonError(prev: ApplicationStatus, message: string, now: string, revision?: string, revisions?: string[]): ApplicationStatus {
  // The inventory (resources) and history stay: nothing was applied or pruned, and the next good render resumes.
  const keep = prev.sync?.revisions !== undefined ? { revisions: prev.sync.revisions } : prev.sync?.revision !== undefined ? { revision: prev.sync.revision } : {};
  return {
    ...prev,
    sync: { status: 'Unknown', ...(revision !== undefined ? revisionFields(revision, revisions) : keep) },
    conditions: setCondition(prev.conditions, { type: COMPARISON_ERROR, status: 'True', reason: 'ComparisonError', message }, now),
  };
}

/** The operation state and history after a sync run, and the Events it is worth (added to `events`). */
export function afterRun(
  prev: ApplicationStatus,
  run: SyncRun,
  o: { commit: string; revisions?: string[]; continuing: boolean; manual: boolean; startedAt: string; now: () => string; spec: Pick<Application['spec'], 'source' | 'sources'>; events: SyncOutcome['events'] },
): { operation: Operation; history: History } {
  const lastOp = prev.operationState;
  const finished = run.phase !== 'Running';
  // A failure at the commit that failed last time (not a person's request) is one more retry.
  const retried = run.phase === 'Failed' && lastOp?.phase === 'Failed' && revisionOf(lastOp.syncResult) === o.commit && !o.manual;
  const operation: Operation = {
    phase: run.phase,
    message: run.message,
    ...(retried ? { retryCount: (lastOp.retryCount ?? 0) + 1 } : {}),
    startedAt: o.startedAt,
    ...(finished ? { finishedAt: o.now() } : {}),
    // An operation waiting on a wave continues: the results of earlier stages carry over.
    syncResult: { ...revisionFields(o.commit, o.revisions), resources: o.continuing ? mergeResults(lastOp?.syncResult?.resources ?? [], run.results) : run.results },
  };
  let history = prev.history ?? [];
  if (run.phase === 'Succeeded') {
    const last = history[history.length - 1];
    const what = o.revisions === undefined ? { source: o.spec.source } : { revisions: o.revisions, sources: o.spec.sources };
    history = [...history, { id: (last?.id ?? -1) + 1, revision: o.commit, deployedAt: o.now(), ...what }].slice(-HISTORY_LIMIT);
    o.events.push({ type: 'Normal', reason: 'SyncSucceeded', message: `synced ${o.commit.slice(0, 7)}: ${run.message}` });
  } else if (run.phase !== 'Running') {
    o.events.push({ type: 'Warning', reason: 'SyncFailed', message: `sync of ${o.commit.slice(0, 7)} failed: ${run.message}` });
  }
  return { operation, history };
}

/** The Application's status after a compare (and maybe a sync) at `commit`. */
export function finalStatus(
  prev: ApplicationStatus,
  o: { commit: string; revisions?: string[]; compared: Compared[]; plan: Plan; failedPrunes: ObjectRef[]; operation: Operation | undefined; history: History; now: () => string },
): ApplicationStatus {
  const wave = (r: ObjectRef): { syncWave?: number } => (r.syncWave !== undefined ? { syncWave: r.syncWave } : {});
  const resources: ResourceStatus[] = [
    ...o.compared.map((c) => ({ ...refFields(c.obj.ref), status: c.synced ? ('Synced' as const) : ('OutOfSync' as const), health: c.health, ...wave(c.obj.ref) })),
    // Still tracked: kept because prune is off, the render is empty, or the delete failed.
    ...o.plan.orphaned.map((x) => ({ ...refFields(x.ref), status: 'OutOfSync' as const, ...wave(x.ref) })),
    ...o.failedPrunes.map((r) => ({ ...refFields(r), status: 'OutOfSync' as const, ...wave(r) })),
  ];
  const synced = resources.every((r) => r.status === 'Synced');
  let conditions = removeCondition(prev.conditions, COMPARISON_ERROR);
  conditions =
    o.operation?.phase === 'Failed' || o.operation?.phase === 'Error'
      ? setCondition(conditions, { type: SYNC_ERROR, status: 'True', reason: 'SyncFailed', message: o.operation.message }, o.now())
      : removeCondition(conditions, SYNC_ERROR);
  return {
    ...prev,
    sync: { status: synced ? 'Synced' : 'OutOfSync', ...revisionFields(o.commit, o.revisions) },
    health: stripEmpty(worst(o.compared.map((c) => c.health))),
    resources,
    conditions,
    history: o.history,
    ...(o.operation !== undefined ? { operationState: o.operation } : {}),
  };
}

/** Results of earlier reconciles of one operation, updated by this one's (same object: the newer result wins). */
function mergeResults(earlier: SyncResultResource[], later: SyncResultResource[]): SyncResultResource[] {
  const key = (r: SyncResultResource): string => `${r.group ?? ''}/${r.kind}:${r.namespace ?? ''}/${r.name}`;
  const laterKeys = new Set(later.map(key));
  return [...earlier.filter((r) => !laterKeys.has(key(r))), ...later];
}

function stripEmpty(h: Health): Health {
  return h.message === undefined ? { status: h.status } : h;
}

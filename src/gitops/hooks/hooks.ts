// Sync hooks and phases, as Argo CD has them: a rendered object annotated `argocd.argoproj.io/hook` (or Sluice's
// `sluice.dev/hook`, or a Helm hook mapped the way Argo CD maps it) is not a managed resource but a step of every sync
// operation: PreSync hooks run before anything is applied, Sync hooks after the waves, PostSync hooks once all is
// healthy, SyncFail hooks when the operation fails. Pure: annotations and observations in, decisions out.
import type { Manifest } from '../render/yaml.ts';

export const ARGO_HOOK = 'argocd.argoproj.io/hook';
export const SLUICE_HOOK = 'sluice.dev/hook';
export const ARGO_HOOK_DELETE_POLICY = 'argocd.argoproj.io/hook-delete-policy';
export const SLUICE_HOOK_DELETE_POLICY = 'sluice.dev/hook-delete-policy';
export const HELM_HOOK = 'helm.sh/hook';
export const HELM_HOOK_WEIGHT = 'helm.sh/hook-weight';
export const HELM_HOOK_DELETE_POLICY = 'helm.sh/hook-delete-policy';
/** On a hook object Sluice created: the operation (its start time) it belongs to. */
export const HOOK_OPERATION = 'sluice.dev/hook-operation';

export const PHASES = ['PreSync', 'Sync', 'PostSync', 'SyncFail'] as const;
export type HookPhase = (typeof PHASES)[number];
export type DeletePolicy = 'BeforeHookCreation' | 'HookSucceeded' | 'HookFailed';
const DELETE_POLICIES: DeletePolicy[] = ['BeforeHookCreation', 'HookSucceeded', 'HookFailed'];

export type HookSpec =
  | { kind: 'resource' }
  /** Never applied (Argo CD's `Skip`, Helm's test and delete hooks, which a sync has no moment for). */
  | { kind: 'skip'; reason: string }
  | { kind: 'hook'; phases: HookPhase[]; deletePolicies: DeletePolicy[]; /** helm.sh/hook-weight, when Helm's. */ weight?: number }
  | { kind: 'error'; message: string };

const list = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** Helm's hook names → Argo CD's phases (pre-install/upgrade → PreSync, post-* → PostSync; tests and deletes skipped). */
const HELM_PHASES: Record<string, HookPhase | 'skip'> = {
  'pre-install': 'PreSync',
  'pre-upgrade': 'PreSync',
  'post-install': 'PostSync',
  'post-upgrade': 'PostSync',
  'pre-rollback': 'skip',
  'post-rollback': 'skip',
  'pre-delete': 'skip',
  'post-delete': 'skip',
  test: 'skip',
  'test-success': 'skip',
  'test-failure': 'skip',
  'crd-install': 'skip',
};
const HELM_DELETE: Record<string, DeletePolicy> = { 'before-hook-creation': 'BeforeHookCreation', 'hook-succeeded': 'HookSucceeded', 'hook-failed': 'HookFailed' };

/**
 * What an object is to a sync. Argo CD's (or Sluice's) annotation wins over Helm's. Without a delete policy a hook
 * is deleted before it is created again (Argo CD's default, so a Job of the last sync never blocks the next).
 */
export function hookSpec(m: Manifest): HookSpec {
  const a = m.metadata.annotations ?? {};
  const own = a[SLUICE_HOOK] ?? a[ARGO_HOOK];
  if (own !== undefined) {
    const names = list(own);
    if (names.includes('Skip')) return { kind: 'skip', reason: 'hook Skip' };
    const bad = names.find((n) => !(PHASES as readonly string[]).includes(n));
    if (bad !== undefined || names.length === 0) return { kind: 'error', message: `hook ${JSON.stringify(own)}: expected PreSync, Sync, PostSync, SyncFail or Skip` };
    const policies = list(a[SLUICE_HOOK_DELETE_POLICY] ?? a[ARGO_HOOK_DELETE_POLICY]);
    const badPolicy = policies.find((p) => !(DELETE_POLICIES as string[]).includes(p));
    if (badPolicy !== undefined) return { kind: 'error', message: `hook-delete-policy ${JSON.stringify(badPolicy)}: expected ${DELETE_POLICIES.join(', ')}` };
    return { kind: 'hook', phases: names as HookPhase[], deletePolicies: policies.length > 0 ? (policies as DeletePolicy[]) : ['BeforeHookCreation'] };
  }
  const helm = a[HELM_HOOK];
  if (helm === undefined) return { kind: 'resource' };
  const mapped = list(helm).map((h) => HELM_PHASES[h]);
  const phases = [...new Set(mapped.filter((p): p is HookPhase => p !== undefined && p !== 'skip'))];
  if (phases.length === 0) return { kind: 'skip', reason: `Helm hook ${helm}` };
  const policies = [...new Set(list(a[HELM_HOOK_DELETE_POLICY]).flatMap((p) => HELM_DELETE[p] ?? []))];
  const weight = Number(a[HELM_HOOK_WEIGHT] ?? '0');
  return { kind: 'hook', phases, deletePolicies: policies.length > 0 ? policies : ['BeforeHookCreation'], weight: Number.isInteger(weight) ? weight : 0 };
}

/** A hook's state in this operation, as recorded in syncResult (hookPhase). */
export type HookRunPhase = 'Running' | 'Succeeded' | 'Failed';

/** What the cluster and the operation's record say about one hook. */
export interface HookObservation {
  /** Recorded by an earlier reconcile of this operation. */
  recorded: HookRunPhase | undefined;
  /** The live object: absent, created by this operation, or left by an earlier one. */
  live: 'absent' | 'ours' | 'older';
  /** For a live object of this operation: finished? */
  outcome: 'running' | 'succeeded' | 'failed';
  deletePolicies: DeletePolicy[];
}

export type HookStep =
  | { do: 'create'; deleteOlderFirst: boolean; /** An older object without BeforeHookCreation: applied over. */ over: boolean }
  | { do: 'wait' }
  | { do: 'done'; phase: 'Succeeded' | 'Failed'; deleteNow: boolean; message?: string };

/** The next step for one hook of the phase being run. */
export function hookStep(o: HookObservation): HookStep {
  if (o.recorded === 'Succeeded' || o.recorded === 'Failed') return { do: 'done', phase: o.recorded, deleteNow: false };
  if (o.live === 'ours') {
    if (o.outcome === 'running') return { do: 'wait' };
    const phase = o.outcome === 'succeeded' ? 'Succeeded' : 'Failed';
    return { do: 'done', phase, deleteNow: o.deletePolicies.includes(phase === 'Succeeded' ? 'HookSucceeded' : 'HookFailed') };
  }
  // Created by this operation and gone before it finished: someone deleted it.
  if (o.recorded === 'Running') return { do: 'done', phase: 'Failed', deleteNow: false, message: 'deleted while running' };
  const before = o.deletePolicies.includes('BeforeHookCreation');
  return { do: 'create', deleteOlderFirst: o.live === 'older' && before, over: o.live === 'older' && !before };
}

/** Did a live hook of kind `kind` finish? Pods and Jobs run to completion; anything else is done once it exists. */
export function hookOutcome(kind: string, health: { status: string }, podPhase?: string): HookObservation['outcome'] {
  if (kind === 'Pod') return podPhase === 'Succeeded' ? 'succeeded' : podPhase === 'Failed' ? 'failed' : 'running';
  if (health.status === 'Healthy') return 'succeeded';
  if (health.status === 'Degraded') return 'failed';
  return 'running';
}

// Argo CD's `strategy.deletionOrder: Reverse`: deleting a RollingSync set deletes its Applications step by step in
// reverse (prod before staging before dev), each step only once the later one's Applications are gone (their
// resources finalizer done). A finalizer on the set holds it meanwhile; Kubernetes' garbage collector would
// otherwise delete them all at once. (A foreground delete of the set still does: it deletes dependents first.)
import type { RollingSyncStep } from '../../api/applicationset/schema.ts';
import type { KubeClient, KubeObject } from '../../kube/client.ts';
import { R } from '../../kube/resource.ts';
import { stepOf } from './rollingsync.ts';

export const REVERSE_DELETION_FINALIZER = 'sluice.dev/applicationset-reverse-deletion';

export interface GeneratedApp {
  name: string;
  labels: Record<string, string>;
  /** Its deletion has started (waiting for its resources finalizer). */
  deleting: boolean;
}

export type DeletionStep = { done: true } | { done: false; step: number; remove: string[]; waitingFor: string[] };

/**
 * Pure: which Applications to delete now. The last step that still has Applications goes first (Applications no
 * step selects count as after the last); its members not yet deleting are deleted, and the rest waits for them.
 */
export function reverseDeletion(steps: readonly RollingSyncStep[], apps: readonly GeneratedApp[]): DeletionStep {
  if (apps.length === 0) return { done: true };
  const stepped = apps.map((a) => ({ a, step: stepOf(steps, a.labels) }));
  const last = Math.max(...stepped.map((s) => s.step));
  const group = stepped.filter((s) => s.step === last).map((s) => s.a);
  return { done: false, step: last, remove: group.filter((a) => !a.deleting).map((a) => a.name).sort(), waitingFor: group.filter((a) => a.deleting).map((a) => a.name).sort() };
}

/** Whether a set wants the finalizer: Reverse deletion under RollingSync. */
export const wantsReverseDeletion = (spec: { strategy?: { type?: string; deletionOrder?: string } }): boolean => spec.strategy?.type === 'RollingSync' && spec.strategy.deletionOrder === 'Reverse';

/** Adds or removes the finalizer, conditional on the list read (a concurrent change fails the patch; the next reconcile retries). */
export async function setReverseFinalizer(client: KubeClient, set: KubeObject, want: boolean): Promise<void> {
  const current = Array.isArray(set.metadata?.finalizers) ? (set.metadata.finalizers as string[]) : [];
  const has = current.includes(REVERSE_DELETION_FINALIZER);
  if (has === want) return;
  const next = want ? [...current, REVERSE_DELETION_FINALIZER] : current.filter((f) => f !== REVERSE_DELETION_FINALIZER);
  await client.jsonPatch(R.applicationSet, set.metadata?.namespace ?? '', set.metadata?.name ?? '', [
    current.length === 0 && set.metadata?.finalizers === undefined ? { op: 'test', path: '/metadata/name', value: set.metadata?.name ?? '' } : { op: 'test', path: '/metadata/finalizers', value: current },
    { op: current.length === 0 && set.metadata?.finalizers === undefined ? 'add' : 'replace', path: '/metadata/finalizers', value: next },
  ]);
}

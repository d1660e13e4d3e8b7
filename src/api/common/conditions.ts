import type { Condition } from './meta.ts';

export interface ConditionInput {
  type: string;
  status: Condition['status'];
  reason?: string;
  message?: string;
}

/**
 * Sets one condition, keeping the others in place. lastTransitionTime moves only when the status flips, so
 * `kubectl wait` and alerts see real transitions; lastUpdateTime (Argo's field) moves when anything changes.
 * Returns the same array when nothing would change, so callers can skip the write.
 */
export function setCondition(conditions: readonly Condition[] | undefined, next: ConditionInput, now: string): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const old = list[i];
  if (old !== undefined && old.status === next.status && old.reason === next.reason && old.message === next.message) return conditions as Condition[];
  const cond: Condition = {
    ...next,
    lastTransitionTime: old !== undefined && old.status === next.status ? old.lastTransitionTime : now,
    lastUpdateTime: now,
  };
  if (i < 0) list.push(cond);
  else list[i] = cond;
  return list;
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

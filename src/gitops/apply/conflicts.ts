// What to do when server-side apply reports that another field manager owns a field Git declares. Pure.
//
// Sluice's rule (DESIGN invariant 7, made precise):
// - a field another manager owns through **Apply** is that controller's declared intent (the Rollout controller's
//   replicas and traffic weights, another GitOps tool's fields): Sluice stops declaring it and never reverts it;
// - a field written through the **scale** subresource (`kubectl scale`, a HorizontalPodAutoscaler) is respected the
//   same way, so autoscaling needs no ignoreDifferences;
// - a field taken over by an imperative **Update** of the object itself (`kubectl edit`, `kubectl patch`, a script's
//   PUT) is drift from Git: the apply takes it back (force), which is what self-heal means.
// A conflict we cannot attribute (unknown manager or path) is respected: when in doubt, do not revert.
import { fieldSetContains } from './fieldpath.ts';

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsV1?: unknown;
}

export interface ConflictCause {
  field?: string;
  message?: string;
}

export interface FieldConflict {
  field: string;
  manager: string;
  /** 'respect': stop declaring the field; 'override': apply with force to take it back. */
  action: 'respect' | 'override';
  why: string;
}

const MANAGER = /conflict with "([^"]+)"/;

export function classifyConflicts(causes: ConflictCause[], managedFields: ManagedFieldsEntry[]): FieldConflict[] {
  return causes.flatMap((c): FieldConflict[] => {
    if (c.field === undefined || c.field === '') return [];
    const manager = MANAGER.exec(c.message ?? '')?.[1] ?? 'unknown';
    const owners = managedFields.filter((e) => e.manager === manager && fieldSetContains(e.fieldsV1, c.field ?? ''));
    if (owners.length === 0) return [{ field: c.field, manager, action: 'respect', why: 'owner not found in managedFields' }];
    const declared = owners.find((e) => e.operation === 'Apply');
    if (declared !== undefined) return [{ field: c.field, manager, action: 'respect', why: 'applied by another manager' }];
    if (owners.some((e) => e.subresource === 'scale')) return [{ field: c.field, manager, action: 'respect', why: 'written through the scale subresource' }];
    return [{ field: c.field, manager, action: 'override', why: 'imperative edit (Update) of a field Git declares' }];
  });
}

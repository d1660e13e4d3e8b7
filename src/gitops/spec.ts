// The first decision of every Application reconcile: can Sluice sync this spec? Pure.
import { checkSpec, type SpecCheck } from '../api/common/check.ts';
import { removeCondition, setCondition } from '../api/common/conditions.ts';
import { jsonEqual } from '../api/common/equal.ts';
import { formatSpecErrors } from '../api/common/errors.ts';
import type { Condition } from '../api/common/meta.ts';
import { applicationSchema, type Application, type ApplicationStatus } from '../api/application/schema.ts';
import { validateApplication } from '../api/application/validate.ts';

/** Argo CD's condition type for the same situation, so dashboards and alerts written for it still match. */
export const INVALID_SPEC_ERROR = 'InvalidSpecError';

/**
 * The status is left out: it is Sluice's own output (read from `raw.status` where needed), and parsing a thousand
 * resource entries on every reconcile cost more than the rest of a quiet reconcile.
 */
export function checkApplication(raw: unknown): SpecCheck<Application> {
  const withoutStatus = typeof raw === 'object' && raw !== null && 'status' in raw ? { ...raw, status: undefined } : raw;
  return checkSpec(applicationSchema, withoutStatus, validateApplication);
}

export interface AppSpecStatus {
  observedGeneration: number;
  conditions: Condition[];
}

export function appSpecStatus(current: ApplicationStatus | undefined, check: SpecCheck<unknown>, generation: number, now: string): AppSpecStatus {
  const conditions = check.ok
    ? removeCondition(current?.conditions, INVALID_SPEC_ERROR)
    : setCondition(current?.conditions, { type: INVALID_SPEC_ERROR, status: 'True', reason: 'InvalidSpec', message: formatSpecErrors(check.errors) }, now);
  return { observedGeneration: generation, conditions };
}

export function appSpecStatusChanged(current: ApplicationStatus | undefined, next: AppSpecStatus): boolean {
  return current?.observedGeneration !== next.observedGeneration || !jsonEqual(current?.conditions ?? [], next.conditions);
}

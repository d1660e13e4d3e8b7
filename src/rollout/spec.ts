// The first decision of every Rollout reconcile: is the spec one Sluice can act on? Pure.
import { checkSpec, type SpecCheck } from '../api/common/check.ts';
import { removeCondition, setCondition } from '../api/common/conditions.ts';
import { jsonEqual } from '../api/common/equal.ts';
import { formatSpecErrors } from '../api/common/errors.ts';
import type { Condition } from '../api/common/meta.ts';
import { normalizeRollout } from '../api/rollout/normalize.ts';
import { rolloutSchema, type Rollout, type RolloutStatus } from '../api/rollout/schema.ts';
import { validateRollout, type RolloutValidationContext } from '../api/rollout/validate.ts';

export const INVALID_SPEC = 'InvalidSpec';

export function checkRollout(raw: unknown, ctx?: RolloutValidationContext): SpecCheck<Rollout> {
  const checked = checkSpec(rolloutSchema, raw, (r) => validateRollout(normalizeRollout(r), ctx));
  return checked.ok ? { ok: true, value: normalizeRollout(checked.value) } : checked;
}

/** The status fields the spec check owns. */
export interface SpecStatus {
  observedGeneration: string;
  conditions: Condition[];
  phase?: 'Degraded';
  message?: string;
}

/**
 * An invalid spec: InvalidSpec=True naming every bad field, phase Degraded (as Argo Rollouts reports it).
 * A valid one: no InvalidSpec condition. observedGeneration says which spec was judged.
 */
export function specStatus(current: RolloutStatus | undefined, check: SpecCheck<unknown>, generation: number, now: string): SpecStatus {
  const observedGeneration = String(generation);
  if (check.ok) return { observedGeneration, conditions: removeCondition(current?.conditions, INVALID_SPEC) };
  const message = formatSpecErrors(check.errors);
  return {
    observedGeneration,
    conditions: setCondition(current?.conditions, { type: INVALID_SPEC, status: 'True', reason: INVALID_SPEC, message }, now),
    phase: 'Degraded',
    message: `${INVALID_SPEC}: ${message}`,
  };
}

/** Whether writing `next` would change what the object shows (no write, no event otherwise). */
export function specStatusChanged(current: RolloutStatus | undefined, next: SpecStatus): boolean {
  // A phase and message are ours only while they report an invalid spec; others are left alone.
  const oursShown = current?.message?.startsWith(`${INVALID_SPEC}:`) === true;
  return (
    String(current?.observedGeneration ?? '') !== next.observedGeneration ||
    (next.phase !== undefined || oursShown ? current?.phase !== next.phase || current?.message !== next.message : false) ||
    !jsonEqual(current?.conditions ?? [], next.conditions)
  );
}

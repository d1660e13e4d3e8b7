// Rules Argo Rollouts enforces (pkg/apis/rollouts/validation) that protect a user from a Rollout that can never
// progress or that silently means something else: the surge budget, the progress deadline against minReadySeconds,
// dynamicStableScale's needs, and header/mirror matches with exactly one kind of value. Pure.
import type { SpecError } from '../common/errors.ts';
import { fieldPath } from '../common/errors.ts';
import type { IntOrString } from '../common/int-or-string.ts';
import { ROLLOUT_DEFAULTS, type CanaryStrategy, type Rollout } from './schema.ts';

/** An int-or-percent's raw number ("25%" → 25, 3 → 3), or an error message for anything else. */
function intOrPercent(value: IntOrString): { n: number; percent: boolean } | string {
  if (typeof value === 'number') return { n: value, percent: false };
  const m = /^(\d+)%$/.exec(value);
  if (m !== null) return { n: Number(m[1]), percent: true };
  if (/^\d+$/.test(value)) return { n: Number(value), percent: false };
  return `must be a non-negative integer or a percentage like "25%", got "${value}"`;
}

export function limitErrors(rollout: Rollout): SpecError[] {
  const spec = rollout.spec;
  const errors: SpecError[] = [];
  const deadline = spec.progressDeadlineSeconds ?? ROLLOUT_DEFAULTS.progressDeadlineSeconds;
  const minReady = spec.minReadySeconds ?? 0;
  // A pod is not available before minReadySeconds, so a deadline at or under it always expires first.
  if (deadline <= minReady) {
    errors.push({ field: 'spec.progressDeadlineSeconds', message: `must be greater than minReadySeconds (${minReady}), got ${deadline}${spec.progressDeadlineSeconds === undefined ? ' (the default)' : ''}` });
  }
  const canary = spec.strategy?.canary;
  if (canary !== undefined) errors.push(...canaryLimitErrors(canary));
  return errors;
}

function canaryLimitErrors(canary: CanaryStrategy): SpecError[] {
  const base = 'spec.strategy.canary';
  const errors: SpecError[] = [];
  const surge = intOrPercent(canary.maxSurge ?? ROLLOUT_DEFAULTS.maxSurge);
  const unavailable = intOrPercent(canary.maxUnavailable ?? ROLLOUT_DEFAULTS.maxUnavailable);
  if (typeof surge === 'string') errors.push({ field: `${base}.maxSurge`, message: surge });
  if (typeof unavailable === 'string') errors.push({ field: `${base}.maxUnavailable`, message: unavailable });
  else if (unavailable.percent && unavailable.n > 100) errors.push({ field: `${base}.maxUnavailable`, message: `must not be more than 100%, got "${unavailable.n}%"` });
  // Neither a new pod above the count nor an old one taken away: the rollout could never replace a pod.
  if (typeof surge !== 'string' && typeof unavailable !== 'string' && surge.n === 0 && unavailable.n === 0) {
    errors.push({ field: `${base}.maxSurge`, message: 'maxSurge and maxUnavailable must not both be 0: no pod could ever be replaced' });
  }
  // Argo also refuses scaleDownDelaySeconds without a router; Sluice honours it with replica ratios, so it stays.
  if (canary.trafficRouting === undefined) {
    // Without a router the stable's share of traffic is its share of pods: scaling it with the weight means nothing.
    if (canary.dynamicStableScale === true) errors.push({ field: `${base}.dynamicStableScale`, message: 'needs spec.strategy.canary.trafficRouting' });
  } else if (canary.dynamicStableScale === true && canary.scaleDownDelaySeconds !== undefined) {
    errors.push({ field: `${base}.dynamicStableScale`, message: 'cannot be used with scaleDownDelaySeconds (the stable scales down as traffic leaves it)' });
  }
  (canary.steps ?? []).forEach((step, i) => {
    const at = fieldPath(base, 'steps', i);
    step.setHeaderRoute?.match?.forEach((m, j) => errors.push(...stringMatchErrors(`${fieldPath(`${at}.setHeaderRoute`, 'match', j)}.headerValue`, m.headerValue)));
    step.setMirrorRoute?.match?.forEach((m, j) => {
      const mat = fieldPath(`${at}.setMirrorRoute`, 'match', j);
      if (m.method !== undefined) errors.push(...stringMatchErrors(`${mat}.method`, m.method));
      if (m.path !== undefined) errors.push(...stringMatchErrors(`${mat}.path`, m.path));
      for (const [name, v] of Object.entries(m.headers ?? {})) errors.push(...stringMatchErrors(fieldPath(`${mat}.headers`, name), v));
    });
  });
  return errors;
}

function stringMatchErrors(at: string, m: { exact?: string | undefined; regex?: string | undefined; prefix?: string | undefined }): SpecError[] {
  const set = (['exact', 'regex', 'prefix'] as const).filter((k) => m[k] !== undefined && m[k] !== '');
  if (set.length === 1) return [];
  return [{ field: at, message: `set exactly one of exact, regex, prefix; found ${set.length === 0 ? 'none' : set.join(', ')}` }];
}

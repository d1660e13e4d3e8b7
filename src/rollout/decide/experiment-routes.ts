// Traffic to an experiment step's templates (Argo's `weight` on a template): while the step's Experiment runs, each
// routed template's Service gets its share from the stable's, and loses it as soon as the Experiment ends, the step
// moves on or the rollout aborts. Run last in every pass, so every weight written carries the same destinations.
import type { CanaryCtx } from './canary-stages.ts';
import type { AdditionalDestination } from './types.ts';

/**
 * The destinations the route should hold after this pass: only templates with available pods that their Service's
 * EndpointSlices already publish as ready (a proxy sent there earlier finds no endpoint: 502s).
 */
export function wantedDestinations(c: CanaryCtx): AdditionalDestination[] {
  const { s } = c;
  if (!c.routed || s.abort === true || s.stableRS === undefined || s.stableRS === c.hash) return [];
  const index = s.currentStepIndex ?? 0;
  const step = c.steps[index]?.experiment;
  if (step === undefined || c.experiments[index] !== 'Running') return [];
  const views = c.o.experimentTemplates?.[index] ?? [];
  return step.templates.flatMap((t) => {
    const weight = t.weight ?? 0;
    const v = views.find((x) => x.name === t.name);
    if (weight <= 0 || v?.serviceName === undefined || v.available < 1 || (v.readyEndpoints ?? 0) < 1) return [];
    return [{ serviceName: v.serviceName, weight, ...(v.podTemplateHash !== undefined ? { podTemplateHash: v.podTemplateHash } : {}), ...(v.ports !== undefined ? { ports: v.ports } : {}) }];
  });
}

const key = (d: readonly AdditionalDestination[]): string => JSON.stringify(d.map((x) => [x.serviceName, x.weight]));

/**
 * Puts the wanted destinations on every weight this pass writes, or writes the weight in force again with them when
 * only they changed; the status records them (status.canary.weights.additional, as Argo) with the stable's real share.
 */
export function routeExperiments(c: CanaryCtx): void {
  const applied = c.o.status.canary?.weights?.additional ?? [];
  const wanted = wantedDestinations(c);
  const remove = applied.flatMap((a) => (a.serviceName !== undefined && !wanted.some((w) => w.serviceName === a.serviceName) ? [a.serviceName] : []));
  const extra = { additional: wanted, remove };
  let written = false;
  c.actions.forEach((a, i) => {
    if (a.kind !== 'setWeight') return;
    c.actions[i] = { ...a, ...extra };
    written = true;
  });
  const weights = c.s.canary?.weights;
  const same = key(applied.map((a) => ({ serviceName: a.serviceName ?? '', weight: a.weight ?? 0 }))) === key(wanted);
  if (!written && !same) {
    c.actions.push({ kind: 'setWeight', weight: weights?.canary?.weight ?? 0, canaryHash: weights?.canary?.podTemplateHash ?? c.hash, stableHash: weights?.stable?.podTemplateHash ?? c.s.stableRS ?? c.hash, ...extra });
  }
  if (weights === undefined) return;
  const { additional: _was, ...rest } = weights;
  const recorded = wanted.map(({ ports: _ports, ...d }) => d); // the status says who and how much, as Argo's
  const canaryWeight = rest.canary?.weight ?? 0;
  const taken = wanted.reduce((sum, w) => sum + w.weight, 0);
  c.s.canary = {
    ...c.s.canary,
    weights: { ...rest, ...(rest.stable !== undefined ? { stable: { ...rest.stable, weight: 100 - canaryWeight - taken } } : {}), ...(recorded.length > 0 ? { additional: recorded } : {}) },
  };
}

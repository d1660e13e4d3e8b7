// The rules of a Rollout's `experiment` step: the Experiment it writes must be valid (src/api/experiment/validate.ts
// names the same rules on the Experiment itself), so a mistake shows on the Rollout, with the step's path.
import { durationError } from '../common/duration.ts';
import { fieldPath, type SpecError } from '../common/errors.ts';
import { SERVICE_NAME, TEMPLATE_NAME, validateExperimentAnalyses } from '../experiment/validate.ts';
import type { RolloutExperimentStep } from './schema.ts';
import type { RolloutValidationContext } from './validate.ts';

/** Where the step stands for traffic: the Rollout's router and the canary weight in force at the step. */
export interface ExperimentRouting {
  router: 'istio' | 'nginx' | 'gatewayAPI' | 'none';
  weightInForce: number;
}

export function experimentStepErrors(at: string, step: RolloutExperimentStep, ctx: RolloutValidationContext | undefined, routing?: ExperimentRouting): SpecError[] {
  const errors: SpecError[] = [];
  if (step.templates.length === 0) errors.push({ field: `${at}.templates`, message: 'needs at least one template (specRef: canary or stable)' });
  const seen = new Set<string>();
  step.templates.forEach((t, i) => {
    const here = fieldPath(at, 'templates', i);
    if (!TEMPLATE_NAME.test(t.name)) errors.push({ field: `${here}.name`, message: `must be a lowercase DNS label (it names the ReplicaSet), got "${t.name}"` });
    else if (seen.has(t.name)) errors.push({ field: `${here}.name`, message: `duplicate name "${t.name}"` });
    seen.add(t.name);
    if (t.weight !== undefined) errors.push(...weightErrors(`${here}.weight`, t.weight, routing));
    if (t.service?.name !== undefined && !SERVICE_NAME.test(t.service.name)) errors.push({ field: `${here}.service.name`, message: `must be a lowercase DNS label (a Service name), got "${t.service.name}"` });
  });
  const total = step.templates.reduce((sum, t) => sum + Math.max(0, t.weight ?? 0), 0);
  if (routing !== undefined && total > 0 && routing.weightInForce + total > 100) {
    errors.push({ field: `${at}.templates`, message: `the templates' weights (${total}) and the canary's weight in force at this step (${routing.weightInForce}) add up to more than 100` });
  }
  const dur = durationError(`${at}.duration`, step.duration);
  if (dur !== undefined) errors.push(dur);
  errors.push(...validateExperimentAnalyses(`${at}.analyses`, step.analyses, ctx));
  return errors;
}

// Argo sends this share of traffic to the template's own Service; it needs a router that can split among more than
// two Services, and ignoring it would run an experiment the user did not ask for (no traffic reaching the baseline).
function weightErrors(field: string, weight: number, routing: ExperimentRouting | undefined): SpecError[] {
  if (weight < 0 || weight > 100) return [{ field, message: `must be between 0 and 100, got ${weight}` }];
  if (routing === undefined || routing.router === 'istio' || routing.router === 'gatewayAPI') return [];
  const why = routing.router === 'nginx' ? 'NGINX Ingress splits between two Services only' : 'the Rollout has no trafficRouting';
  return [{ field, message: `traffic to an experiment template needs trafficRouting istio or gatewayAPI (${why}): remove weight, or route with one of them` }];
}

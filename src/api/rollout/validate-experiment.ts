// The rules of a Rollout's `experiment` step: the Experiment it writes must be valid (src/api/experiment/validate.ts
// names the same rules on the Experiment itself), so a mistake shows on the Rollout, with the step's path.
import { durationError } from '../common/duration.ts';
import { fieldPath, type SpecError } from '../common/errors.ts';
import { TEMPLATE_NAME, validateExperimentAnalyses } from '../experiment/validate.ts';
import type { RolloutExperimentStep } from './schema.ts';
import type { RolloutValidationContext } from './validate.ts';

export function experimentStepErrors(at: string, step: RolloutExperimentStep, ctx: RolloutValidationContext | undefined): SpecError[] {
  const errors: SpecError[] = [];
  if (step.templates.length === 0) errors.push({ field: `${at}.templates`, message: 'needs at least one template (specRef: canary or stable)' });
  const seen = new Set<string>();
  step.templates.forEach((t, i) => {
    const here = fieldPath(at, 'templates', i);
    if (!TEMPLATE_NAME.test(t.name)) errors.push({ field: `${here}.name`, message: `must be a lowercase DNS label (it names the ReplicaSet), got "${t.name}"` });
    else if (seen.has(t.name)) errors.push({ field: `${here}.name`, message: `duplicate name "${t.name}"` });
    seen.add(t.name);
    // Argo sends this share of traffic to the template's own Service; Sluice does not route it yet, and ignoring it
    // would run an experiment the user did not ask for (no traffic reaching the baseline).
    if (t.weight !== undefined) errors.push({ field: `${here}.weight`, message: 'traffic to experiment templates is not supported by Sluice yet: remove weight (the templates run without traffic from the Rollout\'s router)' });
  });
  const dur = durationError(`${at}.duration`, step.duration);
  if (dur !== undefined) errors.push(dur);
  errors.push(...validateExperimentAnalyses(`${at}.analyses`, step.analyses, ctx));
  return errors;
}

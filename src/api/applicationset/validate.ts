// Semantic rules for an ApplicationSet that need no cluster. Pure. What its generators produce is checked when
// generated (src/gitops/appset): the Applications do not exist before.
import type { SpecError } from '../common/errors.ts';
import type { ApplicationSet } from './schema.ts';

export function validateApplicationSet(set: ApplicationSet): SpecError[] {
  const errors: SpecError[] = [];
  if (set.spec.goTemplate === true) errors.push({ field: 'spec.goTemplate', message: 'Go templates are not supported: use {{param}} placeholders (goTemplate: false)' });
  set.spec.generators.forEach((g, i) => {
    const kinds = (['list', 'clusters', 'git'] as const).filter((k) => g[k] !== undefined);
    if (kinds.length !== 1) errors.push({ field: `spec.generators[${i}]`, message: kinds.length === 0 ? 'names no generator: set one of list, clusters, git' : `names ${kinds.join(' and ')}: one generator per entry (matrix is not supported)` });
  });
  return errors;
}

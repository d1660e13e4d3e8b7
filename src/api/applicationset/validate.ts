// Semantic rules for an ApplicationSet that need no cluster. Pure. What its generators produce is checked when
// generated (src/gitops/appset): the Applications do not exist before.
import type { SpecError } from '../common/errors.ts';
import type { ApplicationSet } from './schema.ts';

export function validateApplicationSet(set: ApplicationSet): SpecError[] {
  const errors: SpecError[] = [];
  if (set.spec.goTemplate === true) errors.push({ field: 'spec.goTemplate', message: 'Go templates are not supported: use {{param}} placeholders (goTemplate: false)' });
  set.spec.generators.forEach((g, i) => errors.push(...validateGenerator(g, `spec.generators[${i}]`, 0)));
  errors.push(...validateStrategy(set));
  return errors;
}

/** A generator at any depth: a matrix's children have the same fields (the innermost matrix is kept as written). */
type AnyGenerator = { list?: unknown; clusters?: unknown; git?: { directories?: unknown[]; files?: unknown[] }; matrix?: { generators?: unknown } };
const KINDS = ['list', 'clusters', 'git', 'matrix'] as const;

/** One generator entry: exactly one kind; git with directories or files; a matrix of two, nested at most once. */
function validateGenerator(g: AnyGenerator, at: string, depth: number): SpecError[] {
  const kinds = KINDS.filter((k) => g[k] !== undefined);
  if (kinds.length !== 1) return [{ field: at, message: kinds.length === 0 ? 'names no generator: set one of list, clusters, git, matrix' : `names ${kinds.join(' and ')}: one generator per entry` }];
  if (g.git !== undefined) {
    const has = (['directories', 'files'] as const).filter((k) => (g.git?.[k] ?? []).length > 0);
    if (has.length !== 1) return [{ field: `${at}.git`, message: has.length === 0 ? 'set directories or files' : 'set directories or files, not both' }];
  }
  if (g.matrix === undefined) return [];
  if (depth >= 2) return [{ field: `${at}.matrix`, message: 'a matrix may hold a matrix only one level deep (Argo CD\'s limit)' }];
  const children = Array.isArray(g.matrix.generators) ? (g.matrix.generators as AnyGenerator[]) : [];
  if (children.length !== 2) return [{ field: `${at}.matrix.generators`, message: `a matrix combines exactly two generators, this one has ${children.length}` }];
  return children.flatMap((c, j) => validateGenerator(c, `${at}.matrix.generators[${j}]`, depth + 1));
}

const MAX_UPDATE = /^(\d+)%$|^\d+$/;

/** Argo CD's strategy: AllAtOnce or RollingSync; steps with In/NotIn expressions and an int-or-percent maxUpdate. */
function validateStrategy(set: ApplicationSet): SpecError[] {
  const s = set.spec.strategy;
  if (s === undefined) return [];
  const errors: SpecError[] = [];
  const type = s.type ?? 'AllAtOnce';
  if (type !== 'AllAtOnce' && type !== 'RollingSync') errors.push({ field: 'spec.strategy.type', message: `"${type}" is not a strategy: AllAtOnce or RollingSync` });
  if (s.deletionOrder !== undefined && s.deletionOrder !== 'AllAtOnce' && s.deletionOrder !== 'Reverse') errors.push({ field: 'spec.strategy.deletionOrder', message: `"${s.deletionOrder}" is not a deletion order: AllAtOnce or Reverse` });
  if (s.deletionOrder === 'Reverse' && type !== 'RollingSync') errors.push({ field: 'spec.strategy.deletionOrder', message: 'Reverse deletes step by step: it needs strategy.type RollingSync' });
  if (type === 'RollingSync' && (s.rollingSync?.steps ?? []).length === 0) errors.push({ field: 'spec.strategy.rollingSync.steps', message: 'RollingSync needs at least one step' });
  (s.rollingSync?.steps ?? []).forEach((step, i) => {
    const at = `spec.strategy.rollingSync.steps[${i}]`;
    (step.matchExpressions ?? []).forEach((e, j) => {
      if (e.operator !== 'In' && e.operator !== 'NotIn') errors.push({ field: `${at}.matchExpressions[${j}].operator`, message: `"${e.operator}" is not supported: In or NotIn` });
      if (e.key === '') errors.push({ field: `${at}.matchExpressions[${j}].key`, message: 'must not be empty' });
      if ((e.values ?? []).length === 0) errors.push({ field: `${at}.matchExpressions[${j}].values`, message: 'must hold at least one value' });
    });
    const m = step.maxUpdate;
    if (m === undefined) return;
    if (typeof m === 'number' ? m < 0 : !MAX_UPDATE.test(m) || Number(m.replace('%', '')) > (m.endsWith('%') ? 100 : Infinity))
      errors.push({ field: `${at}.maxUpdate`, message: `${JSON.stringify(m)} is not a count (0 or more) or a percentage ("0%" to "100%")` });
  });
  return errors;
}

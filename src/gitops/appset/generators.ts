// The generators: each turns its spec (and what the controller observed: the clusters, a repository's tree) into
// parameter sets; a matrix combines two. Pure; the git generators' trees are read by the controller and passed in.
import type { Generator } from '../../api/applicationset/schema.ts';
import { selectorMatches } from '../../api/common/meta.ts';
import { IN_CLUSTER_NAME, IN_CLUSTER_SERVER } from '../../api/application/schema.ts';
import { directoryParams, fileParams, gitKey, normalizeName, type GitTree } from './git.ts';
import { flattenParams, renderString, type Params, type TemplateError } from './template.ts';

export { globToRegExp, normalizeName } from './git.ts';

export interface ClusterInfo {
  name: string;
  server: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
}

/** The operator's own cluster, as the clusters generator offers it when no selector narrows the list. */
export const LOCAL_CLUSTER: ClusterInfo = { name: IN_CLUSTER_NAME, server: IN_CLUSTER_SERVER, labels: {}, annotations: {} };

export interface Observed {
  clusters: readonly ClusterInfo[];
  /** The git generators' repositories, by gitKey(repoURL, revision). */
  git?: ReadonlyMap<string, GitTree>;
}

/** One parameter set and where it came from (conditions name the generator). */
export interface ParamSet {
  params: Params;
  from: string;
}

function clusterParams(c: ClusterInfo, values: Readonly<Record<string, string>> | undefined, at: string, errors: TemplateError[]): Params {
  const p: Record<string, string> = { name: c.name, nameNormalized: normalizeName(c.name), server: c.server, project: '' };
  for (const [k, v] of Object.entries(c.labels)) p[`metadata.labels.${k}`] = v;
  for (const [k, v] of Object.entries(c.annotations)) p[`metadata.annotations.${k}`] = v;
  // values may use the cluster's own parameters (Argo CD renders them first).
  for (const [k, v] of Object.entries(values ?? {})) {
    const unknown = new Set<string>();
    p[`values.${k}`] = renderString(v, p, unknown);
    for (const name of unknown) errors.push({ field: `${at}.values.${k}`, message: `unknown parameter "${name}"` });
  }
  return p;
}

/** A generator at any depth (a matrix's children have the same fields; the schema bounds the nesting). */
export interface AnyGenerator {
  list?: Generator['list'];
  clusters?: Generator['clusters'];
  git?: Generator['git'];
  matrix?: { generators?: unknown };
  selector?: Generator['selector'];
}

const KINDS = ['list', 'clusters', 'git', 'matrix'] as const;

/** Argo CD's matrix merge: a key both sides set must have the same value. */
function merge(a: Params, b: Params): Params | string {
  for (const [k, v] of Object.entries(b)) if (Object.hasOwn(a, k) && a[k] !== v) return k;
  return { ...a, ...b };
}

/** Renders every string of a child generator with the first child's parameters (Argo CD: `{{path}}` in the second). */
function interpolate(g: AnyGenerator, params: Params): AnyGenerator {
  const walk = (v: unknown): unknown =>
    typeof v === 'string' ? renderString(v, params, new Set()) : Array.isArray(v) ? v.map(walk) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)])) : v;
  return walk(g) as AnyGenerator;
}

/** One generator's parameter sets (post selector applied), or undefined when it cannot say (an error is pushed). */
function generateOne(g: AnyGenerator, at: string, observed: Observed, errors: TemplateError[]): ParamSet[] | undefined {
  const kinds = KINDS.filter((k) => g[k] !== undefined);
  // validateApplicationSet names the entry; here it only generates nothing.
  if (kinds.length !== 1) {
    errors.push({ field: at, message: 'one generator per entry: list, clusters, git or matrix' });
    return undefined;
  }
  let out: ParamSet[];
  if (g.list !== undefined) out = g.list.elements.map((e, j) => ({ params: flattenParams(e), from: `${at}.list[${j}]` }));
  else if (g.clusters !== undefined) {
    const sel = g.clusters.selector;
    const empty = sel === undefined || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0);
    const all = empty ? [LOCAL_CLUSTER, ...observed.clusters.filter((c) => c.server !== IN_CLUSTER_SERVER)] : observed.clusters.filter((c) => selectorMatches(sel, c.labels));
    out = [...all].sort((a, b) => a.name.localeCompare(b.name)).map((c, j) => ({ params: clusterParams(c, g.clusters?.values, `${at}.clusters`, errors), from: `${at}.clusters[${j}]` }));
  } else if (g.git !== undefined) {
    const tree = observed.git?.get(gitKey(g.git.repoURL, g.git.revision));
    if (tree === undefined) {
      errors.push({ field: `${at}.git.repoURL`, message: `repository ${g.git.repoURL} not read yet` });
      return undefined;
    }
    const before = errors.length;
    const params = g.git.files !== undefined && g.git.files.length > 0 ? fileParams(tree, g.git.files, `${at}.git`, errors) : directoryParams(tree, g.git.directories ?? []);
    if (errors.length > before) return undefined;
    out = params.map((p, j) => ({ params: p, from: `${at}.git[${j}]` }));
  } else {
    const children = Array.isArray(g.matrix?.generators) ? (g.matrix.generators as AnyGenerator[]) : [];
    if (children.length !== 2) {
      errors.push({ field: `${at}.matrix.generators`, message: `a matrix combines exactly two generators, this one has ${children.length}` });
      return undefined;
    }
    const [first, second] = children as [AnyGenerator, AnyGenerator];
    const left = generateOne(first, `${at}.matrix.generators[0]`, observed, errors);
    if (left === undefined) return undefined;
    out = [];
    for (const a of left) {
      const right = generateOne(interpolate(second, a.params), `${at}.matrix.generators[1]`, observed, errors);
      if (right === undefined) return undefined;
      for (const b of right) {
        const m = merge(a.params, b.params);
        if (typeof m === 'string') {
          errors.push({ field: `${at}.matrix`, message: `parameter "${m}" is "${a.params[m] ?? ''}" in ${a.from} and "${b.params[m] ?? ''}" in ${b.from}: the two generators must agree on a shared key` });
          return undefined;
        }
        out.push({ params: m, from: `${a.from} × ${b.from}` });
      }
    }
  }
  return g.selector === undefined ? out : out.filter((s) => selectorMatches(g.selector as NonNullable<Generator['selector']>, s.params));
}

/** Every generator's parameter sets, in order; a generator that cannot say is an error (and the set makes no change). */
export function generate(generators: readonly AnyGenerator[], observed: Observed): { sets: ParamSet[]; errors: TemplateError[] } {
  const sets: ParamSet[] = [];
  const errors: TemplateError[] = [];
  generators.forEach((g, i) => sets.push(...(generateOne(g, `spec.generators[${i}]`, observed, errors) ?? [])));
  return { sets, errors };
}

/** Does any generator (a matrix's children included) read the cluster Secrets? */
export function usesClusters(generators: readonly AnyGenerator[]): boolean {
  return generators.some((g) => g.clusters !== undefined || (Array.isArray(g.matrix?.generators) && usesClusters(g.matrix.generators as AnyGenerator[])));
}

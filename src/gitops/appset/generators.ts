// The generators: each turns its spec (and what the controller observed: the clusters, a repository's directories)
// into parameter sets. Pure; the git generator's directory listing is read by the controller and passed in.
import type { Generator } from '../../api/applicationset/schema.ts';
import { selectorMatches } from '../../api/common/meta.ts';
import { IN_CLUSTER_NAME, IN_CLUSTER_SERVER } from '../../api/application/schema.ts';
import { flattenParams, renderString, type Params, type TemplateError } from './template.ts';

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
  /** The git generator's repository: every directory (slash-separated, no leading slash), by generator index. */
  gitDirectories?: ReadonlyMap<number, readonly string[]>;
}

/** One parameter set and where it came from (conditions name the generator). */
export interface ParamSet {
  params: Params;
  from: string;
}

/** Argo CD's nameNormalized: lowercase, and anything but [a-z0-9-.] becomes '-'. */
export const normalizeName = (name: string): string => name.toLowerCase().replace(/[^a-z0-9.-]/g, '-');

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

/** `*` matches within one path segment, `**` across segments (Argo CD's path globs). */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i] as string;
    if (ch === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function gitParams(dirs: readonly string[], gen: NonNullable<Generator['git']>): Params[] {
  const include = gen.directories.filter((d) => d.exclude !== true).map((d) => globToRegExp(d.path.replace(/^\/+|\/+$/g, '')));
  const exclude = gen.directories.filter((d) => d.exclude === true).map((d) => globToRegExp(d.path.replace(/^\/+|\/+$/g, '')));
  return dirs
    .filter((d) => include.some((r) => r.test(d)) && !exclude.some((r) => r.test(d)))
    .sort()
    .map((d) => {
      const segments = d.split('/');
      const p: Record<string, string> = { path: d, 'path.basename': segments[segments.length - 1] ?? '', 'path.basenameNormalized': normalizeName(segments[segments.length - 1] ?? '') };
      segments.forEach((s, i) => (p[`path[${i}]`] = s));
      return p;
    });
}

/** Every generator's parameter sets, in order; a generator that cannot say is an error (and the set makes no change). */
export function generate(generators: readonly Generator[], observed: Observed): { sets: ParamSet[]; errors: TemplateError[] } {
  const sets: ParamSet[] = [];
  const errors: TemplateError[] = [];
  generators.forEach((g, i) => {
    const at = `spec.generators[${i}]`;
    const kinds = (['list', 'clusters', 'git'] as const).filter((k) => g[k] !== undefined);
    // validateApplicationSet names the entry; here it only generates nothing.
    if (kinds.length !== 1) {
      errors.push({ field: at, message: 'one generator per entry: list, clusters or git' });
      return;
    }
    let out: Params[] = [];
    if (g.list !== undefined) out = g.list.elements.map((e) => flattenParams(e));
    else if (g.clusters !== undefined) {
      const sel = g.clusters.selector;
      const empty = sel === undefined || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0);
      const all = empty ? [LOCAL_CLUSTER, ...observed.clusters.filter((c) => c.server !== IN_CLUSTER_SERVER)] : observed.clusters.filter((c) => selectorMatches(sel, c.labels));
      out = [...all].sort((a, b) => a.name.localeCompare(b.name)).map((c) => clusterParams(c, g.clusters?.values, `${at}.clusters`, errors));
    } else if (g.git !== undefined) {
      const dirs = observed.gitDirectories?.get(i);
      if (dirs === undefined) {
        errors.push({ field: `${at}.git.repoURL`, message: `repository ${g.git.repoURL} not read yet` });
        return;
      }
      out = gitParams(dirs, g.git);
    }
    const kind = kinds[0] ?? '';
    for (const [j, params] of out.entries()) if (g.selector === undefined || selectorMatches(g.selector, params)) sets.push({ params, from: `${at}.${kind}[${j}]` });
  });
  return { sets, errors };
}

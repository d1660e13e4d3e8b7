// The git generator's parameter sets, pure: directories (one set per matching directory) and files (the keys of each
// matching JSON or YAML file, flattened, plus `path.*`), from a repository tree the controller read.
import { parseAllDocuments } from 'yaml';
import type { Params, TemplateError } from './template.ts';

/** What the controller read of one repository at one revision. */
export interface GitTree {
  /** Every directory (slash-separated, no leading slash). */
  directories: readonly string[];
  /** The text of every file a files generator may select (others are not read). */
  files: ReadonlyMap<string, string>;
}

export interface GitPath {
  path: string;
  exclude?: boolean;
}

/** Where a repository's tree is kept in Observed.git. */
export const gitKey = (repoURL: string, revision: string | undefined): string => `${repoURL}#${revision ?? ''}`;

/** Argo CD's nameNormalized: lowercase, and anything but [a-z0-9-.] becomes '-'. */
export const normalizeName = (name: string): string => name.toLowerCase().replace(/[^a-z0-9.-]/g, '-');

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

const trim = (p: string): string => p.replace(/^\/+|\/+$/g, '');

/** Does `path` match an included glob and no excluded one? */
export function pathSelected(paths: readonly GitPath[], path: string): boolean {
  const test = (exclude: boolean): boolean => paths.some((p) => (p.exclude === true) === exclude && globToRegExp(trim(p.path)).test(path));
  return test(false) && !test(true);
}

/** The `path` parameters of a directory: path, path[n], path.basename(Normalized). */
function pathParams(dir: string): Record<string, string> {
  const segments = dir === '' ? [] : dir.split('/');
  const base = segments[segments.length - 1] ?? '';
  const p: Record<string, string> = { path: dir, 'path.basename': base, 'path.basenameNormalized': normalizeName(base) };
  segments.forEach((s, i) => (p[`path[${i}]`] = s));
  return p;
}

export function directoryParams(tree: GitTree, paths: readonly GitPath[]): Params[] {
  return tree.directories.filter((d) => pathSelected(paths, d)).sort().map(pathParams);
}

/** Argo CD's flattening of a file's keys (fasttemplate form): nested keys and array indexes joined by dots. */
export function flattenFile(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Array.isArray(value) ? value.entries() : Object.entries(value)) flattenFile(v, prefix === '' ? String(k) : `${prefix}.${String(k)}`, out);
  } else if (prefix !== '') out[prefix] = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' ? String(value) : '';
  return out;
}

/**
 * One parameter set per matching file (or per element, when the file holds a list), its keys flattened, plus the
 * path parameters of its directory and `path.filename(Normalized)`. A file that does not parse is an error naming it.
 */
export function fileParams(tree: GitTree, paths: readonly GitPath[], at: string, errors: TemplateError[]): Params[] {
  const out: Params[] = [];
  for (const file of [...tree.files.keys()].filter((f) => pathSelected(paths, f)).sort()) {
    const docs = parseAllDocuments(tree.files.get(file) ?? '');
    const bad = docs.flatMap((d) => d.errors);
    if (bad.length > 0) {
      errors.push({ field: `${at}.files`, message: `${file}: not JSON or YAML: ${bad[0]?.message ?? ''}` });
      continue;
    }
    const values = docs.map((d) => d.toJS() as unknown).flatMap((v): unknown[] => (Array.isArray(v) ? (v as unknown[]) : [v]));
    const slash = file.lastIndexOf('/');
    const name = file.slice(slash + 1);
    const where = { ...pathParams(slash === -1 ? '' : file.slice(0, slash)), 'path.filename': name, 'path.filenameNormalized': normalizeName(name) };
    for (const [i, v] of values.entries()) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        errors.push({ field: `${at}.files`, message: `${file}${values.length > 1 ? ` [${i}]` : ''}: holds ${v === null ? 'nothing' : typeof v}, not a map of parameters` });
        continue;
      }
      out.push({ ...flattenFile(v), ...where });
    }
  }
  return out;
}

/** A git generator and where it stands (matrix children included). */
export interface GitUse {
  at: string;
  repoURL: string;
  revision: string | undefined;
  /** The files globs, placeholders (a matrix's first child's parameters) widened to `**`: what may be read. */
  files: string[];
  requeueAfterSeconds: number | undefined;
}

type GitSpec = { repoURL: string; revision?: string; files?: GitPath[]; requeueAfterSeconds?: number };
type Node = { git?: GitSpec; matrix?: { generators?: unknown } };

/** Every git generator of a set, at any depth. */
export function gitUses(generators: readonly Node[], at = 'spec.generators'): GitUse[] {
  return generators.flatMap((g, i) => {
    const here = `${at}[${i}]`;
    const inner = Array.isArray(g.matrix?.generators) ? gitUses(g.matrix.generators as Node[], `${here}.matrix.generators`) : [];
    if (g.git === undefined) return inner;
    const files = (g.git.files ?? []).filter((f) => f.exclude !== true).map((f) => trim(f.path).replace(/\{\{[^{}]*\}\}/g, '**'));
    return [{ at: here, repoURL: g.git.repoURL, revision: g.git.revision, files, requeueAfterSeconds: g.git.requeueAfterSeconds }, ...inner];
  });
}

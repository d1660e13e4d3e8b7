// Plain YAML directories → manifests. Pure (files in, manifests or a located error out).
//
// YAML values are read as kubectl reads them: kubectl decodes with go-yaml v2 (YAML 1.1), so unquoted `yes`, `no`,
// `on`, `off` are booleans, `0755` is octal and `1_000` is a number. We parse as YAML 1.1 for the same result, with one
// exception that also matches kubectl: timestamps stay strings (go-yaml v2 yields a string when decoding into an
// untyped value, and parsing them into Dates would change `2026-01-01` into `2026-01-01T00:00:00.000Z`).
// Duplicate keys are an error, as in kubectl.
import picomatch from 'picomatch';
import { LineCounter, parseAllDocuments, type DocumentOptions, type ParseOptions, type SchemaOptions } from 'yaml';
import { z } from 'zod';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

export interface RenderedManifest {
  manifest: Manifest;
  /** Where it came from, for messages: `path/file.yaml:12`. */
  source: string;
}

/** Names the file (relative to the repository root) and line; nothing is applied when one is raised. */
export class RenderError extends Error {
  override readonly name = 'RenderError';
  readonly file: string;
  readonly line: number | undefined;
  constructor(file: string, line: number | undefined, message: string) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${message}`);
    this.file = file;
    this.line = line;
  }
}

export interface DirectoryOptions {
  recurse?: boolean;
  /** Argo CD's syntax: one glob, or `{a,b}` alternatives; matched against the path relative to the source path. */
  include?: string;
  exclude?: string;
}

export interface TextFile {
  path: string;
  text: string;
}

const YAML_FILE = /\.(ya?ml|json)$/i;

const envelopeSchema = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({
    name: z.string().min(1),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
});

/** How kubectl reads YAML (see the top of this file); the lint and convert commands parse the same way. */
export const PARSE_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  uniqueKeys: true,
  customTags: (tags) => tags.filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:timestamp'),
};

/** Which files of a directory source are manifests: YAML/JSON files, top level only unless `recurse`. */
export function selectFiles<T extends { path: string }>(files: T[], opts: DirectoryOptions): T[] {
  const include = opts.include !== undefined && opts.include !== '' ? picomatch(opts.include, { dot: true }) : undefined;
  const exclude = opts.exclude !== undefined && opts.exclude !== '' ? picomatch(opts.exclude, { dot: true }) : undefined;
  return files
    .filter((f) => YAML_FILE.test(f.path))
    .filter((f) => opts.recurse === true || !f.path.includes('/'))
    .filter((f) => {
      const base = f.path.slice(f.path.lastIndexOf('/') + 1);
      // A glob without a slash matches the file name at any depth, as Argo CD's include/exclude do.
      const matches = (m: (s: string) => boolean): boolean => m(f.path) || m(base);
      return (include === undefined || matches(include)) && (exclude === undefined || !matches(exclude));
    })
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Parses every document of one file. Empty documents (comments only, a lone `---`) are skipped; a `kind: List`
 * is flattened into its items, as kubectl does. `displayPath` is what errors name.
 */
export function parseManifests(text: string, displayPath: string): RenderedManifest[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { ...PARSE_OPTIONS, lineCounter: lines });
  if (!Array.isArray(docs)) return []; // an empty stream
  const out: RenderedManifest[] = [];
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err !== undefined) throw new RenderError(displayPath, err.linePos?.[0].line ?? lines.linePos(err.pos[0]).line, err.message.split('\n')[0] ?? err.message);
    const line = lines.linePos(doc.contents?.range[0] ?? doc.range[0]).line;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw new RenderError(displayPath, line, e instanceof Error ? e.message : String(e));
    }
    if (value === null || value === undefined) continue;
    const items = isList(value) ? value.items : [value];
    for (const item of items) {
      const parsed = envelopeSchema.safeParse(item);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new RenderError(displayPath, line, `not a Kubernetes object: ${issue === undefined ? 'invalid' : `${issue.path.join('.') || '(root)'}: ${issue.message}`}`);
      }
      out.push({ manifest: parsed.data, source: `${displayPath}:${line}` });
    }
  }
  return out;
}

function isList(v: unknown): v is { items: unknown[] } {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as { kind?: unknown; items?: unknown };
  return typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items);
}

/** A plain directory source: the selected files' documents in path order. `root` prefixes paths in errors. */
export function renderDirectory(files: TextFile[], opts: DirectoryOptions, root: string): RenderedManifest[] {
  const prefix = root === '' ? '' : `${root}/`;
  return selectFiles(files, opts).flatMap((f) => parseManifests(f.text, prefix + f.path));
}

// One entry point for render: a directory source or a kustomization, chosen by what the path holds (as Argo CD
// detects the tool). Files arrive as bytes from the source; decoding happens here.
import type { ApplicationSource } from '../../api/application/schema.ts';
import { renderHelm, type HelmContext } from './helm.ts';
import { isKustomization, renderKustomize } from './kustomize.ts';
import { parseManifests, RenderError, renderDirectory, selectFiles, type RenderedManifest, type TextFile } from './yaml.ts';

export interface RawFile {
  path: string;
  content: Uint8Array;
  /** The blob id, when the source knows it: keys the per-file cache. */
  oid?: string;
  /** Not read because `parsed` holds its result (content is empty). */
  skipped?: boolean;
}

/**
 * Parse results of single files of directory sources, by blob id and displayed path (the path is in every
 * manifest's `source`). A commit that changes one file of a thousand parses one. The cached manifests are shared:
 * nothing downstream mutates a rendered manifest.
 */
export interface ParsedFiles {
  get(oid: string, displayPath: string): RenderedManifest[] | undefined;
  set(oid: string, displayPath: string, manifests: RenderedManifest[], bytes: number): void;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function decode(files: RawFile[], prefix: string): TextFile[] {
  return files.map((f) => {
    if (f.skipped === true) return { path: f.path, text: '' };
    try {
      return { path: f.path, text: decoder.decode(f.content) };
    } catch {
      // Only manifests must be text; a binary file elsewhere in the tree is fine until someone renders it.
      if (/\.(ya?ml|json)$/i.test(f.path) || f.path.endsWith('Kustomization')) throw new RenderError(prefix + f.path, undefined, 'not valid UTF-8');
      return { path: f.path, text: '' };
    }
  });
}

export interface RenderInput {
  source: ApplicationSource;
  /** spec.source.path, normalised ('' for the root). */
  path: string;
  /** Files under `path`, relative to it. */
  files: RawFile[];
  /** Reads every file of the repository (relative to its root): needed only for kustomize, whose bases may sit outside `path`. */
  readRepo: () => Promise<RawFile[]>;
  /** Per-file parse cache for directory sources; files marked `skipped` must be in it. */
  parsed?: ParsedFiles;
  /** Release defaults and the cluster's versions, asked for only when the path is a chart. */
  helm?: () => Promise<HelmContext>;
  /** Files added to a chart's tree (other sources' value files, placed by placeRefValueFiles). */
  extraFiles?: RawFile[];
}

export type RenderTool = 'directory' | 'kustomize' | 'helm';

export async function render(input: RenderInput): Promise<{ tool: RenderTool; manifests: RenderedManifest[] }> {
  if (isKustomization(input.files.map((f) => f.path), '') !== undefined) {
    const repo = decode(await input.readRepo(), '');
    return { tool: 'kustomize', manifests: await renderKustomize(repo, input.path, input.source.kustomize ?? {}) };
  }
  const prefix = input.path === '' ? '' : `${input.path}/`;
  // A chart (as Argo CD detects it), or any path the Application says is one.
  if (input.source.helm !== undefined || input.files.some((f) => f.path === 'Chart.yaml')) {
    if (input.helm === undefined) throw new RenderError(`${prefix}Chart.yaml`, undefined, 'Helm charts are not rendered here');
    return { tool: 'helm', manifests: await renderHelm([...(await input.readRepo()), ...(input.extraFiles ?? [])], input.path, input.source.helm ?? {}, await input.helm()) };
  }
  const memo = input.parsed;
  if (memo === undefined) return { tool: 'directory', manifests: renderDirectory(decode(input.files, prefix), input.source.directory ?? {}, input.path) };
  // Decoding every file read keeps the errors of the uncached path (a binary .yaml anywhere is refused).
  const texts = decode(input.files, prefix);
  const raw = new Map(input.files.map((f) => [f.path, f]));
  const manifests = selectFiles(texts, input.source.directory ?? {}).flatMap((t) => {
    const f = raw.get(t.path);
    const displayPath = prefix + t.path;
    const hit = f?.oid === undefined ? undefined : memo.get(f.oid, displayPath);
    if (hit !== undefined) return hit;
    if (f?.skipped === true) throw new Error(`render: ${displayPath} was not read but its parse is not cached`);
    const out = parseManifests(t.text, displayPath);
    if (f?.oid !== undefined) memo.set(f.oid, displayPath, out, f.content.byteLength);
    return out;
  });
  return { tool: 'directory', manifests };
}

// One entry point for render: a directory source or a kustomization, chosen by what the path holds (as Argo CD
// detects the tool). Files arrive as bytes from the source; decoding happens here.
import type { ApplicationSource } from '../../api/application/schema.ts';
import { isKustomization, renderKustomize } from './kustomize.ts';
import { RenderError, renderDirectory, type RenderedManifest, type TextFile } from './yaml.ts';

export interface RawFile {
  path: string;
  content: Uint8Array;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function decode(files: RawFile[], prefix: string): TextFile[] {
  return files.map((f) => {
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
}

export type RenderTool = 'directory' | 'kustomize';

export async function render(input: RenderInput): Promise<{ tool: RenderTool; manifests: RenderedManifest[] }> {
  if (isKustomization(input.files.map((f) => f.path), '') !== undefined) {
    const repo = decode(await input.readRepo(), '');
    return { tool: 'kustomize', manifests: await renderKustomize(repo, input.path, input.source.kustomize ?? {}) };
  }
  const prefix = input.path === '' ? '' : `${input.path}/`;
  return { tool: 'directory', manifests: renderDirectory(decode(input.files, prefix), input.source.directory ?? {}, input.path) };
}

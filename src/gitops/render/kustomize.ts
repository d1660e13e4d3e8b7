// Kustomize sources: the repository tree is written to a temp dir and `kubectl kustomize` builds the path (so bases
// like `../base` inside the repo work). Remote bases are refused before kustomize runs: a sync must depend on one
// commit of one repository. The kubectl is $SLUICE_KUBECTL, or `kubectl` on the PATH.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { parseManifests, RenderError, type RenderedManifest, type TextFile } from './yaml.ts';

export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

export interface KustomizeOptions {
  namePrefix?: string;
  nameSuffix?: string;
  images?: string[];
  commonLabels?: Record<string, string>;
}

/** Is `path` (relative to the repo root) a kustomization directory, given the repo's file paths? */
export function isKustomization(paths: string[], path: string): string | undefined {
  const prefix = path === '' ? '' : `${path}/`;
  return KUSTOMIZATION_FILES.map((f) => prefix + f).find((f) => paths.includes(f));
}

/** Argo CD's image override syntax: `[old=]new[:tag|@digest]` → a kustomize `images` entry. Pure. */
export function kustomizeImage(spec: string): Record<string, string> {
  const eq = spec.indexOf('=');
  const name = eq < 0 ? undefined : spec.slice(0, eq);
  const ref = eq < 0 ? spec : spec.slice(eq + 1);
  const at = ref.indexOf('@');
  const colon = ref.lastIndexOf(':');
  const out: Record<string, string> = {};
  let image = ref;
  if (at >= 0) {
    out.digest = ref.slice(at + 1);
    image = ref.slice(0, at);
  } else if (colon > ref.lastIndexOf('/')) {
    out.newTag = ref.slice(colon + 1);
    image = ref.slice(0, colon);
  }
  if (name === undefined) out.name = image;
  else {
    out.name = name;
    if (image !== name) out.newName = image;
  }
  return out;
}

const REMOTE = /^(https?:|git@|ssh:|git::|github\.com\/)/;

/** The first remote entry of resources/bases/components: Sluice renders only what the repository holds. */
export function remoteBase(kustomization: string): string | undefined {
  let doc: unknown;
  try {
    doc = parse(kustomization);
  } catch {
    return undefined; // kustomize reports it
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const d = doc as Record<string, unknown>;
  for (const key of ['resources', 'bases', 'components']) {
    const list = d[key];
    if (!Array.isArray(list)) continue;
    const hit = list.find((e): e is string => typeof e === 'string' && REMOTE.test(e));
    if (hit !== undefined) return hit;
  }
  return undefined;
}

function kubectlPath(): string {
  return process.env.SLUICE_KUBECTL ?? 'kubectl';
}

/**
 * Builds `path` of the repository `files` (all of them, paths relative to the repo root). Syntax errors in the
 * kustomization directory's YAML are reported with file:line before kustomize runs (kustomize's own messages lack
 * lines); anything kustomize refuses is reported against the kustomization file.
 */
export async function renderKustomize(files: TextFile[], path: string, opts: KustomizeOptions = {}, timeoutMs = 60_000): Promise<RenderedManifest[]> {
  const kfile = isKustomization(
    files.map((f) => f.path),
    path,
  );
  if (kfile === undefined) throw new RenderError(path || '.', undefined, 'no kustomization file');
  const prefix = path === '' ? '' : `${path}/`;
  for (const f of files) {
    if (!f.path.startsWith(prefix) || !/\.ya?ml$/.test(f.path)) continue;
    // Only syntax matters here; kustomize patches need not be whole objects.
    try {
      parseManifests(f.text, f.path);
    } catch (e) {
      if (e instanceof RenderError && !e.message.includes('not a Kubernetes object')) throw e;
    }
    if (f.path === kfile) {
      const remote = remoteBase(f.text);
      if (remote !== undefined) throw new RenderError(kfile, undefined, `remote base ${remote} is not supported; vendor it into the repository`);
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'sluice-kustomize-'));
  try {
    for (const f of files) {
      const target = join(dir, 'repo', f.path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, f.text);
    }
    let buildDir = join(dir, 'repo', path);
    const overlay = overlayKustomization(opts, join('..', 'repo', path));
    if (overlay !== undefined) {
      buildDir = join(dir, 'overlay');
      await mkdir(buildDir);
      await writeFile(join(buildDir, 'kustomization.yaml'), overlay);
    }
    const out = await new Promise<string>((resolve, reject) => {
      execFile(kubectlPath(), ['kustomize', buildDir], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, KUBECONFIG: '/dev/null' } }, (err, stdout, stderr) => {
        if (err !== null) reject(new RenderError(kfile, undefined, `kustomize: ${(stderr || err.message).trim().replaceAll(dir + '/repo/', '').replace(/^error: /, '')}`));
        else resolve(stdout);
      });
    });
    return parseManifests(out, `${kfile} (kustomize output)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The Application's kustomize overrides as an overlay on the path, or undefined when there are none. */
function overlayKustomization(opts: KustomizeOptions, base: string): string | undefined {
  const k: Record<string, unknown> = {};
  if (opts.namePrefix) k.namePrefix = opts.namePrefix;
  if (opts.nameSuffix) k.nameSuffix = opts.nameSuffix;
  if (opts.images !== undefined && opts.images.length > 0) k.images = opts.images.map(kustomizeImage);
  if (opts.commonLabels !== undefined && Object.keys(opts.commonLabels).length > 0) k.labels = [{ pairs: opts.commonLabels, includeSelectors: true }];
  if (Object.keys(k).length === 0) return undefined;
  return stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [base], ...k });
}

// Helm sources, rendered with `helm template` as Argo CD's repo server does: the repository tree is written to a
// temp dir (value files and `file://` dependencies may sit elsewhere in it), the chart at the source path is
// templated with the Application's release name, namespace, values and parameters and the cluster's Kubernetes
// version and API versions, and the output is parsed per template (`# Source:` comments) so messages name them.
// The helm binary is $SLUICE_HELM, or `helm` on the PATH. No network: dependencies must be vendored in charts/.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { parse, stringify } from 'yaml';
import type { HelmOptions } from '../../api/application/schema.ts';
import { parseManifests, RenderError, type RenderedManifest } from './yaml.ts';

export interface HelmContext {
  /** Defaults for what source.helm leaves unset (Argo CD: the Application's name, the destination namespace). */
  releaseName: string;
  namespace: string;
  /** The cluster's, passed as Argo CD passes them (source.helm.kubeVersion / apiVersions override). */
  kubeVersion?: string;
  apiVersions?: string[];
  /** The field of the source's helm options, for messages (default spec.source.helm; spec.sources[i].helm). */
  field?: string;
}

export interface HelmLimits {
  timeoutMs: number;
  /** Bytes of rendered output accepted. */
  maxOutputBytes: number;
}

export const HELM_LIMITS: HelmLimits = { timeoutMs: 60_000, maxOutputBytes: 32 * 1024 * 1024 };

export interface RepoFile {
  path: string;
  content: Uint8Array;
}

const helmPath = (): string => process.env.SLUICE_HELM ?? 'helm';

/** A path inside the repository named relative to the chart; undefined when it leaves the repository. */
export function repoRelative(chartPath: string, rel: string): string | undefined {
  if (rel.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(rel)) return undefined;
  const joined = posix.normalize(posix.join(chartPath === '' ? '.' : chartPath, rel));
  return joined.startsWith('../') || joined === '..' ? undefined : joined.replace(/^\.\//, '');
}

/** The `helm template` arguments after the chart dir, for `opts`. Pure (paths are the temp dir's). */
export function helmArgs(opts: HelmOptions, ctx: HelmContext, paths: { valueFiles: string[]; inlineValues: string | undefined; fileParams: { name: string; path: string }[] }): string[] {
  const args = ['--namespace', opts.namespace ?? ctx.namespace];
  const kubeVersion = opts.kubeVersion ?? ctx.kubeVersion;
  if (kubeVersion !== undefined) args.push('--kube-version', kubeVersion);
  for (const v of opts.apiVersions ?? ctx.apiVersions ?? []) args.push('--api-versions', v);
  args.push(opts.skipCrds === true ? '--skip-crds' : '--include-crds');
  for (const f of paths.valueFiles) args.push('--values', f);
  if (paths.inlineValues !== undefined) args.push('--values', paths.inlineValues);
  for (const p of opts.parameters ?? []) args.push(p.forceString === true ? '--set-string' : '--set', `${p.name}=${p.value}`);
  for (const p of paths.fileParams) args.push('--set-file', `${p.name}=${p.path}`);
  return args;
}

/**
 * Maps Helm's error to the file and line it names: `template: chart/templates/x.yaml:12:3: executing …` and
 * `YAML parse error on chart/templates/x.yaml: … line 5: …` name a template; anything else names Chart.yaml.
 */
export function helmError(stderr: string, chartName: string, chartPath: string, tmp: string): RenderError {
  const text = stderr.replaceAll(`${tmp}/repo/`, '').replaceAll(tmp, '').trim().replace(/^Error: /, '');
  const local = (p: string): string => {
    const rel = p.startsWith(`${chartName}/`) ? p.slice(chartName.length + 1) : p;
    return chartPath === '' ? rel : `${chartPath}/${rel}`;
  };
  const tpl = /template: ([^\s:]+):(\d+):\d+: ([\s\S]*)/.exec(text);
  if (tpl?.[1] !== undefined) return new RenderError(local(tpl[1]), Number(tpl[2]), `helm template: ${firstLine(tpl[3] ?? '')}`);
  const yaml = /YAML parse error on ([^\s:]+): ([\s\S]*)/.exec(text);
  if (yaml?.[1] !== undefined) {
    const line = /line (\d+)/.exec(yaml[2] ?? '')?.[1];
    return new RenderError(local(yaml[1]), line === undefined ? undefined : Number(line), `helm template (rendered output): ${firstLine(yaml[2] ?? '')}`);
  }
  return new RenderError(`${chartPath === '' ? '' : `${chartPath}/`}Chart.yaml`, undefined, `helm template: ${firstLine(text)}`);
}

const firstLine = (s: string): string => s.split('\n').find((l) => l.trim() !== '')?.trim() ?? s.trim();

/** Splits `helm template` output by its `# Source:` comments and parses each template's documents. */
export function parseHelmOutput(out: string, chartName: string, chartPath: string): RenderedManifest[] {
  const manifests: RenderedManifest[] = [];
  for (const chunk of out.split(/^---[ \t]*$/m)) {
    const source = /^# Source: (.+)$/m.exec(chunk)?.[1]?.trim();
    const rel = source === undefined ? 'helm output' : source.startsWith(`${chartName}/`) ? source.slice(chartName.length + 1) : source;
    manifests.push(...parseManifests(chunk, chartPath === '' ? rel : `${chartPath}/${rel}`));
  }
  return manifests;
}

/** Where a ref source's files are placed in the render tree of another source (a directory no repository has). */
export const REF_DIR = '.sluice-refs';

/** `$values/dir/file.yaml` → { ref: 'values', path: 'dir/file.yaml' }; undefined for a plain path. */
export function parseRefPath(p: string): { ref: string; path: string } | undefined {
  const m = /^\$([^/]+)\/(.+)$/.exec(p);
  if (m?.[1] === undefined || m[2] === undefined) return undefined;
  const path = posix.normalize(m[2]);
  return path.startsWith('../') || path === '..' || path.startsWith('/') ? undefined : { ref: m[1], path };
}

/**
 * Rewrites `$ref/…` value files to where `refFiles` (keyed by the value file as written) are placed in the render
 * tree, relative to the chart as renderHelm expects; returns the files to add to the tree. A value file without
 * content here keeps a path that does not exist, so renderHelm's missing-file rule (and ignoreMissingValueFiles)
 * applies. Pure.
 */
export function placeRefValueFiles(opts: HelmOptions, chartPath: string, refFiles: Map<string, Uint8Array>): { opts: HelmOptions; files: RepoFile[] } {
  const files: RepoFile[] = [];
  const valueFiles = (opts.valueFiles ?? []).map((vf) => {
    const ref = parseRefPath(vf);
    if (ref === undefined) return vf;
    const placed = `${REF_DIR}/${ref.ref}/${ref.path}`;
    const content = refFiles.get(vf);
    if (content !== undefined) files.push({ path: placed, content });
    return posix.relative(chartPath === '' ? '.' : chartPath, placed);
  });
  return { opts: opts.valueFiles === undefined ? opts : { ...opts, valueFiles }, files };
}

/** Renders the chart at `chartPath` of the repository `files` (every file, paths from the repository root). */
export async function renderHelm(files: RepoFile[], chartPath: string, opts: HelmOptions, ctx: HelmContext, limits: HelmLimits = HELM_LIMITS): Promise<RenderedManifest[]> {
  const prefix = chartPath === '' ? '' : `${chartPath}/`;
  const chartFile = files.find((f) => f.path === `${prefix}Chart.yaml`);
  if (chartFile === undefined) throw new RenderError(`${prefix}Chart.yaml`, undefined, 'no Chart.yaml at the source path');
  const chartName = chartNameOf(Buffer.from(chartFile.content).toString('utf8'), `${prefix}Chart.yaml`);
  const byPath = new Set(files.map((f) => f.path));
  const inRepo = (field: string, rel: string): string => {
    const p = repoRelative(chartPath, rel);
    if (p === undefined) throw new RenderError(field, undefined, `${JSON.stringify(rel)} must be a path inside the repository, relative to the chart`);
    return p;
  };
  const at = ctx.field ?? 'spec.source.helm';
  const valueFiles: string[] = [];
  (opts.valueFiles ?? []).forEach((vf, i) => {
    const p = inRepo(`${at}.valueFiles[${i}]`, vf);
    if (byPath.has(p)) valueFiles.push(p);
    else if (opts.ignoreMissingValueFiles !== true) throw new RenderError(`${at}.valueFiles[${i}]`, undefined, `values file ${JSON.stringify(vf)} does not exist (looked for ${p} in the repository)`);
  });
  const fileParams = (opts.fileParameters ?? []).map((fp, i) => {
    const p = inRepo(`${at}.fileParameters[${i}].path`, fp.path);
    if (!byPath.has(p)) throw new RenderError(`${at}.fileParameters[${i}].path`, undefined, `file ${JSON.stringify(fp.path)} does not exist (looked for ${p})`);
    return { name: fp.name, path: p };
  });
  const dir = await mkdtemp(join(tmpdir(), 'sluice-helm-'));
  try {
    for (const f of files) {
      const target = join(dir, 'repo', f.path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, f.content);
    }
    const repo = (p: string): string => join(dir, 'repo', p);
    const chart = { arg: repo(chartPath === '' ? '.' : chartPath), name: chartName, display: chartPath };
    return await template(dir, chart, opts, ctx, { valueFiles: valueFiles.map(repo), fileParams: fileParams.map((p) => ({ name: p.name, path: repo(p.path) })) }, limits);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Renders a chart archive from a Helm repository. Its value files would be inside the archive, which `helm template`
 * cannot name: values, valuesObject and parameters are what such a source takes.
 */
export async function renderChartArchive(archive: Uint8Array, chartName: string, opts: HelmOptions, ctx: HelmContext, limits: HelmLimits = HELM_LIMITS, refFiles: Map<string, Uint8Array> = new Map()): Promise<RenderedManifest[]> {
  const at = ctx.field ?? 'spec.source.helm';
  // Only another source's files (`$ref/…`, with spec.sources) can be named: the archive's own cannot.
  const refs: { path: string; content: Uint8Array }[] = [];
  (opts.valueFiles ?? []).forEach((vf, i) => {
    const content = parseRefPath(vf) === undefined ? undefined : refFiles.get(vf);
    if (content !== undefined) refs.push({ path: `v${i}.yaml`, content });
    else if (parseRefPath(vf) === undefined) throw new RenderError(`${at}.valueFiles[${i}]`, undefined, 'value files of a chart from a Helm repository must name another source ($ref/file.yaml, with spec.sources): use values, valuesObject or parameters');
    else if (opts.ignoreMissingValueFiles !== true) throw new RenderError(`${at}.valueFiles[${i}]`, undefined, `values file ${JSON.stringify(vf)} does not exist`);
  });
  if ((opts.fileParameters ?? []).length > 0) throw new RenderError(`${at}.fileParameters`, undefined, 'file parameters need a chart in Git');
  const dir = await mkdtemp(join(tmpdir(), 'sluice-helm-'));
  try {
    const tgz = join(dir, `${chartName}.tgz`);
    await writeFile(tgz, archive);
    await mkdir(join(dir, 'refs'));
    for (const r of refs) await writeFile(join(dir, 'refs', r.path), r.content);
    const valueFiles = refs.map((r) => join(dir, 'refs', r.path));
    return await template(dir, { arg: tgz, name: chartName, display: chartName }, opts, ctx, { valueFiles, fileParams: [] }, limits);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs `helm template` in the temp dir `dir` (its own Helm home, no kubeconfig) and parses the output. */
async function template(
  dir: string,
  chart: { arg: string; name: string; display: string },
  opts: HelmOptions,
  ctx: HelmContext,
  paths: { valueFiles: string[]; fileParams: { name: string; path: string }[] },
  limits: HelmLimits,
): Promise<RenderedManifest[]> {
  for (const d of ['cache', 'config', 'data']) await mkdir(join(dir, 'home', d), { recursive: true });
  let inline: string | undefined;
  const values = opts.valuesObject ?? (opts.values !== undefined && opts.values.trim() !== '' ? parseValues(opts.values) : undefined);
  if (values !== undefined) await writeFile((inline = join(dir, 'inline-values.yaml')), stringify(values));
  const args = ['template', opts.releaseName ?? ctx.releaseName, chart.arg, ...helmArgs(opts, ctx, { ...paths, inlineValues: inline })];
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(dir, 'home'), KUBECONFIG: '/dev/null', HELM_CACHE_HOME: join(dir, 'home', 'cache'), HELM_CONFIG_HOME: join(dir, 'home', 'config'), HELM_DATA_HOME: join(dir, 'home', 'data') };
  const where = `${chart.display === '' ? '' : `${chart.display}/`}Chart.yaml`;
  const out = await new Promise<string>((resolve, reject) => {
    execFile(helmPath(), args, { timeout: limits.timeoutMs, maxBuffer: limits.maxOutputBytes, env }, (err, stdout, stderr) => {
      if (err === null) return resolve(stdout);
      const e = err as NodeJS.ErrnoException & { killed?: boolean };
      if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') reject(new RenderError(where, undefined, `helm template: the output exceeds ${limits.maxOutputBytes} bytes`));
      else if (e.killed === true) reject(new RenderError(where, undefined, `helm template did not finish within ${limits.timeoutMs / 1000} s`));
      else if (e.code === 'ENOENT') reject(new RenderError(where, undefined, `helm is not installed (looked for ${helmPath()})`));
      else reject(helmError(stderr || err.message, chart.name, chart.display, dir));
    });
  });
  return parseHelmOutput(out, chart.name, chart.display);
}

function chartNameOf(text: string, file: string): string {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new RenderError(file, undefined, `not valid YAML: ${e instanceof Error ? firstLine(e.message) : String(e)}`);
  }
  const name = (doc as { name?: unknown } | null)?.name;
  if (typeof name !== 'string' || name === '') throw new RenderError(file, undefined, 'the chart has no name');
  return name;
}

function parseValues(text: string): unknown {
  try {
    return parse(text);
  } catch (e) {
    throw new RenderError('spec.source.helm.values', undefined, `not valid YAML: ${e instanceof Error ? firstLine(e.message) : String(e)}`);
  }
}

// Argo CD Application → Sluice Application. Same field names for what Sluice supports (plain YAML, Kustomize and
// Helm charts from Git over HTTP(S), charts from a Helm repository or an OCI registry, one source or several, into
// Sluice's own cluster or one of its cluster Secrets); everything else is reported.
import { IN_CLUSTER_SERVER } from '../api/application/schema.ts';
import type { PathSegment } from '../lint/source.ts';
import { SLUICE_API, copyMetadata, type ConvertContext } from './types.ts';

const SOURCE_FIELDS = ['repoURL', 'targetRevision', 'path', 'chart', 'ref'] as const;
const DIRECTORY_FIELDS = ['recurse', 'include', 'exclude'] as const;
const KUSTOMIZE_FIELDS = ['namePrefix', 'nameSuffix', 'images', 'commonLabels'] as const;
const HELM_FIELDS = ['releaseName', 'valueFiles', 'ignoreMissingValueFiles', 'values', 'valuesObject', 'parameters', 'fileParameters', 'skipCrds', 'kubeVersion', 'apiVersions', 'namespace'] as const;

const WHY: Readonly<Record<string, string>> = {
  passCredentials: 'Sluice sends a Helm repository credentials only for its own host',
  version: 'Sluice runs the helm it carries (v3)',
  plugin: 'config management plugins are not supported by Sluice',
  jsonnet: 'Sluice does not render Jsonnet',
};

export function convertArgoApplication(ctx: ConvertContext): void {
  const f = ctx.fields;
  const name = f.string('metadata', 'name') ?? '';
  const metadata = copyMetadata(ctx, name);
  if (f.peek('metadata', 'finalizers') !== undefined) {
    f.take('metadata', 'finalizers');
    ctx.report(['metadata', 'finalizers'], 'unmapped', "Argo CD's finalizers mean nothing to Sluice: left out");
  }

  const spec: Record<string, unknown> = {};
  const many = f.keys('spec', 'sources');
  // Several sources (Argo CD's multi-source form) map one to one, `ref` and `$ref/values.yaml` included.
  if (many.length > 0) spec.sources = many.map((i) => convertSource(ctx, ['spec', 'sources', i]));
  else spec.source = convertSource(ctx, ['spec', 'source']);

  const destination: Record<string, unknown> = {};
  // Remote clusters are Argo CD's cluster Secrets, read as they are in fleet mode (src/fleet): kept as written.
  const server = f.string('spec', 'destination', 'server');
  if (server !== undefined) destination.server = server.replace(/\/+$/, '') === IN_CLUSTER_SERVER ? IN_CLUSTER_SERVER : server;
  const cluster = f.string('spec', 'destination', 'name');
  if (cluster !== undefined) destination.name = cluster;
  const ns = f.string('spec', 'destination', 'namespace');
  if (ns !== undefined) destination.namespace = ns;
  spec.destination = destination;

  const project = f.string('spec', 'project');
  if (project !== undefined) spec.project = project;

  const syncPolicy: Record<string, unknown> = {};
  if (f.peek('spec', 'syncPolicy', 'automated') !== undefined) {
    const enabled = f.boolean('spec', 'syncPolicy', 'automated', 'enabled');
    const automated: Record<string, unknown> = {};
    for (const k of ['prune', 'selfHeal', 'allowEmpty'] as const) {
      const v = f.boolean('spec', 'syncPolicy', 'automated', k);
      if (v !== undefined) automated[k] = v;
    }
    if (f.keys('spec', 'syncPolicy', 'automated').length === 0) f.consume(['spec', 'syncPolicy', 'automated']); // `automated: {}`
    if (enabled === false) ctx.report(['spec', 'syncPolicy', 'automated', 'enabled'], 'note', 'automated sync is switched off (enabled: false): syncs happen on request only');
    else syncPolicy.automated = automated;
  }
  const options: string[] = [];
  for (const i of f.keys('spec', 'syncPolicy', 'syncOptions')) {
    const opt = f.string('spec', 'syncPolicy', 'syncOptions', i) ?? '';
    if (opt === 'CreateNamespace=true') options.push(opt);
    else if (opt === 'ServerSideApply=true') ctx.report(['spec', 'syncPolicy', 'syncOptions', i], 'note', 'Sluice always applies server-side');
    else ctx.report(['spec', 'syncPolicy', 'syncOptions', i], 'unmapped', `sync option "${opt}" is not supported by Sluice (CreateNamespace=true is): left out`);
  }
  f.consume(['spec', 'syncPolicy', 'syncOptions']);
  if (options.length > 0) syncPolicy.syncOptions = options;
  if (f.peek('spec', 'syncPolicy', 'retry') !== undefined) {
    const retry: Record<string, unknown> = {};
    const limit = f.number('spec', 'syncPolicy', 'retry', 'limit');
    if (limit !== undefined) retry.limit = limit;
    const backoff = mapped(ctx, ['spec', 'syncPolicy', 'retry', 'backoff'], ['duration', 'factor', 'maxDuration']);
    if (backoff !== undefined) retry.backoff = backoff;
    syncPolicy.retry = retry;
  }
  if (Object.keys(syncPolicy).length > 0) spec.syncPolicy = syncPolicy;

  if (f.peek('spec', 'ignoreDifferences') !== undefined) {
    f.take('spec', 'ignoreDifferences');
    ctx.report(['spec', 'ignoreDifferences'], 'unmapped', 'Sluice never reverts a field another field manager applied (an HPA, a canary\'s weights), which is what ignoreDifferences is mostly for; it does not read ignoreDifferences: left out');
  }
  f.take('operation');
  if (f.peek('operation') !== undefined) ctx.report(['operation'], 'note', 'a pending Argo CD operation is dropped: annotate the Application with sluice.dev/sync to sync now');
  for (const [path, why] of unreadWhy(ctx)) ctx.report(path, 'unmapped', `${why}: left out`);
  // Sluice's Application keeps Argo CD's field names and shape; the kept syncOptions are renumbered, so a finding
  // about one points at the list.
  ctx.emit({ apiVersion: SLUICE_API, kind: 'Application', metadata, spec }, (path) => {
    if (path[0] === 'spec' && path[1] === 'syncPolicy' && path[2] === 'syncOptions') return path.slice(0, 3);
    return [...path];
  });
}

/** One source, with Argo CD's field names (the same in Sluice). */
function convertSource(ctx: ConvertContext, srcPath: PathSegment[]): Record<string, unknown> {
  const f = ctx.fields;
  const source: Record<string, unknown> = {};
  for (const k of SOURCE_FIELDS) {
    const v = f.string(...srcPath, k);
    if (v !== undefined) source[k] = v;
  }
  const dir = mapped(ctx, [...srcPath, 'directory'], DIRECTORY_FIELDS);
  if (dir !== undefined) source.directory = dir;
  const kust = mapped(ctx, [...srcPath, 'kustomize'], KUSTOMIZE_FIELDS);
  if (kust !== undefined) source.kustomize = kust;
  const helm = mapped(ctx, [...srcPath, 'helm'], HELM_FIELDS);
  if (helm !== undefined) source.helm = helm;
  return source;
}

/** The listed fields of the map at `path`, as written; the map's other fields are left unread (reported later). */
function mapped(ctx: ConvertContext, path: PathSegment[], keys: readonly string[]): Record<string, unknown> | undefined {
  if (ctx.fields.peek(...path) === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = ctx.fields.take(...path, k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function unreadWhy(ctx: ConvertContext): [PathSegment[], string][] {
  return ctx.fields.drainUnread().map((p) => [p, WHY[String(p[p.length - 1])] ?? 'not supported by Sluice']);
}

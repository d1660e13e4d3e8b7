// Flux → Sluice Applications. A Flux Kustomization or HelmRelease (the reconcilers) becomes an Application; the
// sources they name (GitRepository, HelmRepository, OCIRepository) are read from the same files and folded into the
// Application's source. A source document alone produces nothing: its fields are checked and reported where Sluice
// has no equivalent. Flux reconciles continuously and heals drift, so every Application gets automated sync with
// selfHeal; `prune` follows the Kustomization's own field (Flux's HelmRelease always removes what the chart dropped).
import type { PathSegment, SourceDocument } from '../lint/source.ts';
import { Fields } from './fields.ts';
import { SLUICE_API, copyMetadata, type ConvertContext } from './types.ts';

export const FLUX_SOURCE_GROUP = 'source.toolkit.fluxcd.io';

/** Why Sluice has no equivalent, by the last segment of the field's path. */
const WHY: Readonly<Record<string, string>> = {
  dependsOn: 'Sluice orders objects within an Application by sync waves, not Applications by dependencies',
  healthChecks: 'Sluice assesses the health of every object it applies',
  wait: 'Sluice assesses the health of every object it applies',
  timeout: 'Sluice bounds fetches and renders with its own limits (--git-timeout)',
  retryInterval: 'a failed sync is retried by syncPolicy.retry',
  force: 'Sluice never recreates objects to force a change',
  postBuild: "Flux's variable substitution is not supported: render the values in Git",
  patches: 'put the patches in a kustomization.yaml in Git',
  components: 'list the components in a kustomization.yaml in Git',
  commonMetadata: 'put commonLabels/commonAnnotations in a kustomization.yaml in Git',
  serviceAccountName: 'Sluice applies with its own identity',
  kubeConfig: 'a remote cluster is a cluster Secret named by destination.name (fleet mode)',
  valuesFrom: 'values from ConfigMaps and Secrets are not read: put them in spec.source.helm.valuesObject or a values file in Git',
  install: "Helm's install options are not used: Sluice renders with helm template and applies server-side",
  upgrade: "Helm's upgrade options are not used: Sluice renders with helm template and applies server-side",
  rollback: 'Sluice keeps the last good revision applied; a failed sync is retried',
  uninstall: 'pruning follows syncPolicy.automated.prune',
  test: 'Helm test hooks are skipped, as Argo CD skips them',
  driftDetection: 'Sluice always heals drift (selfHeal)',
  postRenderers: 'post-renderers are not supported',
  maxHistory: 'Sluice keeps its own sync history',
  persistentClient: 'not meaningful for Sluice',
  storageNamespace: 'Sluice keeps no Helm release Secrets',
  ignore: 'list what to skip in directory.exclude or a kustomization.yaml',
  include: 'other repositories are spec.sources in Sluice',
  verify: 'commit signature verification is not supported',
  recurseSubmodules: 'submodules are not fetched',
  provider: 'cloud provider authentication is not supported: use a Secret (username/password)',
  certSecretRef: 'custom TLS certificates are not supported',
  proxySecretRef: 'proxies are not supported',
  insecure: 'plain HTTP is accepted only to loopback addresses',
  passCredentials: 'Sluice sends a Helm repository credentials only for its own host',
  layerSelector: 'the chart is the layer Helm pushed',
  reconcileStrategy: 'the chart is fetched again when its version or the commit changes',
  accessFrom: 'Sluice has no cross-namespace source access control',
  sourceIgnore: 'list what to skip in directory.exclude or a kustomization.yaml',
};

/** A Flux source document alone: no object of its own in Sluice; what cannot travel into an Application is reported. */
export function convertFluxSource(ctx: ConvertContext): void {
  const f = ctx.fields;
  for (const k of ['url', 'ref', 'interval', 'secretRef', 'type', 'suspend'] as const) f.take('spec', k);
  f.take('metadata');
  f.take('status');
  ctx.report([], 'note', 'a Flux source has no object of its own in Sluice: its URL, ref, interval and credentials go into the Applications that name it');
  reportUnread(ctx);
}

/** The source a reconciler names, from the same files; undefined (with an error reported) when it is not there. */
function sourceDoc(ctx: ConvertContext, at: PathSegment[], namespace: string): { doc: SourceDocument; kind: string; fields: Fields } | undefined {
  const f = ctx.fields;
  const kind = f.string(...at, 'kind') ?? '';
  const name = f.string(...at, 'name') ?? '';
  const ns = f.string(...at, 'namespace') ?? namespace;
  const doc = ctx.index.find(`${FLUX_SOURCE_GROUP}/`, kind, ns, name);
  if (doc === undefined) {
    ctx.report(at, 'error', `${kind} "${name}" is not among the converted files: its URL is needed to write the Application's source`);
    return undefined;
  }
  return { doc, kind, fields: new Fields(doc.value) };
}

/** spec.interval of the source: how often Sluice polls it. */
function pollInterval(src: Fields): Record<string, unknown> {
  const interval = src.string('spec', 'interval');
  return interval === undefined ? {} : { pollInterval: interval };
}

/** A GitRepository's ref as a targetRevision (branch, tag, commit or full ref name). */
function gitRevision(ctx: ConvertContext, src: Fields, at: PathSegment[]): string | undefined {
  const ref = { branch: src.string('spec', 'ref', 'branch'), tag: src.string('spec', 'ref', 'tag'), commit: src.string('spec', 'ref', 'commit'), name: src.string('spec', 'ref', 'name') };
  if (src.string('spec', 'ref', 'semver') !== undefined) ctx.report(at, 'unmapped', 'the GitRepository follows tags by semver range, which Sluice does not do for Git: the default branch is synced instead');
  return ref.commit ?? ref.tag ?? ref.name ?? ref.branch;
}

function credentials(src: Fields): Record<string, unknown> {
  const name = src.string('spec', 'secretRef', 'name');
  return name === undefined ? {} : { credentials: { secretRef: { name } } };
}

export function convertFluxKustomization(ctx: ConvertContext): void {
  const f = ctx.fields;
  const name = f.string('metadata', 'name') ?? '';
  const metadata = copyMetadata(ctx, name);
  const namespace = (metadata.namespace as string | undefined) ?? '';
  const found = sourceDoc(ctx, ['spec', 'sourceRef'], namespace);
  if (found === undefined || found.kind !== 'GitRepository') {
    if (found !== undefined) ctx.report(['spec', 'sourceRef', 'kind'], 'error', `a ${found.kind} source is not supported for a Kustomization (a GitRepository is)`);
    f.take();
    return;
  }
  const src = found.fields;
  const source: Record<string, unknown> = { repoURL: src.string('spec', 'url') ?? '' };
  const revision = gitRevision(ctx, src, ['spec', 'sourceRef']);
  if (revision !== undefined) source.targetRevision = revision;
  source.path = (f.string('spec', 'path') ?? '.').replace(/^\.\//, '') || '.';
  const kustomize: Record<string, unknown> = {};
  for (const k of ['namePrefix', 'nameSuffix'] as const) {
    const v = f.string('spec', k);
    if (v !== undefined) kustomize[k] = v;
  }
  const images = f.keys('spec', 'images').map((i) => image(f, ['spec', 'images', i]));
  f.consume(['spec', 'images']);
  if (images.length > 0) kustomize.images = images;
  if (Object.keys(kustomize).length > 0) source.kustomize = kustomize;

  const spec: Record<string, unknown> = { source, destination: destination(ctx, f), ...pollInterval(src), ...credentials(src), ...syncPolicy(ctx, f, f.boolean('spec', 'prune') === true) };
  f.take('spec', 'interval');
  f.take('spec', 'sourceRef');
  const provider = f.string('spec', 'decryption', 'provider');
  const secret = f.string('spec', 'decryption', 'secretRef', 'name');
  if (provider === 'sops' && secret !== undefined) spec.decryption = { provider: 'sops', secretRef: { name: secret } };
  else if (f.peek('spec', 'decryption') !== undefined) ctx.report(['spec', 'decryption'], 'unmapped', 'only SOPS with a key Secret (age keys) is supported: left out');
  reportUnread(ctx);
  ctx.emit({ apiVersion: SLUICE_API, kind: 'Application', metadata, spec });
}

export function convertHelmRelease(ctx: ConvertContext): void {
  const f = ctx.fields;
  const name = f.string('metadata', 'name') ?? '';
  const metadata = copyMetadata(ctx, name);
  const namespace = (metadata.namespace as string | undefined) ?? '';
  const chartAt: PathSegment[] = f.peek('spec', 'chartRef') !== undefined ? ['spec', 'chartRef'] : ['spec', 'chart', 'spec', 'sourceRef'];
  const found = sourceDoc(ctx, chartAt, namespace);
  if (found === undefined) {
    f.take();
    return;
  }
  const src = found.fields;
  const url = src.string('spec', 'url') ?? '';
  const source: Record<string, unknown> = {};
  const chart = f.string('spec', 'chart', 'spec', 'chart');
  const version = f.string('spec', 'chart', 'spec', 'version');
  if (found.kind === 'HelmRepository') {
    Object.assign(source, { repoURL: url, chart: chart ?? '', targetRevision: version ?? '*' });
  } else if (found.kind === 'GitRepository') {
    Object.assign(source, { repoURL: url, path: (chart ?? '.').replace(/^\.\//, '') || '.' });
    const revision = gitRevision(ctx, src, chartAt);
    if (revision !== undefined) source.targetRevision = revision;
  } else if (found.kind === 'OCIRepository') {
    // oci://registry/charts/web → the repository oci://registry/charts and the chart web, as Sluice names them.
    const cut = url.lastIndexOf('/');
    Object.assign(source, { repoURL: url.slice(0, cut), chart: url.slice(cut + 1), targetRevision: src.string('spec', 'ref', 'tag') ?? src.string('spec', 'ref', 'semver') ?? '*' });
    if (src.string('spec', 'ref', 'digest') !== undefined) ctx.report(chartAt, 'unmapped', 'the OCIRepository pins a digest; Sluice selects charts by version: its tag or semver is used');
  } else {
    ctx.report([...chartAt, 'kind'], 'error', `a ${found.kind} source is not supported for a HelmRelease`);
    f.take();
    return;
  }
  const helm: Record<string, unknown> = {};
  const release = f.string('spec', 'releaseName');
  if (release !== undefined) helm.releaseName = release;
  const files = f.keys('spec', 'chart', 'spec', 'valuesFiles').map((i) => f.string('spec', 'chart', 'spec', 'valuesFiles', i) ?? '');
  f.consume(['spec', 'chart', 'spec', 'valuesFiles']);
  if (files.length > 0) helm.valueFiles = files.map((p) => p.replace(/^\.\//, ''));
  const values = f.take('spec', 'values');
  if (values !== undefined) helm.valuesObject = values;
  const target = f.string('spec', 'targetNamespace');
  if (target !== undefined) helm.namespace = target;
  if (f.string('spec', 'install', 'crds') === 'Skip') helm.skipCrds = true;
  if (Object.keys(helm).length > 0) source.helm = helm;

  const createNamespace = f.boolean('spec', 'install', 'createNamespace') === true;
  const spec: Record<string, unknown> = { source, destination: destination(ctx, f, target), ...pollInterval(src), ...credentials(src), ...syncPolicy(ctx, f, true, createNamespace) };
  f.take('spec', 'interval');
  f.take('spec', 'chart', 'spec', 'sourceRef');
  f.take('spec', 'chart', 'spec', 'interval');
  f.take('spec', 'chartRef');
  reportUnread(ctx);
  ctx.emit({ apiVersion: SLUICE_API, kind: 'Application', metadata, spec });
}

/** Flux's `images` entry ({name, newName, newTag, digest}) as a kustomize image string. */
function image(f: Fields, at: PathSegment[]): string {
  const name = f.string(...at, 'name') ?? '';
  const newName = f.string(...at, 'newName');
  const tag = f.string(...at, 'newTag');
  const digest = f.string(...at, 'digest');
  return `${name}${newName !== undefined ? `=${newName}` : ''}${digest !== undefined ? `@${digest}` : tag !== undefined ? `:${tag}` : ''}`;
}

function destination(ctx: ConvertContext, f: Fields, target = f.string('spec', 'targetNamespace')): Record<string, unknown> {
  if (target === undefined) return {};
  ctx.report(['spec', 'targetNamespace'], 'note', 'destination.namespace is the namespace of objects that set none (Flux overrides every object\'s namespace)');
  return { namespace: target };
}

function syncPolicy(ctx: ConvertContext, f: Fields, prune: boolean, createNamespace = false): { syncPolicy?: Record<string, unknown> } {
  const policy: Record<string, unknown> = {};
  if (f.boolean('spec', 'suspend') === true) ctx.report(['spec', 'suspend'], 'note', 'suspended: no automated sync; sync on request only');
  else policy.automated = { prune, selfHeal: true };
  if (createNamespace) policy.syncOptions = ['CreateNamespace=true'];
  return Object.keys(policy).length > 0 ? { syncPolicy: policy } : {};
}

function reportUnread(ctx: ConvertContext): void {
  for (const path of ctx.fields.drainUnread()) {
    const why = WHY[String(path[path.length - 1])] ?? WHY[String(path[path.length - 2])] ?? WHY[String(path[1])];
    ctx.report(path, 'unmapped', `${why ?? 'not supported by Sluice'}: left out`);
  }
}

import { describe, expect, it } from '@jest/globals';
import { convertExitCode } from './convert.ts';
import { errorsOf, find, findings, fixture, inline, printed, run } from './testing.ts';

describe('convert: Flux', () => {
  it('turns Kustomizations and HelmReleases into Applications with their sources folded in, reporting what Sluice cannot do at its line', () => {
    const r = run(fixture('flux.yaml'));
    expect(r.manifests.map((m) => `${m.manifest.kind}/${m.manifest.metadata.name}`)).toEqual(['Application/apps-staging', 'Application/podinfo', 'Application/web']);
    expect(find(r, 'Application', 'apps-staging').spec).toEqual({
      source: { repoURL: 'https://git.example.com/platform/fleet-infra.git', targetRevision: 'main', path: 'apps/staging', kustomize: { images: ['podinfo=ghcr.io/stefanprodan/podinfo:6.7.0'] } },
      destination: { namespace: 'staging' },
      pollInterval: '1m',
      credentials: { secretRef: { name: 'git-credentials' } },
      syncPolicy: { automated: { prune: true, selfHeal: true } },
      decryption: { provider: 'sops', secretRef: { name: 'sops-age' } },
    });
    expect(find(r, 'Application', 'podinfo').spec).toEqual({
      source: { repoURL: 'https://stefanprodan.github.io/podinfo', chart: 'podinfo', targetRevision: '>=6.0.0 <7.0.0', helm: { releaseName: 'podinfo', valuesObject: { replicaCount: 2 }, namespace: 'podinfo' } },
      destination: { namespace: 'podinfo' },
      pollInterval: '5m',
      syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] },
    });
    // chartRef to an OCIRepository: its URL split into repository and chart; suspended: no automated sync.
    expect(find(r, 'Application', 'web').spec).toEqual({ source: { repoURL: 'oci://registry.example.com/charts', chart: 'web', targetRevision: '1.x' }, destination: {}, pollInterval: '5m' });
    expect(findings(r, 'unmapped')).toEqual(['15 spec.ignore', '31 spec.dependsOn', '41 spec.healthChecks', '73 spec.install.remediation', '77 spec.valuesFrom']);
    expect(findings(r, 'error')).toEqual([]);
    expect(printed(r).errors).toEqual([]);
    expect(convertExitCode(r)).toBe(3);
  });

  it('needs the source a reconciler names among the files, and refuses kinds Sluice cannot read', () => {
    const k = inline('apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: k, namespace: flux-system}\nspec:\n  sourceRef: {kind: GitRepository, name: missing}\n  path: ./x\n');
    expect(errorsOf(k)).toEqual(['5 spec.sourceRef: GitRepository "missing" is not among the converted files: its URL is needed to write the Application\'s source']);
    expect(k.manifests).toEqual([]);
    const bucket = inline('apiVersion: source.toolkit.fluxcd.io/v1\nkind: Bucket\nmetadata: {name: b}\nspec: {bucketName: x}\n');
    expect(findings(bucket, 'unmapped')).toEqual(['1 (root)']);
    const semver = inline('apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: g}\nspec: {url: "https://g/x.git", ref: {semver: ">=1.0.0"}}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: k}\nspec: {sourceRef: {kind: GitRepository, name: g}, path: ./x, prune: false}\n');
    expect(findings(semver, 'unmapped')).toEqual(['9 spec.sourceRef']);
    expect(find(semver, 'Application', 'k').spec).toMatchObject({ source: { repoURL: 'https://g/x.git', path: 'x' }, syncPolicy: { automated: { prune: false, selfHeal: true } } });
  });
});


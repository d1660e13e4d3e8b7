import { describe, expect, it } from '@jest/globals';
import { loadFixture } from '../../../test/fixtures/api/fixtures.ts';
import { applicationSchema, type Application } from './schema.ts';
import { validateApplication } from './validate.ts';

function app(): Application {
  return applicationSchema.parse(loadFixture('application.yaml'));
}
function source(a: Application): NonNullable<Application['spec']['source']> {
  if (a.spec.source === undefined) throw new Error('the fixture has spec.source');
  return a.spec.source;
}
const fields = (a: Application) => validateApplication(a).map((e) => e.field);

describe('validateApplication', () => {
  it('finds nothing wrong in the fixture', () => {
    expect(validateApplication(app())).toEqual([]);
  });

  it.each(['git@github.com:example/shop.git', 'ssh://git@github.com/example/shop.git', 'git://example.com/shop', '/srv/git/shop', 'not a url'])(
    'refuses repoURL %s: only http(s)',
    (url) => {
      const a = app();
      source(a).repoURL = url;
      expect(fields(a)).toEqual(['spec.source.repoURL']);
    },
  );

  it('checks source.helm: release name, repository paths, parameter names, kubeVersion', () => {
    const a = app();
    source(a).helm = { releaseName: 'web', valueFiles: ['values-prod.yaml', '../common/values.yaml'], parameters: [{ name: 'image.tag', value: '1' }], kubeVersion: 'v1.36.3' };
    expect(validateApplication(a)).toEqual([]);
    source(a).helm = {
      releaseName: 'Web_App',
      valueFiles: ['$values/prod.yaml', '/etc/values.yaml', 'https://x/values.yaml'],
      fileParameters: [{ name: 'f', path: '/abs' }],
      parameters: [{ name: ' ', value: '1' }],
      kubeVersion: 'latest',
    };
    expect(validateApplication(a)).toEqual([
      { field: 'spec.source.helm.releaseName', message: 'must be a lowercase DNS label of at most 53 characters, got "Web_App"' },
      { field: 'spec.source.helm.valueFiles[0]', message: '"$values/prod.yaml" names another source: that needs spec.sources' },
      { field: 'spec.source.helm.valueFiles[1]', message: 'must be a path inside the repository, relative to the chart, got "/etc/values.yaml"' },
      { field: 'spec.source.helm.valueFiles[2]', message: 'must be a path inside the repository, relative to the chart, got "https://x/values.yaml"' },
      { field: 'spec.source.helm.fileParameters[0].path', message: 'must be a path inside the repository, relative to the chart, got "/abs"' },
      { field: 'spec.source.helm.parameters[0].name', message: 'must not be empty' },
      { field: 'spec.source.helm.kubeVersion', message: 'must be a Kubernetes version like 1.36.3, got "latest"' },
    ]);
  });

  it('accepts plain http for a local server', () => {
    const a = app();
    source(a).repoURL = 'http://git.local:8080/shop.git';
    expect(validateApplication(a)).toEqual([]);
  });

  it.each(['/etc', '../other', 'a/../../b'])('refuses path %s: relative, without ..', (path) => {
    const a = app();
    source(a).path = path;
    expect(fields(a)).toEqual(['spec.source.path']);
  });

  it('accepts a remote destination by server or name, not both, and a server only as a URL', () => {
    const a = app();
    a.spec.destination.server = 'https://kubernetes.default.svc/';
    expect(validateApplication(a)).toEqual([]);
    a.spec.destination.server = 'https://prod.example.com:6443';
    expect(validateApplication(a)).toEqual([]);
    a.spec.destination.name = 'prod';
    expect(fields(a)).toEqual(['spec.destination.name']);
    delete a.spec.destination.server;
    expect(validateApplication(a)).toEqual([]);
    delete a.spec.destination.name;
    a.spec.destination.server = 'prod.example.com';
    expect(fields(a)).toEqual(['spec.destination.server']);
  });

  it('needs syncOptions entries as Key=Value', () => {
    const a = app();
    a.spec.syncPolicy = { syncOptions: ['CreateNamespace=true', 'PruneLast', '=true', 'A=b=c'] };
    expect(fields(a)).toEqual(['spec.syncPolicy.syncOptions[1]', 'spec.syncPolicy.syncOptions[2]', 'spec.syncPolicy.syncOptions[3]']);
  });

  it('needs sane retry limits and backoff', () => {
    const a = app();
    a.spec.syncPolicy = { retry: { limit: -2, backoff: { duration: '10m', factor: 0, maxDuration: '1m' } } };
    expect(fields(a)).toEqual(['spec.syncPolicy.retry.limit', 'spec.syncPolicy.retry.backoff.factor', 'spec.syncPolicy.retry.backoff.maxDuration']);
    a.spec.syncPolicy = { retry: { limit: -1, backoff: { duration: 'soon' } } };
    expect(fields(a)).toEqual(['spec.syncPolicy.retry.backoff.duration']);
    a.spec.syncPolicy = { retry: { limit: 1000 } };
    expect(fields(a)).toEqual(['spec.syncPolicy.retry.limit']);
  });

  it('needs a pollInterval that parses and is at least 10s', () => {
    const a = app();
    a.spec.pollInterval = 'often';
    expect(fields(a)).toEqual(['spec.pollInterval']);
    a.spec.pollInterval = '5s';
    expect(validateApplication(a)[0]?.message).toContain('at least 10s');
    a.spec.pollInterval = 10;
    expect(validateApplication(a)).toEqual([]);
  });
});

describe('validateApplication: spec.ignoreDifferences', () => {
  const withIgnore = (entries: unknown[]): Application => {
    const a = app();
    a.spec.ignoreDifferences = entries as Application['spec']['ignoreDifferences'];
    return a;
  };

  it('accepts Argo CD entries with jsonPointers and managedFieldsManagers', () => {
    expect(validateApplication(withIgnore([{ group: 'apps', kind: 'Deployment', jsonPointers: ['/spec/replicas', '/metadata/annotations/a~1b'] }, { kind: 'ConfigMap', name: 'x', managedFieldsManagers: ['kube-controller-manager'] }]))).toEqual([]);
  });

  it('refuses jqPathExpressions by name', () => {
    const errors = validateApplication(withIgnore([{ group: 'apps', kind: 'Deployment', jsonPointers: ['/spec/replicas'] }, { kind: 'Deployment', jqPathExpressions: ['.spec.replicas'] }]));
    expect(errors.map((e) => e.field)).toEqual(['spec.ignoreDifferences[1].jqPathExpressions']);
    expect(errors[0]?.message).toMatch(/not supported.*jq/);
  });

  it.each(['spec/replicas', '/spec/~2x', '', '/a~'])('names a bad JSON pointer %j', (pointer) => {
    const errors = validateApplication(withIgnore([{ kind: 'Deployment', jsonPointers: ['/ok', pointer] }]));
    expect(errors.map((e) => e.field)).toEqual(['spec.ignoreDifferences[0].jsonPointers[1]']);
    expect(errors[0]?.message).toMatch(/JSON pointer/);
  });

  it('names a missing kind, an unknown key and an entry that ignores nothing', () => {
    const errors = validateApplication(withIgnore([{ group: 'apps', jsonPointers: ['/a'] }, { kind: 'X', jsonPointer: ['/a'] }, { kind: 'Y' }]));
    expect(errors.map((e) => e.field)).toEqual(['spec.ignoreDifferences[0].kind', 'spec.ignoreDifferences[1].jsonPointer', 'spec.ignoreDifferences[2]']);
  });

  describe('spec.sources', () => {
    const chart = { repoURL: 'http://git.local/charts.git', targetRevision: 'main', path: 'charts/web', helm: { valueFiles: ['$values/prod/values.yaml'] } };
    const values = { repoURL: 'http://git.local/config.git', targetRevision: 'main', ref: 'values' };
    const multi = (sources: Application['spec']['sources']): Application => {
      const a = app();
      delete a.spec.source;
      a.spec.sources = sources;
      return a;
    };

    it('accepts a chart with value files from a ref source, and plain YAML next to it', () => {
      expect(validateApplication(multi([chart, values, { repoURL: 'http://git.local/plain.git', path: 'extra' }]))).toEqual([]);
    });

    it('wants exactly one of spec.source and spec.sources, naming the field', () => {
      const both = app();
      both.spec.sources = [chart];
      expect(validateApplication(both)).toEqual([{ field: 'spec.sources', message: 'set either spec.source or spec.sources, not both' }]);
      const neither = app();
      delete neither.spec.source;
      expect(fields(neither)).toEqual(['spec.source']);
      expect(validateApplication(multi([]))).toEqual([{ field: 'spec.sources', message: 'must name at least one source' }]);
    });

    it('names the entry of a bad source, an unknown $ref, a duplicate ref, and a ref on spec.source', () => {
      const bad = multi([{ ...chart, helm: { valueFiles: ['$other/x.yaml'], fileParameters: [{ name: 'f', path: '$values/f' }] } }, values, { ...values, repoURL: 'ssh://git@x/y' }]);
      expect(validateApplication(bad)).toEqual([
        { field: 'spec.sources[2].ref', message: '"values" is the ref of an earlier source too' },
        { field: 'spec.sources[0].helm.valueFiles[0]', message: '"$other/x.yaml" names no source of spec.sources with that ref (known: values)' },
        { field: 'spec.sources[0].helm.fileParameters[0].path', message: '"$values/f": only valueFiles may name another source' },
        { field: 'spec.sources[2].repoURL', message: 'must be an http(s) URL (Sluice clones over HTTPS only), got "ssh://git@x/y"' },
      ]);
      const single = app();
      source(single).ref = 'values';
      expect(fields(single)).toEqual(['spec.source.ref']);
    });
  });
});

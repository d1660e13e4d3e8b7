import { describe, expect, it } from '@jest/globals';
import { applicationSetSchema } from '../../api/applicationset/schema.ts';
import { validateApplicationSet } from '../../api/applicationset/validate.ts';
import { generate, type AnyGenerator } from './generators.ts';
import { fileParams, flattenFile, gitKey, gitUses, type GitTree } from './git.ts';

const tree = (files: Record<string, string>, directories: string[] = []): GitTree => ({ directories, files: new Map(Object.entries(files)) });
const observed = (t: GitTree) => ({ clusters: [{ name: 'prod', server: 'https://prod:6443', labels: { env: 'prod' }, annotations: {} }], git: new Map([[gitKey('r', 'main'), t]]) });

describe('git files generator', () => {
  const files = {
    'clusters/eu/config.json': JSON.stringify({ cluster: { name: 'eu-1', address: 'https://eu:6443' }, replicas: 3, zones: ['a', 'b'], on: true }),
    'clusters/us/config.yaml': 'cluster:\n  name: us-1\n',
    'clusters/list/config.yaml': '- {cluster: {name: l-1}}\n- {cluster: {name: l-2}}\n',
    'clusters/skip/config.json': '{"cluster": {"name": "skip"}}',
    'other/config.json': '{}',
  };

  it('flattens every key (nested keys and array indexes with dots) and adds the path parameters', () => {
    const r = generate([{ git: { repoURL: 'r', revision: 'main', files: [{ path: 'clusters/*/config.*' }, { path: 'clusters/skip/*', exclude: true }] } }], observed(tree(files)));
    expect(r.errors).toEqual([]);
    expect(r.sets.map((s) => s.params['cluster.name'])).toEqual(['eu-1', 'l-1', 'l-2', 'us-1']);
    expect(r.sets[0]?.params).toEqual({
      'cluster.name': 'eu-1',
      'cluster.address': 'https://eu:6443',
      replicas: '3',
      'zones.0': 'a',
      'zones.1': 'b',
      on: 'true',
      path: 'clusters/eu',
      'path[0]': 'clusters',
      'path[1]': 'eu',
      'path.basename': 'eu',
      'path.basenameNormalized': 'eu',
      'path.filename': 'config.json',
      'path.filenameNormalized': 'config.json',
    });
    expect(flattenFile({ a: { b: [{ c: null }] } })).toEqual({ 'a.b.0.c': '' });
  });

  it('a file that is not JSON or YAML, or holds no map, is an error naming it, and the generator makes nothing', () => {
    const errors: { field: string; message: string }[] = [];
    expect(fileParams(tree({ 'a/bad.yaml': 'key: [unclosed', 'a/scalar.json': '"text"' }), [{ path: 'a/*' }], 'spec.generators[0].git', errors)).toEqual([]);
    expect(errors.map((e) => e.field)).toEqual(['spec.generators[0].git.files', 'spec.generators[0].git.files']);
    expect(errors[0]?.message).toMatch(/^a\/bad\.yaml: not JSON or YAML/);
    expect(errors[1]?.message).toBe('a/scalar.json: holds string, not a map of parameters');
    const r = generate([{ git: { repoURL: 'r', revision: 'main', files: [{ path: 'a/*' }] } }], observed(tree({ 'a/bad.yaml': 'key: [unclosed' })));
    expect(r.sets).toEqual([]);
    expect(r.errors[0]?.field).toBe('spec.generators[0].git.files');
  });
});

describe('matrix generator', () => {
  it('combines two generators; the second may use the first\'s parameters (a git files path per cluster)', () => {
    const t = tree({ 'envs/prod/values.json': '{"replicas": 5}', 'envs/dev/values.json': '{"replicas": 1}' }, ['envs', 'envs/dev', 'envs/prod']);
    const g: AnyGenerator = { matrix: { generators: [{ clusters: { selector: { matchLabels: { env: 'prod' } } } }, { git: { repoURL: 'r', revision: 'main', files: [{ path: 'envs/{{metadata.labels.env}}/values.json' }] } }] } };
    const r = generate([g], observed(t));
    expect(r.errors).toEqual([]);
    expect(r.sets.map((s) => [s.params.name, s.params.replicas, s.params.path])).toEqual([['prod', '5', 'envs/prod']]);
    expect(r.sets[0]?.from).toBe('spec.generators[0].matrix.generators[0].clusters[0] × spec.generators[0].matrix.generators[1].git[0]');
    // What the controller reads for it: the placeholder widened, so the files of every cluster are there.
    expect(gitUses([g])).toEqual([{ at: 'spec.generators[0].matrix.generators[1]', repoURL: 'r', revision: 'main', files: ['envs/**/values.json'], requeueAfterSeconds: undefined }]);
  });

  it('list × list is the cartesian product; a key both set differently is an error naming both sources', () => {
    const two = (a: object[], b: object[]): AnyGenerator => ({ matrix: { generators: [{ list: { elements: a } }, { list: { elements: b } }] } });
    const r = generate([two([{ app: 'a' }, { app: 'b' }], [{ env: 'dev' }, { env: 'prod' }])], observed(tree({})));
    expect(r.sets.map((s) => `${s.params.app}-${s.params.env}`)).toEqual(['a-dev', 'a-prod', 'b-dev', 'b-prod']);
    const clash = generate([two([{ env: 'dev', x: '1' }], [{ env: 'prod' }])], observed(tree({})));
    expect(clash.sets).toEqual([]);
    expect(clash.errors).toEqual([{ field: 'spec.generators[0].matrix', message: 'parameter "env" is "dev" in spec.generators[0].matrix.generators[0].list[0] and "prod" in spec.generators[0].matrix.generators[1].list[0]: the two generators must agree on a shared key' }]);
    // A matrix inside a matrix (Argo CD's one level) works.
    const nested = generate([{ matrix: { generators: [two([{ a: '1' }], [{ b: '2' }]), { list: { elements: [{ c: '3' }] } }] } }], observed(tree({})));
    expect(nested.sets.map((s) => s.params)).toEqual([{ a: '1', b: '2', c: '3' }]);
  });
});

describe('generator validation', () => {
  const set = (generators: unknown[]) =>
    applicationSetSchema.parse({ apiVersion: 'sluice.dev/v1alpha1', kind: 'ApplicationSet', metadata: { name: 's' }, spec: { generators, template: { metadata: { name: 'x' }, spec: {} } } });
  const list = { list: { elements: [] } };
  it('names a matrix of three, a matrix nested twice, a git generator with neither directories nor files', () => {
    expect(validateApplicationSet(set([{ matrix: { generators: [list, list, list] } }]))).toEqual([{ field: 'spec.generators[0].matrix.generators', message: 'a matrix combines exactly two generators, this one has 3' }]);
    const deep = { matrix: { generators: [{ matrix: { generators: [{ matrix: { generators: [list, list] } }, list] } }, list] } };
    expect(validateApplicationSet(set([deep]))).toEqual([{ field: 'spec.generators[0].matrix.generators[0].matrix.generators[0].matrix', message: 'a matrix may hold a matrix only one level deep (Argo CD\'s limit)' }]);
    expect(validateApplicationSet(set([{ git: { repoURL: 'r' } }, { git: { repoURL: 'r', directories: [{ path: 'a' }], files: [{ path: 'b' }] } }])).map((e) => `${e.field}: ${e.message}`)).toEqual([
      'spec.generators[0].git: set directories or files',
      'spec.generators[1].git: set directories or files, not both',
    ]);
    expect(validateApplicationSet(set([{ matrix: { generators: [list, { matrix: { generators: [list, { git: { repoURL: 'r', files: [{ path: 'x.json' }] } }] } }] } }]))).toEqual([]);
  });
});

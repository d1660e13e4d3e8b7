import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { ApplicationSetSpec } from '../../api/applicationset/schema.ts';
import { contains, desiredApplications, GENERATED_HASH_ANNOTATION, planChanges, type ExistingApp } from './decide.ts';
import { generate, globToRegExp, LOCAL_CLUSTER, normalizeName, type ClusterInfo } from './generators.ts';
import { gitKey } from './git.ts';
import { flattenParams, renderTemplate } from './template.ts';

const cluster = (name: string, labels: Record<string, string> = {}): ClusterInfo => ({ name, server: `https://${name}.example:6443`, labels, annotations: { owner: 'team-a' } });
const spec = (generators: ApplicationSetSpec['generators'], over: Partial<ApplicationSetSpec> = {}): ApplicationSetSpec => ({
  generators,
  template: {
    metadata: { name: '{{name}}-guestbook', labels: { env: '{{metadata.labels.env}}' }, finalizers: ['resources-finalizer.argocd.argoproj.io'] },
    spec: { source: { repoURL: 'http://git/repo.git', path: 'guestbook/{{metadata.labels.env}}' }, destination: { server: '{{server}}', namespace: 'guestbook' } },
  },
  ...over,
});
const existing = (name: string, specValue: unknown): ExistingApp => ({ name, labels: {}, annotations: {}, finalizers: [], spec: specValue, deleting: false });

describe('template', () => {
  it('replaces {{ name }} (spaces allowed) in values and keys, and names the field of an unknown parameter', () => {
    const r = renderTemplate({ a: 'x-{{ p }}-{{q.r}}', list: ['{{p}}'], '{{p}}-key': 1 }, { p: 'P', 'q.r': 'R' }, 'spec.template');
    expect(r).toEqual({ value: { a: 'x-P-R', list: ['P'], 'P-key': 1 }, errors: [] });
    const bad = renderTemplate({ spec: { destination: { server: '{{servr}}' } } }, { server: 's' }, 'spec.template');
    expect(bad.errors).toEqual([{ field: 'spec.template.spec.destination.server', message: 'unknown parameter "servr" (known: server)' }]);
  });

  it('flattens nested elements into dotted parameters', () => {
    expect(flattenParams({ cluster: 'c', values: { env: 'prod', n: 3, on: true } })).toEqual({ cluster: 'c', 'values.env': 'prod', 'values.n': '3', 'values.on': 'true' });
  });

  it('property: a string with no placeholder is unchanged, and every known placeholder is gone after rendering', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9.]{0,8}$/);
    fc.assert(
      fc.property(fc.dictionary(name, fc.stringMatching(/^[a-z0-9-]{0,6}$/), { minKeys: 1 }), fc.array(fc.oneof(fc.stringMatching(/^[a-z -]{0,5}$/), fc.constant('')), { minLength: 1, maxLength: 5 }), (params, literals) => {
        const keys = Object.keys(params);
        const parts = literals.map((l, i) => `${l}{{${keys[i % keys.length] ?? ''}}}`);
        const r = renderTemplate({ s: parts.join(''), plain: literals.join('') }, params, 'x');
        expect(r.errors).toEqual([]);
        const v = r.value as { s: string; plain: string };
        expect(v.plain).toBe(literals.join(''));
        expect(v.s).toBe(literals.map((l, i) => l + (params[keys[i % keys.length] ?? ''] ?? '')).join(''));
      }),
    );
  });
});

describe('generators', () => {
  const observed = { clusters: [cluster('prod', { env: 'prod' }), cluster('dev_1', { env: 'dev' })] };

  it('clusters: a selector picks Secrets by label; no selector adds the operator\'s own cluster', () => {
    const sel = generate([{ clusters: { selector: { matchLabels: { env: 'prod' } }, values: { greeting: 'hi-{{name}}' } } }], observed);
    expect(sel.errors).toEqual([]);
    expect(sel.sets.map((s) => s.params)).toEqual([
      { name: 'prod', nameNormalized: 'prod', server: 'https://prod.example:6443', project: '', 'metadata.labels.env': 'prod', 'metadata.annotations.owner': 'team-a', 'values.greeting': 'hi-prod' },
    ]);
    const all = generate([{ clusters: {} }], observed);
    expect(all.sets.map((s) => s.params.name)).toEqual(['dev_1', 'in-cluster', 'prod']);
    expect(all.sets.find((s) => s.params.name === 'dev_1')?.params.nameNormalized).toBe('dev-1');
    expect(all.sets.map((s) => s.params.server)).toContain(LOCAL_CLUSTER.server);
  });

  it('list, with a post selector; an entry with no or two generators is an error naming it', () => {
    const r = generate([{ list: { elements: [{ env: 'dev' }, { env: 'prod' }] }, selector: { matchLabels: { env: 'prod' } } }, {}, { list: { elements: [] }, clusters: {} }], observed);
    expect(r.sets).toEqual([{ params: { env: 'prod' }, from: 'spec.generators[0].list[1]' }]);
    expect(r.errors.map((e) => e.field)).toEqual(['spec.generators[1]', 'spec.generators[2]']);
  });

  it('git directories: globs within a segment, excludes, and path parameters; an unread repository is an error', () => {
    const dirs = ['apps', 'apps/a', 'apps/b', 'apps/b/sub', 'apps/skip', 'other'];
    const r = generate([{ git: { repoURL: 'r', directories: [{ path: 'apps/*' }, { path: 'apps/skip', exclude: true }] } }], { clusters: [], git: new Map([[gitKey('r', undefined), { directories: dirs, files: new Map() }]]) });
    expect(r.sets.map((s) => s.params.path)).toEqual(['apps/a', 'apps/b']);
    expect(r.sets[1]?.params).toMatchObject({ 'path.basename': 'b', 'path[0]': 'apps', 'path[1]': 'b' });
    expect(generate([{ git: { repoURL: 'r', directories: [{ path: '*' }] } }], { clusters: [] }).errors[0]?.field).toBe('spec.generators[0].git.repoURL');
    expect(globToRegExp('a/**').test('a/b/c')).toBe(true);
    expect(normalizeName('My_Cluster')).toBe('my-cluster');
  });
});

describe('desired Applications and changes', () => {
  const observed = { clusters: [cluster('prod', { env: 'prod' }), cluster('dev', { env: 'dev' })] };
  const sel = { matchLabels: {} as Record<string, string>, matchExpressions: [{ key: 'env', operator: 'Exists' as const }] };

  it('renders one Application per cluster, without the resources finalizer when resources are preserved', () => {
    const s = spec([{ clusters: { selector: sel } }]);
    const d = desiredApplications(s, generate(s.generators, observed).sets, 'ns');
    expect(d.errors).toEqual([]);
    expect(d.apps.map((a) => [a.name, (a.spec.destination as { server: string }).server, a.labels.env])).toEqual([
      ['dev-guestbook', 'https://dev.example:6443', 'dev'],
      ['prod-guestbook', 'https://prod.example:6443', 'prod'],
    ]);
    expect(d.apps[0]?.finalizers).toEqual(['resources-finalizer.argocd.argoproj.io']);
    const kept = { ...s, syncPolicy: { preserveResourcesOnDeletion: true } };
    expect(desiredApplications(kept, generate(s.generators, observed).sets, 'ns').apps[0]?.finalizers).toEqual([]);
  });

  it('a duplicate name is an error naming both sources, and only the first is created', () => {
    const s = spec([{ list: { elements: [{ name: 'a', server: 'https://x:1' }, { name: 'a', server: 'https://y:1' }] } }], {
      template: { metadata: { name: '{{name}}' }, spec: { source: { repoURL: 'https://git.example/r.git' }, destination: { server: '{{server}}' } } },
    });
    const d = desiredApplications(s, generate(s.generators, observed).sets, 'ns');
    expect(d.apps.map((a) => (a.spec.destination as { server: string }).server)).toEqual(['https://x:1']);
    expect(d.errors).toEqual([{ field: 'spec.template.metadata.name', message: '"a" is generated by spec.generators[0].list[0] and by spec.generators[0].list[1]: only the first is created' }]);
  });

  it('an unknown parameter or an invalid generated spec holds that Application: neither created nor deleted', () => {
    const s = spec([{ list: { elements: [{ name: 'a' }, { name: 'b' }] } }], {
      template: { metadata: { name: '{{name}}' }, spec: { source: { repoURL: 'https://git.example/r.git', path: '{{nope}}' }, destination: {} } },
    });
    const d = desiredApplications(s, generate(s.generators, observed).sets, 'ns');
    expect(d.apps).toEqual([]);
    expect(d.errors[0]).toEqual({ field: 'spec.template.spec.source.path', message: expect.stringContaining('unknown parameter "nope"') as unknown as string });
    expect(planChanges(d, [existing('a', {}), existing('z', {})], true).delete.map((e) => e.name)).toEqual(['z']);
    const invalid = spec([{ list: { elements: [{ name: 'c' }] } }], { template: { metadata: { name: '{{name}}' }, spec: { destination: {} } } });
    const di = desiredApplications(invalid, generate(invalid.generators, observed).sets, 'ns');
    expect(di.errors[0]?.field).toBe('spec.template.spec.source');
    expect(di.held.has('c')).toBe(true);
  });

  it('property: changes create what is missing, delete only what is not generated (never on a generator error), and an up-to-date set writes nothing', () => {
    const names = fc.uniqueArray(fc.stringMatching(/^[a-z]{1,4}$/), { maxLength: 6 });
    fc.assert(
      fc.property(names, names, fc.boolean(), (want, have, ok) => {
        const s = spec([{ list: { elements: want.map((n) => ({ n })) } }], { template: { metadata: { name: '{{n}}' }, spec: { source: { repoURL: 'https://git.example/r.git' }, destination: {} } } });
        const d = desiredApplications(s, generate(s.generators, { clusters: [] }).sets, 'ns');
        const ex = have.map((n) => {
          const up = d.apps.find((a) => a.name === n);
          return up !== undefined ? { ...existing(n, up.spec), annotations: up.annotations } : existing(n, { other: true });
        });
        const c = planChanges(d, ex, ok);
        expect(c.delete.every((e) => !want.includes(e.name))).toBe(true);
        if (!ok) expect(c.delete).toEqual([]);
        else expect(c.delete.map((e) => e.name).sort()).toEqual(have.filter((n) => !want.includes(n)).sort());
        expect(c.apply.map((a) => a.name).sort()).toEqual(want.filter((n) => !have.includes(n)).sort());
      }),
    );
  });

  it('an Application with the apiserver\'s defaults is up to date; a field dropped from the template is a change (the hash)', () => {
    expect(contains({ a: 1, pollInterval: '3m', list: [{ x: 1, y: 2 }] }, { a: 1, list: [{ x: 1 }] })).toBe(true);
    expect(contains({ a: 1, list: [{ x: 1 }, { x: 2 }] }, { a: 1, list: [{ x: 1 }] })).toBe(false);
    const mk = (extra: Record<string, unknown>) => {
      const s = spec([{ list: { elements: [{ n: 'a' }] } }], { template: { metadata: { name: '{{n}}' }, spec: { source: { repoURL: 'https://git.example/r.git', ...extra }, destination: {} } } });
      return desiredApplications(s, generate(s.generators, { clusters: [] }).sets, 'ns');
    };
    const withPath = mk({ path: 'p' });
    const live = withPath.apps[0];
    if (live === undefined) throw new Error('no app');
    const ex: ExistingApp = { name: 'a', labels: {}, annotations: live.annotations, finalizers: [], spec: { ...live.spec, pollInterval: '3m' }, deleting: false };
    expect(planChanges(withPath, [ex], true).apply).toEqual([]);
    const dropped = mk({});
    expect(dropped.apps[0]?.annotations[GENERATED_HASH_ANNOTATION]).not.toBe(live.annotations[GENERATED_HASH_ANNOTATION]);
    expect(planChanges(dropped, [ex], true).apply.map((a) => a.name)).toEqual(['a']);
  });
});

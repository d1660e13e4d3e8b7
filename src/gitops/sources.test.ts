// Several sources (spec.sources), the pure parts: `$ref` value file paths, their placement in a chart's render
// tree, merging the sources' objects into one render (a duplicate named by both sources), and how revisions are
// recorded and compared.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { decideSync } from './decide.ts';
import { parseRefPath, placeRefValueFiles, REF_DIR, repoRelative } from './render/helm.ts';
import type { RenderedManifest } from './render/yaml.ts';
import { mergeRendered, rendersNothing } from './sync-source.ts';
import { revisionFields, revisionOf } from './sync-status.ts';

const cm = (name: string, source: string, namespace?: string): RenderedManifest => ({
  manifest: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(namespace !== undefined ? { namespace } : {}) } },
  source,
});

describe('$ref value files', () => {
  it('parses $ref/path and refuses paths that leave the source', () => {
    expect(parseRefPath('$values/env/prod.yaml')).toEqual({ ref: 'values', path: 'env/prod.yaml' });
    expect(parseRefPath('$values/./a/../b.yaml')).toEqual({ ref: 'values', path: 'b.yaml' });
    expect(parseRefPath('$values/../secret.yaml')).toBeUndefined();
    expect(parseRefPath('$values')).toBeUndefined();
    expect(parseRefPath('values/prod.yaml')).toBeUndefined();
  });

  it('places a ref file where renderHelm finds it from the chart, and leaves plain and missing ones as written or absent', () => {
    const content = new TextEncoder().encode('color: red\n');
    const placed = placeRefValueFiles({ valueFiles: ['values.yaml', '$values/prod.yaml', '$values/missing.yaml'] }, 'charts/web', new Map([['$values/prod.yaml', content]]));
    expect(placed.files).toEqual([{ path: `${REF_DIR}/values/prod.yaml`, content }]);
    expect(placed.opts.valueFiles?.[0]).toBe('values.yaml');
    expect(repoRelative('charts/web', placed.opts.valueFiles?.[1] ?? '')).toBe(`${REF_DIR}/values/prod.yaml`);
    // Not placed: renderHelm reports it missing (or skips it with ignoreMissingValueFiles).
    expect(repoRelative('charts/web', placed.opts.valueFiles?.[2] ?? '')).toBe(`${REF_DIR}/values/missing.yaml`);
  });

  it('resolves back to the placed file for any chart path (property)', () => {
    const seg = fc.stringMatching(/^[a-z][a-z0-9-]{0,7}$/);
    fc.assert(
      fc.property(fc.array(seg, { maxLength: 4 }), fc.array(seg, { minLength: 1, maxLength: 3 }), (chart, file) => {
        const vf = `$values/${file.join('/')}.yaml`;
        const chartPath = chart.join('/');
        const placed = placeRefValueFiles({ valueFiles: [vf] }, chartPath, new Map([[vf, new Uint8Array([1])]]));
        return repoRelative(chartPath, placed.opts.valueFiles?.[0] ?? '') === placed.files[0]?.path;
      }),
    );
  });
});

describe('mergeRendered', () => {
  it('concatenates the sources, each manifest named by its source', () => {
    const out = mergeRendered([
      { field: 'spec.sources[0]', rendered: { ok: true, manifests: [cm('a', 'charts/web/templates/a.yaml')] } },
      { field: 'spec.sources[2]', rendered: { ok: true, manifests: [cm('b', 'plain/b.yaml:1')] } },
    ]);
    expect(out.ok && out.manifests.map((m) => [m.manifest.metadata?.name, m.source])).toEqual([
      ['a', 'spec.sources[0]: charts/web/templates/a.yaml'],
      ['b', 'spec.sources[2]: plain/b.yaml:1'],
    ]);
  });

  it('refuses an object two sources render, naming both', () => {
    const out = mergeRendered([
      { field: 'spec.sources[0]', rendered: { ok: true, manifests: [cm('a', 'chart/templates/a.yaml')] } },
      { field: 'spec.sources[1]', rendered: { ok: true, manifests: [cm('a', 'plain/a.yaml:3'), cm('a', 'plain/a.yaml:3', 'other')] } },
    ]);
    expect(out).toEqual({ ok: false, error: 'ConfigMap a is rendered by two sources: spec.sources[0]: chart/templates/a.yaml and spec.sources[1]: plain/a.yaml:3' });
  });

  it('fails as a whole when one source fails, naming it; a single source is unchanged', () => {
    expect(mergeRendered([
      { field: 'spec.sources[0]', rendered: { ok: true, manifests: [cm('a', 'x.yaml')] } },
      { field: 'spec.sources[1]', rendered: { ok: false, error: 'spec.sources[1].helm.valueFiles[0]: values file "$values/x.yaml" does not exist' } },
    ])).toEqual({ ok: false, error: 'spec.sources[1]: spec.sources[1].helm.valueFiles[0]: values file "$values/x.yaml" does not exist' });
    const one = { ok: true as const, manifests: [cm('a', 'x.yaml'), cm('b', 'x.yaml')] };
    expect(mergeRendered([{ field: 'spec.source', rendered: one }])).toBe(one);
  });

  it('a ref source without a path renders nothing; with a path it renders too', () => {
    expect(rendersNothing({ repoURL: 'http://x', ref: 'values' })).toBe(true);
    expect(rendersNothing({ repoURL: 'http://x', ref: 'values', path: 'manifests' })).toBe(false);
    expect(rendersNothing({ repoURL: 'http://x' })).toBe(false);
  });
});

describe('revisions', () => {
  it('records revision for one source and revisions for several, and reads both back in the joined form', () => {
    expect(revisionFields('abc', undefined)).toEqual({ revision: 'abc' });
    expect(revisionFields('abc,def', ['abc', 'def'])).toEqual({ revisions: ['abc', 'def'] });
    expect(revisionOf({ revisions: ['abc', 'def'] })).toBe('abc,def');
    expect(revisionOf({ revision: 'abc' })).toBe('abc');
  });

  it('a new revision of any source is a new commit to sync; the same ones are an attempted commit', () => {
    const base = { outOfSync: true, policy: { automated: {} }, manualRequest: false, backoff: { durationMs: 5000, factor: 2, maxDurationMs: 180_000 }, nowMs: Date.now() };
    const last = { phase: 'Succeeded' as const, syncResult: { revisions: ['a1', 'b1'] } };
    expect(decideSync({ ...base, commit: 'a1,b1', lastOperation: last }).sync).toBe(false);
    expect(decideSync({ ...base, commit: 'a1,b2', lastOperation: last }).sync).toBe(true);
  });
});

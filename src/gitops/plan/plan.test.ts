import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { RenderedManifest } from '../render/yaml.ts';
import { OWNER_LABEL } from '../../runtime/sharding/decide.ts';
import { INSTANCE_LABEL, plan, pruneVerdict, refKey, stages, TRACKING_ANNOTATION, trackingId, type ObjectRef, type PlanInput } from './plan.ts';

const app = { namespace: 'sluice', name: 'web' };
const CLUSTER = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole']);
const namespaced = (apiVersion: string, kind: string): boolean | undefined => (kind === 'Widget' ? undefined : !CLUSTER.has(kind));

const m = (kind: string, name: string, extra: { apiVersion?: string; namespace?: string; annotations?: Record<string, string>; spec?: unknown } = {}): RenderedManifest => ({
  manifest: {
    apiVersion: extra.apiVersion ?? (kind === 'Deployment' ? 'apps/v1' : kind === 'CustomResourceDefinition' ? 'apiextensions.k8s.io/v1' : 'v1'),
    kind,
    metadata: { name, ...(extra.namespace ? { namespace: extra.namespace } : {}), ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    ...(extra.spec ? { spec: extra.spec } : {}),
  },
  source: `f.yaml:${name.length}`,
});

const input = (manifests: RenderedManifest[], over: Partial<PlanInput> = {}): PlanInput => ({
  app,
  destinationNamespace: 'web',
  rendered: { ok: true, manifests },
  namespaced,
  inventory: [],
  prune: true,
  allowEmpty: false,
  ...over,
});

const ref = (kind: string, name: string, namespace = 'web', group = ''): ObjectRef => ({ group, kind, namespace, name });

describe('sync plan', () => {
  it('keeps hooks apart: ordered by wave or Helm weight, never applied as resources, inventoried or pruned; skipped hooks dropped', () => {
    const p = plan(
      input(
        [
          m('Deployment', 'api'),
          m('Job', 'migrate', { apiVersion: 'batch/v1', annotations: { 'argocd.argoproj.io/hook': 'PreSync', 'argocd.argoproj.io/sync-wave': '1' } }),
          m('Job', 'seed', { apiVersion: 'batch/v1', annotations: { 'helm.sh/hook': 'pre-install', 'helm.sh/hook-weight': '-1' } }),
          m('Pod', 'smoke', { annotations: { 'helm.sh/hook': 'test' } }),
          m('ConfigMap', 'api', { annotations: { 'sluice.dev/hook': 'PostSync' } }),
        ],
        { inventory: [ref('Deployment', 'api', 'web', 'apps')] },
      ),
    );
    expect(p.errors).toEqual([]);
    expect(p.apply.map((o) => o.ref.name)).toEqual(['api']);
    expect(p.hooks.map((h) => [h.ref.name, h.phases, h.wave])).toEqual([
      ['seed', ['PreSync'], -1],
      ['api', ['PostSync'], 0],
      ['migrate', ['PreSync'], 1],
    ]);
    expect(p.hooks[0]?.manifest.metadata.annotations?.[TRACKING_ANNOTATION]).toBe(trackingId(app, ref('Job', 'seed', 'web', 'batch')));
    expect(p.prune).toEqual([]);
    expect(plan(input([m('Job', 'x', { apiVersion: 'batch/v1', annotations: { 'argocd.argoproj.io/hook': 'Later' } })])).errors[0]).toMatch(/^f\.yaml:1: hook "Later": expected PreSync/);
  });

  it('orders Namespaces and CRDs first, then waves, then kinds, and settles namespaces', () => {
    const p = plan(
      input([
        m('Deployment', 'api'),
        m('ConfigMap', 'late', { annotations: { 'argocd.argoproj.io/sync-wave': '2' } }),
        m('Service', 'api'),
        m('Namespace', 'web', { annotations: { 'sluice.dev/sync-wave': '5' } }),
        m('ConfigMap', 'early', { annotations: { 'sluice.dev/sync-wave': '-1', 'argocd.argoproj.io/sync-wave': '9' } }),
        m('ConfigMap', 'other-ns', { namespace: 'ops' }),
        m('ClusterRole', 'reader', { namespace: 'ignored' }),
        m('CustomResourceDefinition', 'widgets.x.io', { spec: { group: 'x.io', names: { kind: 'Widget' }, scope: 'Namespaced' } }),
        m('Widget', 'w1', { apiVersion: 'x.io/v1' }),
      ]),
    );
    expect(p.errors).toEqual([]);
    expect(p.apply.map((o) => `${o.wave}:${o.ref.kind}/${o.ref.namespace}/${o.ref.name}`)).toEqual([
      '-Infinity:Namespace//web',
      '-Infinity:CustomResourceDefinition//widgets.x.io',
      '-1:ConfigMap/web/early',
      '0:ConfigMap/ops/other-ns',
      '0:ClusterRole//reader',
      '0:Service/web/api',
      '0:Deployment/web/api',
      '0:Widget/web/w1',
      '2:ConfigMap/web/late',
    ]);
    expect(stages(p.apply).map((s) => s.length)).toEqual([2, 1, 5, 1]);
    const cm = p.apply.find((o) => o.ref.name === 'early')!;
    expect(cm.manifest.metadata).toMatchObject({ namespace: 'web', labels: { [INSTANCE_LABEL]: 'web' }, annotations: { [TRACKING_ANNOTATION]: 'sluice/web:/ConfigMap:web/early' } });
    expect(p.apply.find((o) => o.ref.kind === 'ClusterRole')!.manifest.metadata.namespace).toBeUndefined();
  });

  it('adds the owner shard\'s label only when sharded, to resources and hooks, over a label Git names', () => {
    const manifests = [m('ConfigMap', 'a'), m('Job', 'migrate', { apiVersion: 'batch/v1', annotations: { 'argocd.argoproj.io/hook': 'PreSync' } })];
    const unsharded = plan(input(manifests));
    expect([...unsharded.apply, ...unsharded.hooks].map((o) => Object.keys(o.manifest.metadata.labels ?? {}))).toEqual([[INSTANCE_LABEL], [INSTANCE_LABEL]]);
    const sharded = plan(input(manifests, { shard: 'sluice-1' }));
    expect([...sharded.apply, ...sharded.hooks].map((o) => o.manifest.metadata.labels)).toEqual([
      { [INSTANCE_LABEL]: 'web', [OWNER_LABEL]: 'sluice-1' },
      { [INSTANCE_LABEL]: 'web', [OWNER_LABEL]: 'sluice-1' },
    ]);
    // Another shard plans the same rendered manifest (memoized per manifest): its own label, not the first one's.
    expect(plan(input(manifests, { shard: 'sluice-2' })).apply[0]?.manifest.metadata.labels?.[OWNER_LABEL]).toBe('sluice-2');
    expect(plan(input(manifests)).apply[0]?.manifest.metadata.labels?.[OWNER_LABEL]).toBeUndefined();
    const typed = m('ConfigMap', 'b');
    typed.manifest.metadata.labels = { [OWNER_LABEL]: 'typed-in-git' };
    expect(plan(input([typed], { shard: 'sluice-1' })).apply[0]?.manifest.metadata.labels?.[OWNER_LABEL]).toBe('sluice-1');
  });

  it('reports unknown kinds, duplicates, bad waves and missing namespaces, and then applies nothing', () => {
    const p = plan(input([m('ConfigMap', 'a'), m('ConfigMap', 'a'), m('Widget', 'w', { apiVersion: 'x.io/v1' }), m('Service', 's', { annotations: { 'sluice.dev/sync-wave': 'soon' } })], { inventory: [ref('ConfigMap', 'gone')] }));
    expect(p.apply).toEqual([]);
    expect(p.prune).toEqual([]);
    expect(p.errors).toHaveLength(3);
    expect(p.errors.join('\n')).toMatch(/also rendered by[\s\S]*does not know Widget[\s\S]*not an integer/);
    expect(plan(input([m('ConfigMap', 'a')], { destinationNamespace: undefined })).errors[0]).toMatch(/names no namespace/);
  });

  it('prunes what left Git in reverse wave order, keeps it when prune is off or the render is empty', () => {
    const inventory = [ref('ConfigMap', 'kept'), { ...ref('ConfigMap', 'w3'), syncWave: 3 }, ref('Namespace', 'old', ''), { ...ref('Deployment', 'd', 'web', 'apps'), syncWave: 1 }];
    const p = plan(input([m('ConfigMap', 'kept')], { inventory }));
    expect(p.prune.map((r) => r.name)).toEqual(['w3', 'd', 'old']);
    expect(plan(input([m('ConfigMap', 'kept')], { inventory, prune: false })).orphaned.map((o) => o.reason)).toEqual(['prune is off', 'prune is off', 'prune is off']);
    expect(plan(input([], { inventory })).prune).toEqual([]);
    expect(plan(input([], { inventory, allowEmpty: true })).prune).toHaveLength(4);
  });

  it('deletes a live object only if it carries our tracking id and does not opt out', () => {
    const r = ref('ConfigMap', 'x');
    const live = (annotations: Record<string, string>) => ({ metadata: { annotations } });
    expect(pruneVerdict(app, r, live({ [TRACKING_ANNOTATION]: trackingId(app, r) }))).toEqual({ delete: true });
    expect(pruneVerdict(app, r, live({ [TRACKING_ANNOTATION]: 'sluice/other:/ConfigMap:web/x' }))).toMatchObject({ delete: false });
    expect(pruneVerdict(app, r, live({ [TRACKING_ANNOTATION]: trackingId(app, r), 'argocd.argoproj.io/sync-options': 'ServerSideApply=true, Prune=false' }))).toEqual({ delete: false, reason: 'Prune=false' });
    expect(pruneVerdict(app, r, live({ [TRACKING_ANNOTATION]: trackingId(app, r), 'helm.sh/resource-policy': 'keep' }))).toEqual({ delete: false, reason: 'helm.sh/resource-policy: keep' });
    expect(pruneVerdict(app, r, undefined)).toMatchObject({ delete: false });
  });
});

// DESIGN invariant 6: the sync never prunes on a render error or an empty render (unless allowed), and never deletes
// what it does not track.
describe('invariant 6 (property)', () => {
  const kinds = ['ConfigMap', 'Secret', 'Service', 'Namespace', 'ClusterRole'];
  const arbRef = fc.record({ kind: fc.constantFrom(...kinds), name: fc.constantFrom('a', 'b', 'c', 'd') }).map(({ kind, name }) => ref(kind, name, CLUSTER.has(kind) ? '' : 'web'));
  const arbInput = fc.record({
    rendered: fc.uniqueArray(arbRef, { selector: refKey, maxLength: 6 }),
    inventory: fc.uniqueArray(arbRef, { selector: refKey, maxLength: 6 }),
    renderFailed: fc.boolean(),
    prune: fc.boolean(),
    allowEmpty: fc.boolean(),
  });

  it('prunes only inventoried, unrendered objects, and nothing on a render error or a disallowed empty render', () => {
    fc.assert(
      fc.property(arbInput, (a) => {
        const manifests = a.rendered.map((r) => m(r.kind, r.name));
        const p = plan(input(manifests, { rendered: a.renderFailed ? { ok: false, error: 'f.yaml:1: bad' } : { ok: true, manifests }, inventory: a.inventory, prune: a.prune, allowEmpty: a.allowEmpty }));
        const rendered = new Set(a.rendered.map(refKey));
        const inventoried = new Set(a.inventory.map(refKey));
        if (a.renderFailed) expect(p.apply.length + p.prune.length).toBe(0);
        if (!a.prune || (a.rendered.length === 0 && !a.allowEmpty)) expect(p.prune).toEqual([]);
        for (const r of p.prune) {
          expect(inventoried.has(refKey(r))).toBe(true);
          expect(rendered.has(refKey(r))).toBe(false);
        }
        // everything inventoried and unrendered is either pruned or reported as orphaned
        if (!a.renderFailed) expect(p.prune.length + p.orphaned.length).toBe(a.inventory.filter((r) => !rendered.has(refKey(r))).length);
      }),
      { numRuns: 500 },
    );
  });

  it('the prune verdict deletes only objects whose tracking id is exactly ours', () => {
    fc.assert(
      fc.property(arbRef, fc.option(fc.string(), { nil: undefined }), fc.constantFrom(undefined, 'Prune=false', 'Prune=true'), (r, foreign, opts) => {
        const annotations: Record<string, string> = {};
        if (foreign !== undefined) annotations[TRACKING_ANNOTATION] = foreign;
        if (opts !== undefined) annotations['argocd.argoproj.io/sync-options'] = opts;
        const v = pruneVerdict(app, r, { metadata: { annotations } });
        if (v.delete) {
          expect(foreign).toBe(trackingId(app, r));
          expect(opts).not.toBe('Prune=false');
        }
      }),
    );
  });
});

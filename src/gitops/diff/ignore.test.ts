import { describe, expect, it } from '@jest/globals';
import type { IgnoreDifference } from '../../api/application/ignore.ts';
import type { KubeObject } from '../../kube/client.ts';
import { INSTANCE_LABEL, TRACKING_ANNOTATION, type ObjectRef } from '../plan/plan.ts';
import { drifted } from './drift.ts';
import { removeOwned, respectIgnored, rulesFor, withoutIgnored } from './ignore.ts';

const ref: ObjectRef = { group: 'apps', kind: 'Deployment', namespace: 'shop', name: 'web' };
const deployment = (replicas: number, image: string, extra: Record<string, unknown> = {}): KubeObject =>
  ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', labels: { [INSTANCE_LABEL]: 'web' }, annotations: { [TRACKING_ANNOTATION]: 'x' } },
    spec: { replicas, template: { spec: { containers: [{ name: 'web', image }, { name: 'side', image: 'busybox' }] } } },
    ...extra,
  });

describe('rulesFor', () => {
  it('selects by group and kind, and by name and namespace only when given', () => {
    const rules: IgnoreDifference[] = [
      { group: 'apps', kind: 'Deployment', jsonPointers: ['/a'] },
      { kind: 'Deployment', jsonPointers: ['/core-group'] },
      { group: 'apps', kind: 'Deployment', name: 'other', jsonPointers: ['/b'] },
      { group: 'apps', kind: 'Deployment', namespace: 'shop', name: 'web', jsonPointers: ['/c'] },
      { group: 'apps', kind: 'StatefulSet', jsonPointers: ['/d'] },
    ];
    expect(rulesFor(rules, ref).map((r) => r.jsonPointers?.[0])).toEqual(['/a', '/c']);
  });
});

describe('drift with ignoreDifferences', () => {
  const rules: IgnoreDifference[] = [{ group: 'apps', kind: 'Deployment', jsonPointers: ['/spec/replicas'] }];
  it('does not count an ignored field, and still counts the others', () => {
    expect(drifted(deployment(5, 'nginx:1'), deployment(2, 'nginx:1'))).toBe(true);
    expect(drifted(deployment(5, 'nginx:1'), deployment(2, 'nginx:1'), rules)).toBe(false);
    expect(drifted(deployment(5, 'nginx:2'), deployment(2, 'nginx:1'), rules)).toBe(true);
  });

  it('ignores fields the named managers own in the live object', () => {
    const managedFields = [
      { manager: 'sluice', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
      { manager: 'kubectl-edit', operation: 'Update', fieldsV1: { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { 'f:image': {} } } } } } } },
    ];
    const live = deployment(2, 'nginx:edited', {});
    (live.metadata as Record<string, unknown>).managedFields = managedFields;
    const mgr: IgnoreDifference[] = [{ group: 'apps', kind: 'Deployment', managedFieldsManagers: ['kubectl-edit'] }];
    expect(drifted(live, deployment(2, 'nginx:1'), mgr)).toBe(false);
    expect(drifted(live, deployment(3, 'nginx:1'), mgr)).toBe(true);
    // The sidecar's image is not kubectl-edit's: it is still compared.
    expect(withoutIgnored(deployment(2, 'x'), mgr, managedFields)).toMatchObject({ spec: { template: { spec: { containers: [{ name: 'web' }, { name: 'side', image: 'busybox' }] } } } });
  });
});

describe('respectIgnored (what a sync applies)', () => {
  it('adopts the live value of an ignored pointer, so neither a revert nor a server-side-apply removal happens', () => {
    const rules: IgnoreDifference[] = [{ group: 'apps', kind: 'Deployment', jsonPointers: ['/spec/replicas', '/spec/template/spec/containers/1/image', '/spec/absent'] }];
    const out = respectIgnored(deployment(2, 'nginx:2'), deployment(7, 'nginx:1', {}), rules) as ReturnType<typeof deployment> & { spec: { replicas: number; template: { spec: { containers: { image: string }[] } } } };
    expect(out.spec.replicas).toBe(7);
    expect(out.spec.template.spec.containers.map((c) => c.image)).toEqual(['nginx:2', 'busybox']);
    expect(out.spec).not.toHaveProperty('absent');
  });

  it('applies Git as is when the object does not exist yet', () => {
    const m = deployment(2, 'nginx:2');
    expect(respectIgnored(m, undefined, [{ group: 'apps', kind: 'Deployment', jsonPointers: ['/spec/replicas'] }])).toBe(m);
  });

  it('leaves out fields the named managers own, never the identity or the tracking metadata', () => {
    const live = deployment(4, 'nginx:1');
    (live.metadata as Record<string, unknown>).managedFields = [
      { manager: 'hpa', operation: 'Update', fieldsV1: { 'f:spec': { 'f:replicas': {} }, 'f:metadata': { 'f:name': {}, 'f:labels': { [`f:${INSTANCE_LABEL}`]: {} }, 'f:annotations': { [`f:${TRACKING_ANNOTATION}`]: {} } } } },
    ];
    const out = respectIgnored(deployment(2, 'nginx:2'), live, [{ group: 'apps', kind: 'Deployment', managedFieldsManagers: ['hpa'] }]) as KubeObject & { spec: Record<string, unknown> };
    expect(out.spec).not.toHaveProperty('replicas');
    expect(out.metadata?.name).toBe('web');
    expect(out.metadata?.labels?.[INSTANCE_LABEL]).toBe('web');
    expect(out.metadata?.annotations?.[TRACKING_ANNOTATION]).toBe('x');
  });
});

describe('removeOwned', () => {
  it('follows f:, k:, v: and i: keys and removes leaves only', () => {
    const obj = { spec: { list: [{ name: 'a', x: 1, y: 2 }, { name: 'b', x: 3 }], set: ['p', 'q'], byIndex: [10, 20], keep: true } };
    removeOwned(obj, { 'f:spec': { 'f:list': { 'k:{"name":"a"}': { '.': {}, 'f:x': {} } }, 'f:set': { 'v:"q"': {} }, 'f:byIndex': { 'i:0': {} }, 'f:missing': {} } });
    expect(obj).toEqual({ spec: { list: [{ name: 'a', y: 2 }, { name: 'b', x: 3 }], set: ['p'], byIndex: [20], keep: true } });
  });
});

import { describe, expect, it } from '@jest/globals';
import { classifyConflicts } from './conflicts.ts';
import { fieldSetContains, withoutFields } from './fieldpath.ts';

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { 'app.kubernetes.io/name': 'web', app: 'x' } },
  spec: {
    replicas: 2,
    template: { spec: { containers: [{ name: 'web', image: 'nginx:1', ports: [{ containerPort: 80, protocol: 'TCP' }] }, { name: 'side', image: 'busybox' }] } },
  },
};

describe('field paths from apply conflicts', () => {
  it('removes plain, dotted-key and keyed-list paths without touching the input', () => {
    const out = withoutFields(deployment, ['.spec.replicas', '.metadata.labels.app.kubernetes.io/name', '.spec.template.spec.containers[name="side"].image']);
    expect(out.missing).toEqual([]);
    expect(out.manifest.spec.replicas).toBeUndefined();
    expect(out.manifest.metadata.labels).toEqual({ app: 'x' });
    expect(out.manifest.spec.template.spec.containers[1]).toEqual({ name: 'side' });
    expect(deployment.spec.replicas).toBe(2);
  });

  it('handles multi-key selectors, and reports what it cannot find', () => {
    const out = withoutFields(deployment, ['.spec.template.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"]', '.spec.paused']);
    expect(out.manifest.spec.template.spec.containers[0]?.ports).toBeUndefined();
    expect(out.missing).toEqual(['.spec.paused']);
  });

  it('finds paths in managedFields sets', () => {
    const fields = { 'f:spec': { 'f:replicas': {}, 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { 'f:image': {} } } } } }, 'f:metadata': { 'f:labels': { 'f:app.kubernetes.io/name': {} } } };
    expect(fieldSetContains(fields, '.spec.replicas')).toBe(true);
    expect(fieldSetContains(fields, '.spec.template.spec.containers[name="web"].image')).toBe(true);
    expect(fieldSetContains(fields, '.metadata.labels.app.kubernetes.io/name')).toBe(true);
    expect(fieldSetContains(fields, '.spec.template.spec.containers[name="side"].image')).toBe(false);
  });
});

describe('conflict policy (invariant 7)', () => {
  const managed = [
    { manager: 'sluice', operation: 'Apply', fieldsV1: { 'f:data': { 'f:a': {} } } },
    { manager: 'sluice-rollout', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
    { manager: 'kubectl', operation: 'Update', subresource: 'scale', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
    { manager: 'kubectl-edit', operation: 'Update', fieldsV1: { 'f:data': { 'f:color': {} } } },
  ];
  it('respects fields another manager applied or wrote through scale; takes back imperative edits', () => {
    const out = classifyConflicts(
      [
        { field: '.spec.replicas', message: 'conflict with "sluice-rollout" using apps/v1' },
        { field: '.spec.replicas', message: 'conflict with "kubectl" with subresource "scale" using apps/v1' },
        { field: '.data.color', message: 'conflict with "kubectl-edit" using v1' },
        { field: '.data.other', message: 'conflict with "someone" using v1' },
      ],
      managed,
    );
    expect(out.map((c) => [c.manager, c.action])).toEqual([
      ['sluice-rollout', 'respect'],
      ['kubectl', 'respect'],
      ['kubectl-edit', 'override'],
      ['someone', 'respect'],
    ]);
  });
});

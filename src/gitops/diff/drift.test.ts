import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { KubeObject } from '../../kube/client.ts';
import { drifted, fingerprint, liveState, sameState, unchangedSince } from './drift.ts';

const manifest: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'a', labels: { app: 'web', 'sluice.dev/instance': 'app' }, annotations: { 'sluice.dev/tracking-id': 'a/app:apps/Deployment:a/web' } },
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'web', image: 'web:1' }] } } },
};
const live = (over: Partial<KubeObject> = {}): KubeObject => ({
  ...structuredClone(manifest),
  metadata: { ...structuredClone(manifest.metadata), resourceVersion: '10', generation: 1, uid: 'u' },
  spec: { replicas: 2, strategy: { type: 'RollingUpdate' }, template: { spec: { containers: [{ name: 'web', image: 'web:1', imagePullPolicy: 'IfNotPresent' }] } } },
  status: { replicas: 2 },
  ...over,
});

describe('fingerprint', () => {
  it('is a short hash that ignores key order', () => {
    expect(fingerprint({ a: 1, b: { c: 2, d: 3 } })).toBe(fingerprint({ b: { d: 3, c: 2 }, a: 1 }));
    expect(fingerprint({ a: 1 })).not.toBe(fingerprint({ a: 2 }));
    expect(fingerprint(manifest).length).toBeLessThan(40);
  });
});

describe('unchangedSince: when a manifest found in sync needs no new dry-run', () => {
  const state = liveState(live());

  it('holds across status, resourceVersion and managedFields changes, and keys others add to labels or annotations', () => {
    const l = live({ status: { replicas: 3, readyReplicas: 3 } });
    l.metadata = { ...l.metadata, resourceVersion: '11', managedFields: [{ manager: 'kube-controller-manager' }], annotations: { ...l.metadata?.annotations, 'deployment.kubernetes.io/revision': '1' } };
    expect(unchangedSince(state, manifest, l)).toBe(true);
  });

  it('fails when a declared label or annotation changed or went away', () => {
    const changed = live();
    changed.metadata = { ...changed.metadata, labels: { ...changed.metadata?.labels, app: 'other' } };
    expect(unchangedSince(state, manifest, changed)).toBe(false);
    const gone = live();
    gone.metadata = { ...gone.metadata, annotations: {} };
    expect(unchangedSince(state, manifest, gone)).toBe(false);
  });

  it('fails on any other change of the object: spec (declared or not), finalizers, owner references', () => {
    expect(unchangedSince(state, manifest, live({ spec: { ...(live().spec as object), replicas: 3 } }))).toBe(false);
    expect(unchangedSince(state, manifest, live({ spec: { ...(live().spec as object), paused: true } }))).toBe(false);
    const fin = live();
    fin.metadata = { ...fin.metadata, finalizers: ['x'] };
    expect(unchangedSince(state, manifest, fin)).toBe(false);
  });

  it('property: a change anywhere in spec is never taken for "unchanged"', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.jsonValue(), { minKeys: 1, maxKeys: 4 }), (extra) => {
        const l = live({ spec: { ...(live().spec as object), extra } });
        return !unchangedSince(state, manifest, l);
      }),
    );
  });

  it('agrees with drifted() on what it lets through: a live object equal but for status is not drift', () => {
    const l = live({ status: { replicas: 5 } });
    expect(drifted(live(), l)).toBe(false);
    expect(unchangedSince(state, manifest, l)).toBe(true);
  });
});

describe('sameState', () => {
  it('agrees with liveState', () => {
    const a = live();
    const b = live({ status: { replicas: 9 } });
    const c = live({ spec: { replicas: 9 } });
    expect(sameState(a, b)).toBe(liveState(a) === liveState(b));
    expect(sameState(a, c)).toBe(false);
    expect(liveState(a) === liveState(c)).toBe(false);
  });
});

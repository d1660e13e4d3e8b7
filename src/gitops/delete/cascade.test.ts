import { describe, expect, it } from '@jest/globals';
import { cascadeFinalizer, refOfLive, RESOURCES_FINALIZER } from './cascade.ts';

describe('cascadeFinalizer', () => {
  it.each([
    [[RESOURCES_FINALIZER], 'Foreground'],
    [['other', `${RESOURCES_FINALIZER}/foreground`], 'Foreground'],
    [[`${RESOURCES_FINALIZER}/background`], 'Background'],
  ])('%j deletes in the %s', (finalizers, propagation) => {
    expect(cascadeFinalizer(finalizers)?.propagation).toBe(propagation);
  });

  it('is absent without Argo CD’s resources finalizer (the objects stay)', () => {
    expect(cascadeFinalizer(undefined)).toBeUndefined();
    expect(cascadeFinalizer(['foregroundDeletion', 'post-delete-finalizer.argocd.argoproj.io', `${RESOURCES_FINALIZER}/sideways`])).toBeUndefined();
  });
});

describe('refOfLive', () => {
  it('names a live object the way the inventory does', () => {
    expect(refOfLive({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { namespace: 'a', name: 'b' } })).toEqual({ group: 'apps', version: 'v1', kind: 'Deployment', namespace: 'a', name: 'b' });
    expect(refOfLive({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n' } })).toEqual({ group: '', version: 'v1', kind: 'Namespace', namespace: '', name: 'n' });
  });
});

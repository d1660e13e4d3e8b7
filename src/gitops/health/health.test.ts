import { describe, expect, it } from '@jest/globals';
import { drifted } from '../diff/drift.ts';
import { assessHealth, worst } from './health.ts';

const dep = (spec: object, status: object, generation = 2) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', generation }, spec, status });

describe('health', () => {
  it('judges Deployments by generation, replicas and progress deadline', () => {
    expect(assessHealth(dep({ replicas: 2 }, { observedGeneration: 1 })).status).toBe('Progressing');
    expect(assessHealth(dep({ replicas: 2 }, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 1, availableReplicas: 1 })).status).toBe('Progressing');
    expect(assessHealth(dep({ replicas: 2 }, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 })).status).toBe('Healthy');
    expect(assessHealth(dep({}, { observedGeneration: 2, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] })).status).toBe('Degraded');
    expect(assessHealth(dep({ paused: true }, { observedGeneration: 2 })).status).toBe('Suspended');
  });
  it('knows Pods, Jobs, PVCs, Services, CRDs, Sluice Rollouts and generic conditions', () => {
    expect(assessHealth({ apiVersion: 'v1', kind: 'Pod', status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }).status).toBe('Healthy');
    expect(assessHealth({ apiVersion: 'v1', kind: 'Pod', status: { phase: 'Failed' } }).status).toBe('Degraded');
    expect(assessHealth({ apiVersion: 'batch/v1', kind: 'Job', status: { conditions: [{ type: 'Complete', status: 'True' }] } }).status).toBe('Healthy');
    expect(assessHealth({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', status: { phase: 'Pending' } }).status).toBe('Progressing');
    expect(assessHealth({ apiVersion: 'v1', kind: 'Service', spec: { type: 'ClusterIP' } }).status).toBe('Healthy');
    expect(assessHealth({ apiVersion: 'v1', kind: 'Service', spec: { type: 'LoadBalancer' }, status: {} }).status).toBe('Progressing');
    expect(assessHealth({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', status: { conditions: [{ type: 'Established', status: 'True' }] } }).status).toBe('Healthy');
    const ro = (status: object, spec: object = {}) => ({ apiVersion: 'sluice.dev/v1alpha1', kind: 'Rollout', metadata: { generation: 1 }, spec, status });
    expect(assessHealth(ro({ phase: 'Progressing' })).status).toBe('Progressing');
    expect(assessHealth(ro({ phase: 'Paused' })).status).toBe('Suspended');
    expect(assessHealth(ro({ abort: true, phase: 'Degraded' })).status).toBe('Degraded');
    expect(assessHealth(ro({ phase: 'Healthy' })).status).toBe('Healthy');
    // Argo's string observedGeneration: a phase about an older generation is not the new spec's health.
    const newer = (status: object) => ({ ...ro(status), metadata: { generation: 3 } });
    expect(assessHealth(newer({ phase: 'Healthy', observedGeneration: '2' }))).toEqual({ status: 'Progressing', message: expect.stringContaining('latest generation') as unknown as string });
    expect(assessHealth(newer({ phase: 'Healthy', observedGeneration: '3' })).status).toBe('Healthy');
    expect(assessHealth(newer({ phase: 'Healthy', observedGeneration: 3 })).status).toBe('Healthy');
    // Mid-canary (paused at a step, or between steps with the stable ReplicaSet not yet switched) and aborted: not Healthy.
    expect(assessHealth(newer({ phase: 'Paused', observedGeneration: '3' })).status).toBe('Suspended');
    expect(assessHealth(newer({ phase: 'Progressing', observedGeneration: '3', message: 'waiting for all steps to complete' })).status).toBe('Progressing');
    expect(assessHealth(newer({ phase: 'Degraded', abort: true, observedGeneration: '3' })).status).toBe('Degraded');
    expect(assessHealth({ apiVersion: 'x.io/v1', kind: 'Thing', status: { conditions: [{ type: 'Ready', status: 'False', message: 'no' }] } })).toEqual({ status: 'Progressing', message: 'no' });
    expect(assessHealth(undefined).status).toBe('Missing');
  });
  it('shows the worst', () => {
    expect(worst([{ status: 'Healthy' }, { status: 'Progressing' }, { status: 'Suspended' }]).status).toBe('Progressing');
    expect(worst([]).status).toBe('Healthy');
  });
});

describe('drift', () => {
  const live = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', resourceVersion: '5', managedFields: [{ manager: 'x' }], labels: { a: '1' } }, data: { k: 'v' } };
  it('ignores bookkeeping fields but sees data, labels and annotations', () => {
    expect(drifted(live, { ...live, metadata: { ...live.metadata, resourceVersion: '6', managedFields: [] } })).toBe(false);
    expect(drifted(live, { ...live, data: { k: 'w' } })).toBe(true);
    expect(drifted(live, { ...live, metadata: { ...live.metadata, labels: { a: '2' } } })).toBe(true);
  });
});

import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import { quietChange } from './controller.ts';
import type { AppMemory } from './sync.ts';

const deploy = (over: { annotations?: Record<string, string>; labels?: Record<string, string>; spec?: object; status?: object; rv?: string } = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'a', resourceVersion: over.rv ?? '1', generation: 1, labels: over.labels ?? { app: 'web' }, annotations: over.annotations ?? { 'sluice.dev/tracking-id': 't' } },
  spec: over.spec ?? { replicas: 0 },
  ...(over.status !== undefined ? { status: over.status } : {}),
});
const inSync = (): AppMemory => ({ inSync: new Map([['apps/Deployment:a/web', { rv: '1', fp: 'f', state: 's' }]]) });

describe('quietChange: managed-object events that need no reconcile of their app', () => {
  it('skips a status update and an added annotation of an object in sync whose health is unchanged', () => {
    const after = deploy({ rv: '2', annotations: { 'sluice.dev/tracking-id': 't', 'deployment.kubernetes.io/revision': '1' }, status: { observedGeneration: 1 } });
    expect(quietChange(inSync(), R.deployment, deploy(), after)).toBe(true);
  });

  it('reconciles when the object was not in sync, or its health, state or a known label/annotation changed', () => {
    const status = deploy({ rv: '2', status: { observedGeneration: 1 } });
    expect(quietChange(undefined, R.deployment, deploy(), status)).toBe(false);
    expect(quietChange({ inSync: new Map() }, R.deployment, deploy(), status)).toBe(false);
    expect(quietChange(inSync(), R.deployment, deploy(), deploy({ rv: '2', spec: { replicas: 1 } }))).toBe(false);
    expect(quietChange(inSync(), R.deployment, deploy(), deploy({ rv: '2', labels: { app: 'other' } }))).toBe(false);
    expect(quietChange(inSync(), R.deployment, deploy(), deploy({ rv: '2', annotations: {} }))).toBe(false);
    const progressing = deploy({ rv: '2', spec: { replicas: 0, paused: true } });
    expect(quietChange(inSync(), R.deployment, deploy(), progressing)).toBe(false);
  });
});

import { describe, expect, it } from '@jest/globals';
import { loadFixture } from '../../../test/fixtures/api/fixtures.ts';
import { applicationSchema, applicationStatusSchema } from './schema.ts';

describe('applicationSchema', () => {
  it('parses the Argo CD fixture, keeps ignoreDifferences whole and defaults pollInterval to 3m', () => {
    const m = loadFixture('application.yaml');
    const parsed = applicationSchema.parse(m);
    expect(parsed).toEqual({ ...m, spec: { ...(m.spec as object), pollInterval: '3m' } });
    expect(parsed.spec.ignoreDifferences?.[0]).toEqual({ group: 'apps', kind: 'Deployment', jsonPointers: ['/spec/replicas'] });
  });

  it('keeps an explicit pollInterval and credentials', () => {
    const m = loadFixture('application.yaml');
    (m.spec as Record<string, unknown>).pollInterval = 60;
    (m.spec as Record<string, unknown>).credentials = { secretRef: { name: 'git-creds' } };
    const parsed = applicationSchema.parse(m);
    expect(parsed.spec.pollInterval).toBe(60);
    expect(parsed.spec.credentials).toEqual({ secretRef: { name: 'git-creds' } });
  });

  it('parses the status Sluice writes and caps history at 10 entries', () => {
    const entry = (id: number) => ({ id, revision: `abc${id}`, deployedAt: '2025-03-01T10:00:00Z' });
    const status = {
      sync: { status: 'Synced', revision: 'abc9' },
      health: { status: 'Progressing', message: 'Deployment web: 1 of 3 updated' },
      resources: [{ group: 'apps', version: 'v1', kind: 'Deployment', namespace: 'shop', name: 'web', status: 'Synced', health: { status: 'Progressing' }, syncWave: -1 }],
      history: Array.from({ length: 10 }, (_, i) => entry(i)),
      operationState: { phase: 'Succeeded', startedAt: '2025-03-01T10:00:00Z', syncResult: { revision: 'abc9', resources: [{ kind: 'Deployment', name: 'web', status: 'Synced' }] } },
      reconciledAt: '2025-03-01T10:00:05Z',
      observedGeneration: 3,
    };
    expect(applicationStatusSchema.parse(status)).toEqual(status);
    expect(applicationStatusSchema.safeParse({ ...status, history: [...status.history, entry(10)] }).success).toBe(false);
    expect(applicationStatusSchema.safeParse({ health: { status: 'Fine' } }).success).toBe(false);
  });
});

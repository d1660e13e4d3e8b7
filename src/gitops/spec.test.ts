import { describe, expect, it } from '@jest/globals';
import { appSpecStatus, appSpecStatusChanged, checkApplication, INVALID_SPEC_ERROR } from './spec.ts';

const T0 = '2026-01-01T00:00:00Z';
const app = (repoURL: string, path = 'apps/web') => ({
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'Application',
  metadata: { name: 'web', namespace: 'sluice', generation: 2 },
  spec: { source: { repoURL, targetRevision: 'main', path }, destination: { namespace: 'web' } },
});

describe('application spec check', () => {
  it('accepts an HTTPS repository', () => {
    const c = checkApplication(app('https://git.example.com/org/config.git'));
    expect(c.ok).toBe(true);
    expect(appSpecStatus(undefined, c, 2, T0)).toEqual({ observedGeneration: 2, conditions: [] });
  });

  it('reports an SSH URL and a path escaping the repo in one InvalidSpecError condition', () => {
    const s = appSpecStatus(undefined, checkApplication(app('git@github.com:org/config.git', '../x')), 2, T0);
    expect(s.conditions).toHaveLength(1);
    expect(s.conditions[0]).toMatchObject({ type: INVALID_SPEC_ERROR, status: 'True' });
    expect(s.conditions[0]?.message).toContain('spec.source.repoURL');
    expect(s.conditions[0]?.message).toContain('spec.source.path');
  });

  it('writes only on change', () => {
    const s = appSpecStatus(undefined, checkApplication(app('https://g/x.git')), 2, T0);
    expect(appSpecStatusChanged({ observedGeneration: 2, conditions: [] }, s)).toBe(false);
    expect(appSpecStatusChanged({ observedGeneration: 1, conditions: [] }, s)).toBe(true);
  });
});

import { describe, expect, it } from '@jest/globals';
import { fieldPath, formatSpecErrors } from './errors.ts';
import { resolveIntOrPercent } from './int-or-string.ts';
import { conditionSchema, selectorMatches } from './meta.ts';

describe('selectorMatches', () => {
  const labels = { app: 'web', tier: 'front' };
  it.each([
    [{}, true],
    [{ matchLabels: { app: 'web' } }, true],
    [{ matchLabels: { app: 'api' } }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['front', 'back'] }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'NotIn' as const, values: ['front'] }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'NotIn' as const, values: ['a'] }] }, true],
    [{ matchExpressions: [{ key: 'app', operator: 'Exists' as const }] }, true],
    [{ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' as const }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'In' as const, values: ['a'] }] }, false],
  ])('%j → %s', (selector, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });
});

describe('resolveIntOrPercent', () => {
  it('resolves percentages against the total, rounding as asked', () => {
    expect(resolveIntOrPercent('25%', 10, true)).toBe(3);
    expect(resolveIntOrPercent('25%', 10, false)).toBe(2);
    expect(resolveIntOrPercent(4, 10, true)).toBe(4);
    expect(resolveIntOrPercent('4', 10, true)).toBe(4);
    expect(resolveIntOrPercent('many', 10, true)).toBeUndefined();
  });
});

describe('fieldPath and formatSpecErrors', () => {
  it('writes dotted keys, indexes and quoted odd keys', () => {
    expect(fieldPath('spec.strategy.canary', 'steps', 2, 'setWeight')).toBe('spec.strategy.canary.steps[2].setWeight');
    expect(fieldPath('spec.plugins', 'argoproj-labs/gatewayAPI')).toBe('spec.plugins["argoproj-labs/gatewayAPI"]');
    expect(formatSpecErrors([{ field: 'a', message: 'x' }, { field: 'b', message: 'y' }])).toBe('a: x; b: y');
  });
});

describe('conditionSchema', () => {
  it('accepts a Kubernetes condition and refuses a status other than True, False, Unknown', () => {
    const ok = { type: 'Available', status: 'True', reason: 'Ready', lastTransitionTime: '2025-01-01T00:00:00Z', lastUpdateTime: '2025-01-01T00:00:00Z' };
    expect(conditionSchema.parse(ok)).toEqual(ok);
    expect(conditionSchema.safeParse({ type: 'Available', status: 'Yes' }).success).toBe(false);
  });
});

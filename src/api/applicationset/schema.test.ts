import { describe, expect, it } from '@jest/globals';
import { loadFixture } from '../../../test/fixtures/api/fixtures.ts';
import { applicationSetSchema } from './schema.ts';

describe('applicationSetSchema', () => {
  it('parses Argo CD\'s ApplicationSet with only the apiVersion changed, keeping every field', () => {
    const m = loadFixture('applicationset.yaml');
    const parsed = applicationSetSchema.parse(m);
    expect(parsed.spec).toEqual(m['spec']);
  });

  it('names the field of a bad generator', () => {
    const m = loadFixture('applicationset.yaml');
    (m['spec'] as { generators: unknown[] }).generators = [{ clusters: { selector: { matchExpressions: [{ key: 'env', operator: 'Maybe' }] } } }];
    const r = applicationSetSchema.safeParse(m);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path.join('.')).toBe('spec.generators.0.clusters.selector.matchExpressions.0.operator');
  });
});

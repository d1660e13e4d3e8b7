import { describe, expect, it } from '@jest/globals';
import { maskSecrets } from './mask.ts';

describe('maskSecrets', () => {
  it('masks Secret values consistently across the two sides of a diff, and leaves other kinds alone', () => {
    const live = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: 'c2VjcmV0', b: 'b2xk' } };
    const next = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { a: 'c2VjcmV0', b: 'bmV3' }, stringData: { c: 'plain' } };
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'c2VjcmV0' } };
    const [l, n, c] = maskSecrets<Record<string, unknown>>([live, next, cm]);
    expect(l?.data).toEqual({ a: '++++++++', b: '+++++++++' });
    expect(n?.data).toEqual({ a: '++++++++', b: '++++++++++' });
    expect(n?.stringData).toEqual({ c: '+++++++++++' });
    expect(n?.metadata).toEqual({ name: 's' });
    expect(c).toBe(cm);
    expect(JSON.stringify([l, n])).not.toMatch(/c2VjcmV0|b2xk|bmV3|plain/);
  });
});

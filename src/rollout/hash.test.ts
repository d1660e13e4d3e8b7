import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { podTemplateHash, POD_TEMPLATE_HASH_LABEL, stepsHash } from './hash.ts';

const tpl = (image: string, extra: Record<string, string> = {}) => ({ metadata: { labels: { app: 'web', ...extra } }, spec: { containers: [{ name: 'web', image }] } });

describe('pod template hash', () => {
  it('is stable, label-safe, and ignores key order and its own label', () => {
    const h = podTemplateHash(tpl('web:1'));
    expect(h).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    expect(podTemplateHash({ spec: { containers: [{ image: 'web:1', name: 'web' }] }, metadata: { labels: { app: 'web' } } })).toBe(h);
    expect(podTemplateHash(tpl('web:1', { [POD_TEMPLATE_HASH_LABEL]: 'xyz' }))).toBe(h);
  });

  it('changes with the template and with the collision count', () => {
    expect(podTemplateHash(tpl('web:2'))).not.toBe(podTemplateHash(tpl('web:1')));
    expect(podTemplateHash(tpl('web:1'), 1)).not.toBe(podTemplateHash(tpl('web:1')));
  });

  it('property: equal templates hash equal, and the input is never mutated', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (image, label) => {
        const a = tpl(image, { x: label, [POD_TEMPLATE_HASH_LABEL]: 'h' });
        const copy = structuredClone(a);
        expect(podTemplateHash(a)).toBe(podTemplateHash(tpl(image, { x: label })));
        expect(a).toEqual(copy);
      }),
    );
  });

  it('hashes step lists', () => {
    expect(stepsHash([{ setWeight: 20 }])).not.toBe(stepsHash([{ setWeight: 30 }]));
    expect(stepsHash(undefined)).toBe(stepsHash([]));
  });
});

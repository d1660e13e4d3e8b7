import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { jsonEqual } from '../api/common/equal.ts';
import { sameJson } from './equal.ts';

describe('sameJson', () => {
  it('ignores key order and undefined members, and tells values apart', () => {
    expect(sameJson({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toBe(true);
    expect(sameJson({ a: 1, u: undefined }, { a: 1 })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 2 })).toBe(false);
    expect(sameJson([1, 2], [2, 1])).toBe(false);
    expect(sameJson({ a: null }, { a: undefined })).toBe(false);
    expect(sameJson([], {})).toBe(false);
  });

  it('property: agrees with jsonEqual on any pair of JSON values', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => sameJson(a, b) === jsonEqual(a, b) && sameJson(a, structuredClone(a))));
  });
});

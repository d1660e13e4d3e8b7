import { describe, expect, it } from '@jest/globals';
import { jsonEqual } from './equal.ts';

describe('jsonEqual', () => {
  it('ignores key order at every depth and absent-vs-undefined members', () => {
    expect(jsonEqual({ a: 1, b: { c: [1, { d: 2, e: 3 }] } }, { b: { c: [1, { e: 3, d: 2 }] }, a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1, x: undefined }, { a: 1 })).toBe(true);
  });

  it('sees real differences, including array order', () => {
    expect(jsonEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(jsonEqual({ a: '1' }, { a: 1 })).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
  });
});

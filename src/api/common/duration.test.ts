import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DurationError, durationError, formatDuration, parseDuration } from './duration.ts';

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['1.5h', 5_400_000],
    ['2m30s', 150_000],
    ['0s', 0],
    ['1500us', 1.5],
    [60, 60_000],
    ['60', 60_000],
    [0, 0],
  ])('%j is %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([['5x'], ['1h30'], ['m'], [''], ['-5s'], ['1.5'], [-1], [1.5], [null], [true], ['30 s']])('rejects %j with a DurationError naming it', (input) => {
    let thrown: unknown;
    try {
      parseDuration(input);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(DurationError);
    expect((thrown as DurationError).value).toBe(input);
    expect((thrown as DurationError).message).toContain(JSON.stringify(input));
  });

  it('round-trips any formatted duration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 * 3_600_000 }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });

  it('reads any sum of unit parts as the sum of their values, in any order', () => {
    const part = fc.record({ n: fc.integer({ min: 0, max: 10_000 }), unit: fc.constantFrom('ms', 's', 'm', 'h') });
    const size = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), (parts) => {
        const text = parts.map((p) => `${p.n}${p.unit}`).join('');
        expect(parseDuration(text)).toBe(parts.reduce((sum, p) => sum + p.n * size[p.unit], 0));
      }),
    );
  });

  it('treats integers as seconds whether written as numbers or strings', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10_000_000 }), (s) => {
        expect(parseDuration(s)).toBe(s * 1000);
        expect(parseDuration(String(s))).toBe(s * 1000);
      }),
    );
  });

  it('durationError names the field and the value, and is undefined for absent or good values', () => {
    expect(durationError('spec.x', '10q')).toEqual({ field: 'spec.x', message: expect.stringContaining('"10q"') as unknown });
    expect(durationError('spec.x', undefined)).toBeUndefined();
    expect(durationError('spec.x', '10s')).toBeUndefined();
  });
});

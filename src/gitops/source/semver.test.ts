import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { compareVersions, maxSatisfying, parseConstraint, parseVersion } from './semver.ts';

const VERSIONS = ['0.1.0', '0.2.0', '0.2.5', '1.0.0', '1.1.0', '1.1.3', '1.2.0-rc.1', '1.2.0', '2.0.0', '2.1.0-beta', 'v3.0.0', 'not-a-version'];
const pick = (c: string): unknown => maxSatisfying(VERSIONS, c);

describe('chart version constraints', () => {
  it('picks the newest release for an empty or * constraint, never a prerelease', () => {
    expect(pick('')).toBe('v3.0.0');
    expect(pick('*')).toBe('v3.0.0');
    expect(pick('latest')).toBe('v3.0.0');
  });
  it('reads exact versions, comparisons, tilde, caret, wildcards, hyphen ranges, AND and OR as Helm does', () => {
    expect(pick('1.1.0')).toBe('1.1.0');
    expect(pick('=1.1')).toBe('1.1.3');
    expect(pick('^1.0.0')).toBe('1.2.0');
    expect(pick('^0.2')).toBe('0.2.5');
    expect(pick('~1.1')).toBe('1.1.3');
    expect(pick('~1')).toBe('1.2.0');
    expect(pick('1.x')).toBe('1.2.0');
    expect(pick('1.1.*')).toBe('1.1.3');
    expect(pick('>=1.0.0, <2.0.0')).toBe('1.2.0');
    expect(pick('>= 1.0 < 1.2')).toBe('1.1.3');
    expect(pick('1.0 - 1.1.0')).toBe('1.1.0');
    expect(pick('<1.0.0 || >=2.0.0 <3')).toBe('2.0.0');
    expect(pick('!=1.2.0, ^1')).toBe('1.1.3');
    expect(pick('>1.1 <2')).toBe('1.2.0');
    expect(pick('>1')).toBe('v3.0.0');
    expect(pick('<=1.1')).toBe('1.1.3');
  });
  it('matches a prerelease only when the constraint names one', () => {
    expect(pick('>=1.2.0-rc.0 <1.2.0')).toBe('1.2.0-rc.1');
    expect(pick('^2.1.0-alpha')).toBe('2.1.0-beta');
    expect(pick('^2.1')).toBeUndefined();
  });
  it('says when nothing matches, and what does not parse', () => {
    expect(pick('^9')).toBeUndefined();
    expect(pick('>=banana')).toEqual({ error: '">=banana" is not a version constraint' });
  });
  it('orders versions as semver does (property: the pick satisfies and nothing newer does)', () => {
    const ver = fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3)).map(([a, b, c]) => `${a}.${b}.${c}`);
    fc.assert(
      fc.property(fc.array(ver, { maxLength: 12 }), ver, fc.constantFrom('^', '~', '>=', '<', ''), (versions, base, op) => {
        const c = parseConstraint(`${op}${base}`);
        if (typeof c === 'string') throw new Error(c);
        const got = maxSatisfying(versions, `${op}${base}`);
        const ok = versions.filter((v) => c.test(parseVersion(v)!));
        if (ok.length === 0) expect(got).toBeUndefined();
        else for (const v of ok) expect(compareVersions(parseVersion(v)!, parseVersion(got as string)!)).toBeLessThanOrEqual(0);
      }),
    );
  });
});

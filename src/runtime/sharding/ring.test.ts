import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { assign, capacity, hash32, Ring } from './ring.ts';

const ids = fc.uniqueArray(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/), { minLength: 1, maxLength: 6 });
// Names as people write them: a few namespaces, names sharing prefixes and numbered suffixes.
const keySet = (n: number) =>
  fc.tuple(fc.array(fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/), { minLength: 1, maxLength: 5 }), fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/), fc.integer({ min: 0, max: 1e6 })).map(([nss, prefix, offset]) =>
    Array.from({ length: n }, (_, i) => `${nss[i % nss.length] ?? 'default'}/${prefix}-${offset + i}`),
  );
const counts = (m: Map<string, string>): Map<string, number> => {
  const c = new Map<string, number>();
  for (const v of m.values()) c.set(v, (c.get(v) ?? 0) + 1);
  return c;
};
const moved = (a: Map<string, string>, b: Map<string, string>): number => [...a].filter(([k, v]) => b.get(k) !== v).length;

describe('hash ring', () => {
  it('hashes deterministically to 32 bits', () => {
    expect(hash32('ns/rollout-1')).toBe(hash32('ns/rollout-1'));
    expect(hash32('ns/rollout-1')).not.toBe(hash32('ns/rollout-2'));
    fc.assert(fc.property(fc.string(), (s) => Number.isInteger(hash32(s)) && hash32(s) >= 0 && hash32(s) < 2 ** 32));
  });

  it('is deterministic: the same members in any order give the same owners', () => {
    fc.assert(
      fc.property(ids, keySet(50), (members, keys) => {
        const a = assign(keys, new Ring(members));
        const b = assign([...keys].reverse(), new Ring([...members].reverse()));
        expect([...a].sort()).toEqual([...b].sort());
      }),
    );
  });

  it('assigns every key to a member of the ring, and nothing on an empty ring', () => {
    fc.assert(
      fc.property(ids, keySet(40), (members, keys) => {
        const a = assign(keys, new Ring(members));
        expect(a.size).toBe(keys.length);
        for (const m of a.values()) expect(members).toContain(m);
      }),
    );
    expect(assign(['a/b'], new Ring([])).size).toBe(0);
    expect(new Ring([]).ownerOf('a/b')).toBeUndefined();
  });

  it('balances 300 keys over 3 members within ±20 %', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/), { minLength: 3, maxLength: 3 }), keySet(300), (members, keys) => {
        const c = counts(assign(keys, new Ring(members)));
        for (const m of members) {
          expect(c.get(m) ?? 0).toBeGreaterThanOrEqual(80);
          expect(c.get(m) ?? 0).toBeLessThanOrEqual(120);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('never loads a member past the bound', () => {
    fc.assert(
      fc.property(ids, keySet(120), (members, keys) => {
        const c = counts(assign(keys, new Ring(members)));
        for (const n of c.values()) expect(n).toBeLessThanOrEqual(capacity(keys.length, members.length));
      }),
    );
  });

  it('moves few keys when a member joins or leaves', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/), { minLength: 4, maxLength: 4 }), keySet(300), (members, keys) => {
        const three = assign(keys, new Ring(members.slice(0, 3)));
        const four = assign(keys, new Ring(members));
        // A join: the ideal is about a quarter of the keys (what the newcomer takes); bounded loads may add a few.
        const join = moved(three, four);
        expect([...four.values()].filter((m) => m === members[3]).length).toBeGreaterThan(0);
        expect(join).toBeLessThanOrEqual(300 * 0.4);
        // A leave (the reverse): keys that stay on a surviving member and were not the leaver's mostly stay put.
        const leaverKeys = [...four.values()].filter((m) => m === members[3]).length;
        const strangers = moved(four, three) - leaverKeys;
        expect(strangers).toBeLessThanOrEqual(300 * 0.15);
      }),
      { numRuns: 40 },
    );
  });

  const members4 = fc.uniqueArray(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/), { minLength: 4, maxLength: 4 });
  const sticky = (keys: string[], members: string[], owners: Map<string, string>) => assign(keys, new Ring(members), undefined, { owners });

  it('with today\'s owners, a new key moves nothing else', () => {
    fc.assert(
      fc.property(members4, keySet(301), (members, keys) => {
        const before = sticky(keys.slice(0, 300), members.slice(0, 3), new Map());
        const after = sticky(keys, members.slice(0, 3), before);
        expect(moved(before, after)).toBe(0);
        expect(after.size).toBe(301);
      }),
      { numRuns: 40 },
    );
  });

  it('with today\'s owners, a leave moves exactly the leaver\'s keys, and a join moves only what the newcomer takes', () => {
    fc.assert(
      fc.property(members4, keySet(300), (members, keys) => {
        const three = sticky(keys, members.slice(0, 3), new Map());
        const four = sticky(keys, members, three);
        const taken = [...four.values()].filter((m) => m === members[3]).length;
        // Besides what the newcomer takes, a few shed keys may land on an elder with room (at most 5 % of all).
        expect(moved(three, four) - taken).toBeLessThanOrEqual(15);
        // The newcomer gets a fair share: within 20 % of the mean of four.
        expect(taken).toBeGreaterThanOrEqual(75 * 0.8);
        for (const n of counts(four).values()) expect(n).toBeLessThanOrEqual(capacity(300, 4));
        const back = sticky(keys, members.slice(0, 3), four);
        expect(moved(four, back)).toBe(taken); // a leave moves the leaver's keys and nothing else
        for (const n of counts(back).values()) {
          expect(n).toBeGreaterThanOrEqual(80);
          expect(n).toBeLessThanOrEqual(120);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('keeps its decision while the drains it asked for are pending', () => {
    fc.assert(
      fc.property(members4, keySet(120), (members, keys) => {
        const three = sticky(keys, members.slice(0, 3), new Map());
        const four = sticky(keys, members, three);
        // The next pass sees the same owner labels, those moving now marked as draining.
        const leaving = new Map([...three].filter(([k, m]) => four.get(k) !== m));
        const owners = new Map([...three].filter(([k]) => !leaving.has(k)));
        const again = assign(keys, new Ring(members), undefined, { owners, leaving });
        expect([...again].sort()).toEqual([...four].sort());
        for (const [k, from] of leaving) expect(again.get(k)).not.toBe(from);
      }),
      { numRuns: 40 },
    );
  });

  it('rejects nonsense parameters', () => {
    expect(() => new Ring(['a'], 0)).toThrow(/vnodes/);
    expect(() => assign(['a/b'], new Ring(['a']), 0.5)).toThrow(/loadFactor/);
  });
});

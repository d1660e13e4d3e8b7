import { describe, expect, it } from '@jest/globals';
import { Expectations } from './expectations.ts';

describe('read-your-writes expectations', () => {
  it('holds a key until the cache sees the version we wrote', () => {
    const e = new Expectations();
    expect(e.satisfied('ns/a')).toBe(true);
    e.expect('ns/a', '42');
    expect(e.satisfied('ns/a')).toBe(false);
    e.observe('ns/a', '41'); // an older event still in flight
    expect(e.satisfied('ns/a')).toBe(false);
    e.observe('ns/b', '42'); // another object
    expect(e.satisfied('ns/a')).toBe(false);
    e.observe('ns/a', '42');
    expect(e.satisfied('ns/a')).toBe(true);
  });

  it('gives up after the timeout so a lost event cannot wedge an object', () => {
    let t = 0;
    const e = new Expectations(1000, () => t);
    e.expect('k', '7');
    t = 1000;
    expect(e.satisfied('k')).toBe(false);
    t = 1001;
    expect(e.satisfied('k')).toBe(true);
  });

  it('does not wait for a write that changed nothing (the server returned the version the cache has)', () => {
    const e = new Expectations();
    e.observe('k', '5');
    e.expect('k', '5');
    expect(e.satisfied('k')).toBe(true);
  });

  it('ignores writes that returned no version, and forgets on request', () => {
    const e = new Expectations();
    e.expect('k', undefined);
    expect(e.satisfied('k')).toBe(true);
    e.expect('k', '1');
    e.forget('k');
    expect(e.satisfied('k')).toBe(true);
  });
});

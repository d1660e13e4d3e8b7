import { afterEach, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { WorkQueue } from './queue.ts';

afterEach(() => {
  jest.useRealTimers();
});

describe('work queue', () => {
  it('holds a waiting key once however often it is added, in first-added order', async () => {
    const q = new WorkQueue();
    for (const k of ['a', 'b', 'a', 'c', 'b', 'a']) q.add(k);
    expect(q.length).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['a', 'b', 'c']);
  });

  it('never hands a key being processed to a second worker, and reprocesses it after done if re-added', async () => {
    const q = new WorkQueue();
    q.add('a');
    expect(await q.get()).toBe('a');
    q.add('a'); // an event arrives while the worker reconciles
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    expect(q.inFlight).toBe(1);
    q.done('a');
    await Promise.resolve();
    expect(second).toBe('a');
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const q = new WorkQueue();
    const got = q.get();
    q.add('x');
    expect(await got).toBe('x');
  });

  it('backs off exponentially per key until forgotten', () => {
    jest.useFakeTimers();
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 100 });
    expect([q.addRateLimited('a'), q.addRateLimited('a'), q.addRateLimited('a'), q.addRateLimited('a'), q.addRateLimited('a')]).toEqual([10, 20, 40, 80, 100]);
    expect(q.addRateLimited('b')).toBe(10); // keys back off independently
    q.forget('a');
    expect(q.nextBackoff('a')).toBe(10);
  });

  it('adds a key after its delay, and an earlier timer for the same key wins', async () => {
    jest.useFakeTimers();
    const q = new WorkQueue();
    q.addAfter('a', 1000);
    q.addAfter('a', 5000);
    q.addAfter('a', 300);
    jest.advanceTimersByTime(299);
    expect(q.length).toBe(0);
    jest.advanceTimersByTime(1);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    jest.advanceTimersByTime(10_000);
    expect(q.length).toBe(0); // the later timers were replaced, not kept
  });

  it('on shutdown releases waiting workers and waits for in-flight keys', async () => {
    const q = new WorkQueue();
    q.add('busy');
    await q.get();
    const idle = q.get();
    q.add('ignored-after-shutdown');
    let drained = false;
    const stopping = q.shutdown().then(() => (drained = true));
    expect(await idle).toBe('ignored-after-shutdown'); // was handed before shutdown began
    await Promise.resolve();
    expect(drained).toBe(false);
    q.done('busy');
    q.done('ignored-after-shutdown');
    await stopping;
    expect(drained).toBe(true);
    expect(await q.get()).toBeUndefined();
    q.add('late');
    expect(q.length).toBe(0);
  });

  it('property: under any interleaving no key is processed twice at once and every added key is processed', async () => {
    const op = fc.oneof(
      fc.record({ t: fc.constant('add' as const), k: fc.constantFrom('a', 'b', 'c') }),
      fc.record({ t: fc.constant('get' as const) }),
      fc.record({ t: fc.constant('done' as const), i: fc.nat(5) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const q = new WorkQueue();
        const held: string[] = [];
        const pendingSince = new Set<string>(); // added after its last hand-out
        for (const o of ops) {
          if (o.t === 'add') {
            q.add(o.k);
            pendingSince.add(o.k);
          } else if (o.t === 'get') {
            if (q.length === 0) continue;
            const k = await q.get();
            if (k === undefined) throw new Error('queue closed');
            if (held.includes(k)) throw new Error(`${k} handed out twice`);
            held.push(k);
            pendingSince.delete(k);
          } else if (held.length > 0) {
            const [k] = held.splice(o.i % held.length, 1);
            if (k !== undefined) q.done(k);
          }
        }
        for (const k of held.splice(0)) q.done(k);
        // Drain: everything added since it was last handed out must still come out.
        const drained = new Set<string>();
        while (q.length > 0) {
          const k = await q.get();
          if (k === undefined) break;
          drained.add(k);
          q.done(k);
        }
        for (const k of pendingSince) expect(drained.has(k)).toBe(true);
      }),
    );
  });
});

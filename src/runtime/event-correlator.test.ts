import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { COMBINED_PREFIX, EventCorrelator, MAX_DISTINCT, type EventInput, type EventWrite } from './event-correlator.ts';

const WINDOW = 600_000;
const ev = (message: string, over: Partial<EventInput> = {}): EventInput => ({ object: 'uid-1', type: 'Normal', reason: 'Step', message, ...over });

/** Plays events through a correlator as the recorder does (every create succeeds), returning each decision. */
function play(c: EventCorrelator, events: readonly { e: EventInput; at: number }[]): EventWrite[] {
  let n = 0;
  return events.map(({ e, at }) => {
    const w = c.decide(e, at);
    if (w.kind === 'create') c.recordCreated(w.key, `ev-${n++}`, 'ns', at);
    return w;
  });
}

describe('EventCorrelator', () => {
  it('bumps the count of the Event an identical event created, within the window', () => {
    const w = play(new EventCorrelator(WINDOW), [0, 1_000, 2_000].map((at) => ({ e: ev('set weight 20'), at })));
    expect(w.map((x) => x.kind)).toEqual(['create', 'update', 'update']);
    expect(w[2]).toMatchObject({ kind: 'update', name: 'ev-0', namespace: 'ns', count: 3, message: 'set weight 20' });
  });

  it('creates a new Event once the window has passed since the last repeat', () => {
    const w = play(new EventCorrelator(WINDOW), [0, WINDOW - 1, 2 * WINDOW].map((at) => ({ e: ev('m'), at })));
    expect(w.map((x) => x.kind)).toEqual(['create', 'update', 'create']);
  });

  it(`keeps ${MAX_DISTINCT} different messages apart, then combines the rest into one Event with the latest message`, () => {
    const msgs = Array.from({ length: 25 }, (_, i) => `revision ${i} failed`);
    const w = play(new EventCorrelator(WINDOW), msgs.map((m, i) => ({ e: ev(m), at: i * 1000 })));
    expect(w.slice(0, MAX_DISTINCT).every((x) => x.kind === 'create')).toBe(true);
    expect(w[MAX_DISTINCT]).toEqual({ kind: 'create', key: 'uid-1|Normal|Step|*', message: `${COMBINED_PREFIX}revision 10 failed` });
    expect(w.slice(MAX_DISTINCT + 1).every((x) => x.kind === 'update' && x.name === `ev-${MAX_DISTINCT}`)).toBe(true);
    expect(w.at(-1)).toMatchObject({ count: 15, message: `${COMBINED_PREFIX}revision 24 failed` });
    // One of the first ten again still bumps its own Event.
    expect(play(new EventCorrelator(WINDOW), [...msgs, msgs[3] ?? ''].map((m, i) => ({ e: ev(m), at: i }))).at(-1)).toMatchObject({ kind: 'update', name: 'ev-3', count: 2 });
  });

  it('never combines across objects, types or reasons', () => {
    const c = new EventCorrelator(WINDOW);
    const w = play(c, Array.from({ length: 30 }, (_, i) => ({ e: ev(`m${i}`, { object: `uid-${i % 3}`, reason: `R${i % 2}` }), at: i })));
    expect(w.every((x) => x.kind === 'create' && !x.message.startsWith(COMBINED_PREFIX))).toBe(true);
  });

  it('creates again after the Event it would update was forgotten (gone from the apiserver)', () => {
    const c = new EventCorrelator(WINDOW);
    const [first] = play(c, [{ e: ev('m'), at: 0 }]);
    c.forget(first?.key ?? '');
    expect(c.decide(ev('m'), 1).kind).toBe('create');
  });

  it('property: every event is counted once, and each object, type and reason gets at most MAX_DISTINCT + 1 new Events per window', () => {
    const arb = fc.array(fc.record({ obj: fc.integer({ min: 0, max: 2 }), reason: fc.constantFrom('A', 'B'), msg: fc.integer({ min: 0, max: 40 }), gap: fc.integer({ min: 0, max: 4_000 }) }), { minLength: 50, maxLength: 300 });
    fc.assert(
      fc.property(arb, (raw) => {
        let at = 0;
        const events = raw.map((r) => ({ e: ev(`m${r.msg}`, { object: `o${r.obj}`, reason: r.reason }), at: (at += r.gap) }));
        const c = new EventCorrelator(WINDOW, 50);
        const w = play(c, events);
        // Counted once: the counts of the Events made add up to the events recorded.
        const counts = new Map<string, number>();
        w.forEach((x, i) => counts.set(x.kind === 'create' ? `ev-${w.slice(0, i).filter((y) => y.kind === 'create').length}` : x.name, x.kind === 'create' ? 1 : x.count));
        expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(events.length);
        // Bounded: a group's window starts at its first event and lasts WINDOW; in each, at most MAX_DISTINCT + 1 creates.
        const windows = new Map<string, { start: number; creates: number }>();
        for (const [i, x] of w.entries()) {
          const { e, at: t } = events[i] ?? { e: ev(''), at: 0 };
          const g = `${e.object}|${e.reason}`;
          let win = windows.get(g);
          if (win === undefined || t - win.start >= WINDOW) windows.set(g, (win = { start: t, creates: 0 }));
          if (x.kind === 'create') win.creates++;
          expect(win.creates).toBeLessThanOrEqual(MAX_DISTINCT + 1);
        }
        expect(c.size).toBeLessThanOrEqual(2 * 50 + 2 * 6);
      }),
      { numRuns: 200 },
    );
  });
});

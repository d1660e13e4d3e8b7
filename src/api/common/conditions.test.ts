import { describe, expect, it } from '@jest/globals';
import { getCondition, removeCondition, setCondition } from './conditions.ts';

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:01:00Z';

describe('conditions', () => {
  it('adds a condition with both timestamps', () => {
    expect(setCondition(undefined, { type: 'InvalidSpec', status: 'True', reason: 'InvalidSpec', message: 'm' }, T0)).toEqual([
      { type: 'InvalidSpec', status: 'True', reason: 'InvalidSpec', message: 'm', lastTransitionTime: T0, lastUpdateTime: T0 },
    ]);
  });

  it('returns the same array when nothing changes, so no write is needed', () => {
    const a = setCondition(undefined, { type: 'X', status: 'True', message: 'm' }, T0);
    expect(setCondition(a, { type: 'X', status: 'True', message: 'm' }, T1)).toBe(a);
  });

  it('keeps lastTransitionTime when only the message changes, moves it when the status flips', () => {
    const a = setCondition([{ type: 'Other', status: 'True' }], { type: 'X', status: 'True', message: 'm' }, T0);
    const b = setCondition(a, { type: 'X', status: 'True', message: 'm2' }, T1);
    expect(getCondition(b, 'X')).toMatchObject({ lastTransitionTime: T0, lastUpdateTime: T1, message: 'm2' });
    const c = setCondition(b, { type: 'X', status: 'False' }, T1);
    expect(getCondition(c, 'X')).toMatchObject({ status: 'False', lastTransitionTime: T1 });
    expect(c.map((x) => x.type)).toEqual(['Other', 'X']);
  });

  it('removes by type', () => {
    expect(removeCondition([{ type: 'A', status: 'True' }, { type: 'B', status: 'False' }], 'A')).toEqual([{ type: 'B', status: 'False' }]);
    expect(removeCondition(undefined, 'A')).toEqual([]);
  });
});

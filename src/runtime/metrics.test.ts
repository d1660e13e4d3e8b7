import { describe, expect, it } from '@jest/globals';
import { getHeapStatistics } from 'node:v8';
import { Metrics } from './metrics.ts';

const value = async (m: Metrics, name: string): Promise<number | undefined> => {
  const line = (await m.registry.metrics()).split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
};

describe('Metrics', () => {
  it('exports the V8 heap limit beside the process metrics, and neither without them', async () => {
    const withProcess = new Metrics({ processMetrics: true });
    expect(await value(withProcess, 'sluice_nodejs_heap_size_limit_bytes')).toBe(getHeapStatistics().heap_size_limit);
    expect(await value(withProcess, 'sluice_nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    const without = new Metrics({});
    expect(await value(without, 'sluice_nodejs_heap_size_limit_bytes')).toBeUndefined();
  });
});

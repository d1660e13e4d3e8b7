import { describe, expect, it } from '@jest/globals';
import { checkedEdge, edgeAtOrAboveQuantile } from './edge.ts';
import { JudgeSettingsError } from './errors.ts';

const EDGES = [0.05, 0.1, 0.25, 0.5, 1];

describe('latency edge', () => {
  it('takes the bucket holding stable p99, read as its upper bound', () => {
    // 1000 requests: 985 <= 0.1 s, 995 <= 0.25 s -> p99 in (0.1, 0.25] -> 0.25
    expect(edgeAtOrAboveQuantile(EDGES, [900, 985, 995, 999, 1000, 1000])).toBe(0.25);
    expect(edgeAtOrAboveQuantile(EDGES, [990, 1000, 1000, 1000, 1000, 1000])).toBe(0.05);
  });
  it('has no edge without observations or when p99 is in the +Inf bucket', () => {
    expect(edgeAtOrAboveQuantile(EDGES, [0, 0, 0, 0, 0, 0])).toBeUndefined();
    expect(edgeAtOrAboveQuantile(EDGES, [0, 0, 0, 0, 900, 1000])).toBeUndefined();
    expect(edgeAtOrAboveQuantile(EDGES, [1, 2])).toBeUndefined();
  });
  it('accepts an SLO edge only if it is a bucket edge, naming the field otherwise', () => {
    expect(checkedEdge(EDGES, 0.25)).toBe(0.25);
    expect(() => checkedEdge(EDGES, 0.3, 'analysis.latency.edge')).toThrow(JudgeSettingsError);
    expect(() => checkedEdge(EDGES, 0.3, 'analysis.latency.edge')).toThrow('analysis.latency.edge 0.3 is not a bucket edge of the histogram (its edges: 0.05, 0.1, 0.25, 0.5, 1)');
  });
});

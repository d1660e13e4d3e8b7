import { describe, expect, it } from '@jest/globals';
import { judgeLines, judgeSummary, progressBar } from './judge.ts';

const summary = {
  state: 'continue',
  abort: { evidence: 12, threshold: 200, progress: 0.47 },
  pass: { evidence: 30, threshold: 200, progress: 0.64 },
  ratio: { estimate: 1.1, lower: 0.42, upper: 3.2 },
  totals: { canary: { requests: 2400, bad: 25 }, stable: { requests: 9600, bad: 90 } },
  share: { realized: 0.2, configured: 0.2, mismatch: false },
  needed: { canaryRequests: 800, reason: 'needs ~800 more canary requests to pass' },
  guard: { evidence: 0.3, threshold: 200, rate: 0.0104, bound: 0.03 },
};

describe('the judge in the rollout view', () => {
  it('draws the counts, a bar toward abort and one toward pass, the share and what is still needed', () => {
    const s = judgeSummary({ phase: 'Running', metadata: { summary: JSON.stringify(summary) } });
    expect(s).toBeDefined();
    const lines = judgeLines(s!, '');
    expect(lines[0]).toBe('canary 25/2400 bad, stable 90/9600; canary/stable 1.1× [0.42×, 3.2×]');
    expect(lines[1]).toBe(`abort ${progressBar(0.47)}  pass ${progressBar(0.64)}  share 20.0% of 20.0% set`);
    expect(lines[2]).toContain('guard: canary rate 1.0% against 3.0%');
    expect(lines[3]).toBe('needs ~800 more canary requests to pass');
  });

  it('flags a sample-ratio mismatch, and ignores what is not a judge summary', () => {
    const s = judgeSummary({ phase: 'Running', metadata: { summary: JSON.stringify({ ...summary, share: { realized: 0.05, configured: 0.2, mismatch: true } }) } });
    expect(judgeLines(s!, '')[1]).toContain('MISMATCH');
    expect(judgeSummary({ phase: 'Running', metadata: { summary: 'not json' } })).toBeUndefined();
    expect(judgeSummary({ phase: 'Successful', value: '[0.99]' })).toBeUndefined();
  });

  it('bounds the bar', () => {
    expect(progressBar(2, 4)).toBe('[████] 100%');
    expect(progressBar(Number.NaN, 4)).toBe('[░░░░] 0%');
  });
});

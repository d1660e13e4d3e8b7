import { describe, expect, it } from '@jest/globals';
import { unifiedDiff } from './textdiff.ts';

const L = { from: 'live', to: 'git' };

describe('unified diff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', L)).toBe('');
  });

  it('shows a change with three lines of context and a hunk header', () => {
    const from = ['1', '2', '3', '4', '5', '6', '7', '8'].join('\n') + '\n';
    const to = ['1', '2', '3', '4', 'five', '6', '7', '8'].join('\n') + '\n';
    expect(unifiedDiff(from, to, L)).toBe(['--- live', '+++ git', '@@ -2,7 +2,7 @@', ' 2', ' 3', ' 4', '-5', '+five', ' 6', ' 7', ' 8', ''].join('\n'));
  });

  it('splits distant changes into hunks and handles additions at the end and a new file', () => {
    const from = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n');
    const to = from.replace('l1\n', 'L1\n') + '\nl20';
    const d = unifiedDiff(from, to, L);
    expect(d.match(/^@@/gm)).toHaveLength(2);
    expect(d).toContain('@@ -1,5 +1,5 @@\n l0\n-l1\n+L1\n');
    expect(d).toContain('@@ -18,3 +18,4 @@\n l17\n l18\n l19\n+l20\n');
    expect(unifiedDiff('', 'x\ny\n', L)).toBe('--- live\n+++ git\n@@ -0,0 +1,2 @@\n+x\n+y\n');
  });
});

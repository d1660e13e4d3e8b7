import { describe, expect, it } from '@jest/globals';
import type { AnalysisRunObject } from './analysis.ts';
import { runsBeyondHistory } from './run-history.ts';

const run = (name: string, hash: string, phase: string | undefined, at: string, extra: { owner?: string; deleting?: boolean } = {}): AnalysisRunObject => ({
  metadata: {
    name,
    uid: `uid-${name}`,
    creationTimestamp: at,
    labels: { 'rollouts-pod-template-hash': hash },
    ownerReferences: [{ apiVersion: 'sluice.dev/v1alpha1', kind: 'Rollout', name: 'web', uid: extra.owner ?? 'r1' }],
    ...(extra.deleting === true ? { deletionTimestamp: at } : {}),
  },
  ...(phase !== undefined ? { status: { phase } } : {}),
});
const t = (minute: number): string => `2026-12-03T01:${String(minute).padStart(2, '0')}:00Z`;

describe('AnalysisRun history (Argo successfulRunHistoryLimit / unsuccessfulRunHistoryLimit)', () => {
  // Each revision left its runs behind for good: the soak (test/chaos/soak) counted ~1,000 after 12 minutes.
  it('keeps the newest 5 successful and 5 unsuccessful finished runs of past revisions by default, deletes the older ones', () => {
    const runs = [
      ...Array.from({ length: 8 }, (_v, i) => run(`ok-${i}`, `h${i}`, 'Successful', t(i))),
      ...Array.from({ length: 7 }, (_v, i) => run(`bad-${i}`, `b${i}`, ['Failed', 'Error', 'Inconclusive'][i % 3], t(i))),
    ];
    expect(runsBeyondHistory(runs, 'r1', 'current', undefined).map((r) => r.name)).toEqual(['ok-2', 'ok-1', 'bad-1', 'ok-0', 'bad-0']);
  });

  it('never touches the current revision, unfinished runs, runs being deleted, or another owner', () => {
    const runs = [
      run('current-old', 'cur', 'Successful', t(0)),
      run('running-old', 'h1', 'Running', t(0)),
      run('pending-old', 'h1', undefined, t(0)),
      run('deleting', 'h1', 'Successful', t(0), { deleting: true }),
      run('theirs', 'h1', 'Successful', t(0), { owner: 'r2' }),
      run('newer', 'h2', 'Successful', t(5)),
    ];
    expect(runsBeyondHistory(runs, 'r1', 'cur', { successfulRunHistoryLimit: 0, unsuccessfulRunHistoryLimit: 0 })).toEqual([{ name: 'newer', uid: 'uid-newer' }]);
  });

  it('follows the Rollout limits for each class', () => {
    const runs = [run('a', 'h1', 'Successful', t(1)), run('b', 'h2', 'Successful', t(2)), run('c', 'h3', 'Failed', t(3)), run('d', 'h4', 'Error', t(4))];
    expect(runsBeyondHistory(runs, 'r1', 'cur', { successfulRunHistoryLimit: 1 }).map((r) => r.name)).toEqual(['a']);
    expect(runsBeyondHistory(runs, 'r1', 'cur', { unsuccessfulRunHistoryLimit: 1, successfulRunHistoryLimit: 2 }).map((r) => r.name)).toEqual(['c']);
  });
});

import { describe, expect, it } from '@jest/globals';
import type { LeaseObject } from '../../runtime/leader.ts';
import { DRAIN_LABEL, OWNER_LABEL } from '../../runtime/sharding/decide.ts';
import { ringView } from './shards.ts';

const NOW = Date.parse('2026-12-03T01:00:00Z');
const lease = (id: string, holder: string, renewedSecondsAgo: number): LeaseObject => ({
  metadata: { name: `sluice-shard-${id}` },
  spec: { holderIdentity: holder, leaseDurationSeconds: 15, renewTime: new Date(NOW - renewedSecondsAgo * 1000).toISOString() },
});

describe('ringView', () => {
  it('lists members with their state and counts what each owns, draining and unassigned objects apart', () => {
    const view = ringView('sluice-leader', [lease('a', 'a', 2), lease('b', 'b', 30), lease('c', '', 5)], 'a', [
      { kind: 'rollouts', labels: { [OWNER_LABEL]: 'a' } },
      { kind: 'rollouts', labels: { [OWNER_LABEL]: 'a', [DRAIN_LABEL]: 'true' } },
      { kind: 'applications', labels: { [OWNER_LABEL]: 'b' } },
      { kind: 'analysisruns', labels: { [OWNER_LABEL]: 'ghost' } },
      { kind: 'rollouts' },
      { kind: 'rollouts', labels: { app: 'x' } },
    ], NOW);
    expect(view.leader).toBe('a');
    expect(view.shards.map((s) => [s.shard, s.state, s.leader, s.owned, s.draining])).toEqual([
      ['a', 'ready', true, { rollouts: 2, applications: 0, analysisruns: 0 }, 1],
      ['b', 'expired', false, { rollouts: 0, applications: 1, analysisruns: 0 }, 0],
      ['c', 'dead', false, { rollouts: 0, applications: 0, analysisruns: 0 }, 0],
      // A label naming no Lease (a hand edit): shown, so the sharder's correction can be watched.
      ['ghost', 'unknown', false, { rollouts: 0, applications: 0, analysisruns: 1 }, 0],
    ]);
    expect(view.unassigned).toEqual({ rollouts: 2, applications: 0, analysisruns: 0 });
  });
});

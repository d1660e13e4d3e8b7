import { describe, expect, it } from '@jest/globals';
import type { Action, ObservedBase, ReplicaSetView } from './types.ts';
import { pruneHistory } from './replicasets.ts';

const rs = (hash: string, revision: number | undefined, createdAt: number): ReplicaSetView => ({ name: `web-${hash}`, hash, replicas: 0, available: 0, ready: 0, createdAt, ...(revision !== undefined ? { revision } : {}) });

const observed = (replicaSets: ReplicaSetView[]): ObservedBase => ({
  now: 0,
  spec: { revisionHistoryLimit: 1 },
  status: {},
  templateHash: 'h9',
  replicaSets,
  stepAnalysis: {},
});

describe('revisionHistoryLimit', () => {
  it('keeps the newest revisions by revision number when creation times tie (whole seconds)', () => {
    const actions: Action[] = [];
    // h3 was created after h2 within the same second; listed after it, so a creation-time order would keep h2.
    pruneHistory(observed([rs('h2', 2, 1_000), rs('h3', 3, 1_000), rs('h9', 4, 2_000)]), 'h9', 'h9', [], actions);
    expect(actions).toEqual([{ kind: 'deleteReplicaSet', name: 'web-h2' }]);
  });

  it('orders by creation time where ReplicaSets carry no revision', () => {
    const actions: Action[] = [];
    pruneHistory(observed([rs('h2', undefined, 1_000), rs('h3', undefined, 2_000), rs('h9', undefined, 3_000)]), 'h9', 'h9', [], actions);
    expect(actions).toEqual([{ kind: 'deleteReplicaSet', name: 'web-h2' }]);
  });
});

import { describe, expect, it } from '@jest/globals';
import { nextRevision, REVISION_ANNOTATION, revisionsOf } from './revision.ts';

const rs = (name: string, created: string, revision?: string): { metadata: { name: string; creationTimestamp: string; annotations?: Record<string, string> } } => ({
  metadata: { name, creationTimestamp: created, ...(revision !== undefined ? { annotations: { [REVISION_ANNOTATION]: revision } } : {}) },
});

describe('ReplicaSet revisions', () => {
  it('reads the annotation, and numbers a ReplicaSet without one by creation', () => {
    const list = [rs('c', '2026-01-01T00:00:03Z', '7'), rs('a', '2026-01-01T00:00:01Z'), rs('b', '2026-01-01T00:00:02Z', 'x')];
    expect(revisionsOf(list)).toEqual(new Map([['a', 1], ['b', 2], ['c', 7]]));
  });

  it('a new ReplicaSet gets one more than the highest, whatever was deleted before', () => {
    expect(nextRevision([])).toBe(1);
    expect(nextRevision([rs('c', '2026-01-01T00:00:03Z', '3'), rs('d', '2026-01-01T00:00:04Z', '4')])).toBe(5);
    expect(nextRevision([rs('a', '2026-01-01T00:00:01Z'), rs('b', '2026-01-01T00:00:02Z')])).toBe(3);
  });
});

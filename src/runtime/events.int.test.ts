// The EventRecorder against the real apiserver: repeats bump one Event's count, many different messages for one object
// and reason end up in one combined Event, and an Event deleted meanwhile (as the apiserver's TTL does) is made again.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createNamespace, deleteNamespace } from '../../test/support/cluster.ts';
import { testClient, testLogger } from '../../test/support/operator.ts';
import type { KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import { COMBINED_PREFIX, MAX_DISTINCT } from './event-correlator.ts';
import { EventRecorder } from './events.ts';

type EventObj = KubeObject & { reason?: string; message?: string; count?: number; involvedObject?: { uid?: string } };

describe('EventRecorder on the apiserver', () => {
  const { client } = testClient();
  let ns: string;
  let cm: KubeObject;

  beforeAll(async () => {
    ns = await createNamespace('events');
    cm = await client.create<KubeObject>(R.configMap, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'subject', namespace: ns } });
  });
  afterAll(() => deleteNamespace(ns));

  const events = async (reason: string): Promise<EventObj[]> => (await client.list<EventObj>(R.event, ns)).items.filter((e) => e.reason === reason && e.involvedObject?.uid === cm.metadata?.uid);

  it('counts repeats on one Event and combines a stream of different messages into one', async () => {
    const rec = new EventRecorder({ client, log: testLogger(), instance: 'test' });
    for (let i = 0; i < 3; i++) await rec.record(cm, 'Normal', 'Synced', 'synced to abc123');
    const synced = await events('Synced');
    expect(synced.map((e) => [e.count, e.message])).toEqual([[3, 'synced to abc123']]);

    // A sync failing with a new revision in its message every time: 25 messages, 11 Event objects.
    for (let i = 0; i < 25; i++) await rec.record(cm, 'Warning', 'SyncFailed', `revision r${i}: render failed`);
    const failed = await events('SyncFailed');
    expect(failed).toHaveLength(MAX_DISTINCT + 1);
    const combined = failed.filter((e) => e.message?.startsWith(COMBINED_PREFIX));
    expect(combined.map((e) => [e.count, e.message])).toEqual([[25 - MAX_DISTINCT, `${COMBINED_PREFIX}revision r24: render failed`]]);
    expect(failed.reduce((sum, e) => sum + (e.count ?? 0), 0)).toBe(25);
  });

  it('makes a new Event when the one it would count on is gone', async () => {
    const rec = new EventRecorder({ client, log: testLogger(), instance: 'test' });
    await rec.record(cm, 'Normal', 'Paused', 'paused at step 2');
    const [first] = await events('Paused');
    await client.delete(R.event, ns, first?.metadata?.name ?? '');
    await rec.record(cm, 'Normal', 'Paused', 'paused at step 2');
    const again = await events('Paused');
    expect(again.map((e) => e.count)).toEqual([1]);
    expect(again[0]?.metadata?.name).not.toBe(first?.metadata?.name);
  });
});

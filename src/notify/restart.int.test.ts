// Exactly once across a crash: the operator runs as a real process, queues a notification whose receiver answers 429
// with a long Retry-After, and is killed (SIGKILL) before it could send. The next process sends it, once; a third
// process, started after the send was recorded on the Rollout, sends nothing.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubeconfigPath, kubectl, waitFor } from '../../test/support/cluster.ts';
import { configMap, secret } from '../../test/support/notify-fixtures.ts';
import { startOperator, type OperatorProcess } from '../../test/support/operator-process.ts';
import { testClient } from '../../test/support/operator.ts';
import { startHttpReceiver, type HttpReceiver } from '../../test/support/receivers.ts';
import { installAllCrds, rolloutManifest } from '../../test/support/rollouts.ts';
import { R } from '../kube/resource.ts';
import { NOTIFIED_ANNOTATION } from './decide.ts';

describe('a notification survives an operator crash', () => {
  let ns: string;
  let http: HttpReceiver;
  const running: OperatorProcess[] = [];
  const { client } = testClient();

  const apply = async (m: object): Promise<void> => {
    const res = await kubectl(['apply', '--server-side', '--field-manager=gitops-user', '-n', ns, '-f', '-'], stringify(m));
    expect(res.stderr).toBe('');
  };
  const start = async (n: number): Promise<OperatorProcess> => {
    const op = await startOperator(kubeconfigPath(), `notify-${ns}-${n}`, [`--namespace=${ns}`]);
    running.push(op);
    return op;
  };
  const stop = async (op: OperatorProcess, signal: NodeJS.Signals): Promise<void> => {
    op.kill(signal);
    await op.exited;
  };
  const completed = (): number => http.received.filter((r) => r.path === '/slack/chat.postMessage' && r.body.includes('completed revision')).length;

  beforeAll(async () => {
    await installAllCrds();
    ns = await createNamespace('notify-crash');
    http = await startHttpReceiver();
    await apply(configMap(http.url, 1));
    await apply(secret);
  });

  afterAll(async () => {
    for (const op of running) if (op.child.exitCode === null && op.child.signalCode === null) await stop(op, 'SIGTERM');
    await http.close();
    await deleteNamespace(ns);
  });

  it('is sent once: not zero, not twice', async () => {
    http.throttle(1000, 600); // every post is refused for now, with "come back in 10 minutes"
    const first = await start(1);
    const m = rolloutManifest('web', 'v1', { steps: [{ setWeight: 50 }, { pause: {} }] }) as { metadata: Record<string, unknown> };
    await apply({ ...m, metadata: { ...m.metadata, annotations: { 'notifications.argoproj.io/subscribe.on-rollout-completed.slack': 'deploys' } } });
    await waitFor('the first attempt (refused)', () => http.throttled.length >= 1, 60_000);
    await stop(first, 'SIGKILL'); // between the trigger and a successful send
    expect(completed()).toBe(0);
    expect((await client.get(R.rollout, ns, 'web')).metadata?.annotations?.[NOTIFIED_ANNOTATION]).toBeUndefined();

    http.throttle(0, 0);
    const second = await start(2);
    await waitFor('the message from the restarted operator', () => completed() === 1, 60_000);
    await waitFor('the send recorded on the Rollout', async () => (await client.get(R.rollout, ns, 'web')).metadata?.annotations?.[NOTIFIED_ANNOTATION] !== undefined);
    expect(await second.metric('sluice_notifications_total', 'result="sent"')).toBe(1);
    await stop(second, 'SIGTERM');

    const third = await start(3);
    await new Promise((r) => setTimeout(r, 4000)); // long enough to reconcile the Rollout and queue anything owed
    expect(await third.metric('sluice_reconcile_total', 'controller="notifications"')).toBeGreaterThan(0);
    expect(completed()).toBe(1);
    expect(await third.metric('sluice_notifications_total')).toBe(0);
  }, 180_000);
});

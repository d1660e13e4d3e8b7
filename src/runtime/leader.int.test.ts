// Two real operator processes against the real apiserver: exactly one reconciles; when the leader is SIGKILLed the
// other takes over within the lease duration; a SIGTERMed leader releases the lease and exits cleanly.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createNamespace, deleteNamespace, kubeconfigPath, kubectl, waitFor } from '../../test/support/cluster.ts';
import { installCrds } from '../../test/support/crds.ts';
import { startOperator, type OperatorProcess } from '../../test/support/operator-process.ts';
import { testClient } from '../../test/support/operator.ts';
import { R } from '../kube/resource.ts';
import type { LeaseObject } from './leader.ts';

const invalidRollout = (name: string) =>
  JSON.stringify({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
      strategy: { canary: { steps: [{ setWeight: 10 }], trafficRouting: { nginx: { stableIngress: 'web' } } } }, // no services: invalid
    },
  });

describe('leader election between two operator processes', () => {
  let ns: string;
  const ops: OperatorProcess[] = [];
  const { client } = testClient();

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('leader');
  });
  afterAll(async () => {
    for (const o of ops) o.kill('SIGKILL');
    await Promise.all(ops.map((o) => o.exited));
    await deleteNamespace(ns);
  });

  const holder = async (): Promise<string | undefined> => {
    try {
      return (await client.get<LeaseObject>(R.lease, ns, 'sluice-leader')).spec?.holderIdentity;
    } catch {
      return undefined;
    }
  };
  const judged = async (name: string): Promise<boolean> => {
    const r = await client.get<{ status?: { conditions?: { type: string }[] } }>(R.rollout, ns, name);
    return r.status?.conditions?.some((c) => c.type === 'InvalidSpec') === true;
  };
  const create = async (name: string): Promise<void> => {
    expect((await kubectl(['apply', '--server-side', '-n', ns, '-f', '-'], invalidRollout(name))).stderr).toBe('');
  };

  it('lets exactly one reconcile, fails over within the lease duration after SIGKILL, and releases on SIGTERM', async () => {
    const args = ['--leader-elect', `--leader-election-namespace=${ns}`, `--namespace=${ns}`];
    ops.push(await startOperator(kubeconfigPath(), `op-a-${ns}`, args), await startOperator(kubeconfigPath(), `op-b-${ns}`, args));
    await waitFor('a leader', async () => (await holder()) !== undefined);
    const leaderId = await holder();
    const leader = ops.find((o) => o.identity === leaderId);
    const standby = ops.find((o) => o.identity !== leaderId);
    if (leader === undefined || standby === undefined) throw new Error(`unexpected lease holder ${leaderId}`);

    for (const name of ['one', 'two', 'three']) await create(name);
    await waitFor('all three judged', async () => (await judged('one')) && (await judged('two')) && (await judged('three')));
    expect(await leader.metric('sluice_reconcile_total', 'controller="rollout"')).toBeGreaterThanOrEqual(3);
    expect(await standby.metric('sluice_reconcile_total', 'controller="rollout"')).toBe(0);
    expect(await leader.metric('sluice_leader')).toBe(1);
    expect(await standby.metric('sluice_leader')).toBe(0);

    const killedAt = Date.now();
    leader.kill('SIGKILL');
    await waitFor('the standby to take the lease', async () => (await holder()) === standby.identity, 30_000, 200);
    const takeoverMs = Date.now() - killedAt;
    process.stderr.write(`leader failover after SIGKILL: ${takeoverMs} ms (lease 15 s, retry 2 s)\n`);
    expect(takeoverMs).toBeLessThan(15_000 + 2_000 * 1.2 + 2_000); // lease duration + one jittered retry + slack
    await create('four');
    await waitFor('the new leader to reconcile', () => judged('four'), 30_000);

    standby.kill('SIGTERM');
    expect(await standby.exited).toBe(0);
    expect(await holder()).toBe(''); // released: a successor need not wait out the lease
  });
});

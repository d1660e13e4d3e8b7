// The apiserver goes away and comes back while the operator runs: its caches catch up with no process restart.
// A control plane of its own (the shared one must stay up for the other tests).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../../test/cluster/controlplane.ts';
import { CLUSTER_ENV } from '../../test/cluster/env.ts';
import { waitFor } from '../../test/support/cluster.ts';
import { startOperator, type OperatorProcess } from '../../test/support/operator-process.ts';
import { testClient } from '../../test/support/operator.ts';
import { R } from '../kube/resource.ts';

const rollout = (name: string) =>
  JSON.stringify({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
      strategy: { canary: { steps: [{ setWeight: 10 }], trafficRouting: { nginx: { stableIngress: 'web' } } } }, // invalid: no services
    },
  });

describe('apiserver outage', () => {
  let cp: ControlPlane;
  let op: OperatorProcess;

  beforeAll(async () => {
    cp = await startControlPlane({ binDir: process.env[CLUSTER_ENV.binDir] ?? '', nodes: 1 });
    await cp.kubectl(['apply', '--server-side', '-f', join(import.meta.dirname, '..', '..', 'crds')]);
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(import.meta.dirname, '..', '..', 'crds')]);
    op = await startOperator(cp.kubeconfig, 'outage');
  });
  afterAll(async () => {
    op.kill('SIGTERM');
    await op.exited;
    await cp.stop();
  });

  it('keeps the same operator process reconciling after the apiserver restarts', async () => {
    const { client } = testClient(cp.kubeconfig);
    const judged = async (name: string): Promise<boolean> => {
      const r = await client.get<{ status?: { conditions?: { type: string }[] } }>(R.rollout, 'default', name);
      return r.status?.conditions?.some((c) => c.type === 'InvalidSpec') === true;
    };
    await cp.kubectl(['apply', '--server-side', '-f', '-'], rollout('before'));
    await waitFor('the rollout created before the outage to be judged', () => judged('before'));

    await cp.restart('kube-apiserver', 3000);
    const back = Date.now();
    await cp.kubectl(['apply', '--server-side', '-f', '-'], rollout('after'));
    await waitFor('the rollout created after the outage to be judged', () => judged('after'), 60_000, 200);
    process.stderr.write(`operator caught up ${Date.now() - back} ms after the apiserver came back\n`);
    expect(op.child.exitCode).toBeNull(); // the same process, never restarted
    expect(await op.metric('sluice_apiserver_requests_total', 'code="error"')).toBeGreaterThan(0); // it did see the outage
  });
});

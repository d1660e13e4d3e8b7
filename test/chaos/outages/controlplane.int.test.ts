// The kube-apiserver, then etcd, stopped in the middle of a running canary (a control plane of this test's own: the
// shared one must stay up for the tests running beside it). The operator process never exits, resumes within
// seconds of the return (the canary's pause expired during the outage: the next step must follow), the canary ends
// promoted, and the observer (../observer) sees no invariant broken. ~10 s each in `npm test`; `npm run chaos` sets
// SLUICE_CHAOS_APISERVER_DOWN=30 and SLUICE_CHAOS_ETCD_DOWN=30.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../../cluster/controlplane.ts';
import { CLUSTER_ENV } from '../../cluster/env.ts';
import { upstreamCrdDir } from '../../crds/upstream.ts';
import { waitFor } from '../../support/cluster.ts';
import { testClient } from '../../support/operator.ts';
import { startOperator, type OperatorProcess } from '../../support/operator-process.ts';
import { stepHistoryProblems } from '../observer/check.ts';
import { observe } from '../observer/follow.ts';
import { apply, canary, canaryWeight, getRollout, promoted, say, writeOutage, type Kubectl } from './support.ts';

const OUTAGES = [
  { component: 'kube-apiserver', downS: Number(process.env.SLUICE_CHAOS_APISERVER_DOWN ?? 10), file: 'outage-apiserver.json' },
  { component: 'etcd', downS: Number(process.env.SLUICE_CHAOS_ETCD_DOWN ?? 10), file: 'outage-etcd.json' },
];
const STEPS = [{ setWeight: 20 }, { pause: { duration: '2s' } }, { setWeight: 40 }, { pause: { duration: '1s' } }];

describe('chaos: control-plane outages during a canary', () => {
  let cp: ControlPlane;
  let op: OperatorProcess;
  const exits: (number | null)[] = [];
  const ns = 'default';

  beforeAll(async () => {
    cp = await startControlPlane({ binDir: process.env[CLUSTER_ENV.binDir] ?? '', nodes: 1 });
    for (const dir of [join(import.meta.dirname, '..', '..', '..', 'crds'), upstreamCrdDir()]) {
      await cp.kubectl(['apply', '--server-side', '-f', dir]);
      await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', dir]);
    }
    op = await startOperator(cp.kubeconfig, 'chaos-controlplane', ['--log-level=warn']);
    void op.exited.then((c) => exits.push(c));
  }, 180_000);
  afterAll(async () => {
    op.kill('SIGTERM');
    await op.exited;
    await cp.stop();
  });

  it.each(OUTAGES)('$component stopped $downS s mid-canary: the operator stays up, resumes within seconds, no invariant broken', async ({ component, downS, file }) => {
    const { client } = testClient(cp.kubeconfig);
    // cp.kubectl throws on failure (with kubectl's stderr); apply() wants kubectl's result.
    const kubectl: Kubectl = async (args, input) => ({ stdout: await cp.kubectl(args, input), stderr: '', code: 0 });
    const name = `web-${component.replace(/[^a-z]/g, '')}`;
    await apply(kubectl, ns, canary(name, 1, STEPS));
    await waitFor(`${name} Healthy at v1`, async () => promoted(await getRollout(client, ns, name)), 120_000, 250);
    const observation = observe(client, ns);
    try {
      await apply(kubectl, ns, [canary(name, 2, STEPS)[3]!]);
      // In the 2 s pause of the new revision, with 20% of traffic on it: stop the component.
      await waitFor(`${name} in its first pause`, async () => (await getRollout(client, ns, name)).status?.currentStepIndex === 1, 60_000, 100);
      // A stopped apiserver refuses connections ("error"); one without etcd answers 5xx (or times out).
      const failures = async (): Promise<number> => (await op.metric('sluice_apiserver_requests_total', 'code="error"')) + (await op.metric('sluice_apiserver_requests_total', 'code="5xx"'));
      const errorsBefore = await failures();
      say(`${component} down for ${downS} s`);
      await cp.restart(component, downS * 1000);
      const backAt = Date.now();
      say(`${component} back`);
      // The pause expired during the outage: the next write the operator makes is the step after it. The first
      // answer this test gets is timed too (after etcd's return the apiserver takes a while to reach it again).
      let apiReadyS: number | undefined;
      await waitFor(`${name} past its pause after the return`, async () => {
        try {
          const step = (await getRollout(client, ns, name)).status?.currentStepIndex ?? 0;
          apiReadyS ??= (Date.now() - backAt) / 1000;
          return step > 1;
        } catch {
          return false; // the apiserver still finding etcd again
        }
      }, 120_000, 100);
      const resumeS = (Date.now() - backAt) / 1000;
      await waitFor(`${name} promoted`, async () => promoted(await getRollout(client, ns, name)), 120_000, 100);
      const promotedS = (Date.now() - backAt) / 1000;
      say(`${component}: first answer from the apiserver ${apiReadyS?.toFixed(2)} s after the return, operator resumed after ${resumeS.toFixed(2)} s, promoted after ${promotedS.toFixed(2)} s`);
      expect(await canaryWeight(client, ns, name)).toBe(0);
      expect({ exits, exitCode: op.child.exitCode }).toEqual({ exits: [], exitCode: null }); // the same process throughout
      // It did see the outage. (Without etcd the apiserver held the operator's requests until etcd returned rather
      // than failing them: no failed request to count, so only the apiserver's outage is proved this way.)
      if (component === 'kube-apiserver') expect(await failures()).toBeGreaterThan(errorsBefore);

      await new Promise((r) => setTimeout(r, 1000));
      await observation.stop();
      const { violations, histories } = observation.checker.check();
      const problems = stepHistoryProblems(histories, (r) => (r === name ? (STEPS) : undefined));
      expect({ violations, problems }).toEqual({ violations: [], problems: [] });
      expect(histories.map((h) => h.outcome)).toContain('promoted');
      writeOutage(file, { name: `${component} stopped ${downS} s`, downS, resumeS, details: { apiserverAnswersS: apiReadyS, promotedS } });
    } finally {
      await observation.stop();
    }
  }, 10 * 60_000);
});

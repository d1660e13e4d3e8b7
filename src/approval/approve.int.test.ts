// Signed approvals on the real control plane: the operator's runtime in-process, its probe server with the approval
// route on 127.0.0.1, a canary paused at a step, and a Secret holding the Rollout's approval key.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createNamespace, deleteNamespace, waitFor } from '../../test/support/cluster.ts';
import { testLogger } from '../../test/support/operator.ts';
import { helpers, installAllCrds, rolloutManifest, runOperator, type InProcessOperator } from '../../test/support/rollouts.ts';
import { Registry } from 'prom-client';
import type { RolloutStatus } from '../api/rollout/schema.ts';
import { ROLLOUT_FIELD_MANAGER } from '../rollout/controller.ts';
import { startProbeServer } from '../server/http.ts';
import { APPROVAL_SECRET_ANNOTATION, approvalReplayGuard, handleApproval, signApproval } from './approve.ts';

const SECRET = 'chat-ops-key';

describe('signed approvals (POST /api/approve)', () => {
  let ns: string;
  let op: InProcessOperator;
  let apply: (m: object) => Promise<void>;
  let rollout: ReturnType<typeof helpers>['rollout'];
  let base = '';
  let close: () => Promise<void> = () => Promise.resolve();

  beforeAll(async () => {
    await installAllCrds();
    ns = await createNamespace('approve');
    op = await runOperator(ns);
    ({ apply, rollout } = helpers(ns, op.client));
    const seen = approvalReplayGuard();
    const server = await startProbeServer({ host: '127.0.0.1', port: 0, registry: new Registry(), healthy: () => true, ready: () => true, approve: (req, res) => handleApproval(req, res, { client: op.client, log: testLogger(), seen, fieldManager: ROLLOUT_FIELD_MANAGER }) });
    base = `http://127.0.0.1:${server.port}`;
    close = server.close;
  });

  afterAll(async () => {
    await close();
    await op.stop();
    await deleteNamespace(ns);
  });

  const statusOf = async (): Promise<RolloutStatus> => ((await rollout('chat')).status ?? {}) as RolloutStatus;
  const manifest = (version: string): object => {
    const m = rolloutManifest('chat', version, { steps: [{ setWeight: 50 }, { pause: {} }] }) as { metadata: Record<string, unknown>; spec: { replicas: number } };
    m.metadata.annotations = { [APPROVAL_SECRET_ANNOTATION]: 'chat-approval' };
    m.spec.replicas = 2;
    return m;
  };
  const post = async (body: object, secret = SECRET, sign = true): Promise<{ status: number; text: string }> => {
    const raw = JSON.stringify(body);
    const res = await fetch(`${base}/api/approve`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(sign ? { 'X-Sluice-Signature-256': signApproval(secret, raw) } : {}) }, body: raw });
    return { status: res.status, text: await res.text() };
  };

  it('promotes the pause it names when signed with the Rollout\'s secret, once; refuses the unsigned, the stale and the wrong step', async () => {
    await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'chat-approval' }, stringData: { secret: SECRET } });
    await apply(manifest('v1'));
    await waitFor('v1 Healthy', async () => (await statusOf()).phase === 'Healthy', 60_000);
    await apply(manifest('v2'));
    await waitFor('paused at step 1', async () => (await statusOf()).pauseConditions?.[0]?.reason === 'CanaryPauseStep', 30_000);
    const revision = (await statusOf()).currentPodHash ?? '';
    const now = Math.floor(Date.now() / 1000);
    const approval = { namespace: ns, rollout: 'chat', revision, step: 1, timestamp: now };

    expect(await post(approval, SECRET, false)).toEqual({ status: 401, text: 'not approved: bad or missing signature, or a stale request\n' });
    expect((await post(approval, 'guessed')).status).toBe(401);
    expect((await post({ ...approval, timestamp: now - 600 })).status).toBe(401);
    expect((await post({ ...approval, rollout: 'nope' })).status).toBe(401); // no such Rollout reads like a bad signature
    expect(await post({ ...approval, step: 0 })).toEqual({ status: 409, text: `rollout is at revision ${revision} step 1, not ${revision} step 0\n` });
    expect((await post({ hello: 'world' })).status).toBe(400);
    expect((await statusOf()).pauseConditions?.length).toBe(1); // none of those promoted anything

    expect(await post(approval)).toEqual({ status: 200, text: 'rollout "chat" promoted\n' });
    expect((await post(approval)).status).toBe(409); // the same request again: a replay
    await waitFor('promoted to stable', async () => (await statusOf()).stableRS === revision && (await statusOf()).phase === 'Healthy', 30_000);
  });
});

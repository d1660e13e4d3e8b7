// Blue-green rollouts end to end on the real apiserver, with the operator's runtime in-process: the preview and
// active Services' selectors, the pause, the exact patches Argo Rollouts' kubectl plugin sends, and pre-/post-promotion
// AnalysisRuns measured by the web provider against a loopback endpoint whose answer the test sets.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { UNREADY_LABEL } from '../../test/cluster/stages.ts';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.ts';
import { blueGreenManifest, helpers, installAllCrds, runOperator, type InProcessOperator } from '../../test/support/rollouts.ts';
import type { RolloutStatus } from '../api/rollout/schema.ts';
import type { KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import { ROLLOUT_FIELD_MANAGER } from './controller.ts';
import { SCALE_DOWN_DEADLINE } from './effects.ts';

type ReplicaSetObj = KubeObject & { spec?: { replicas?: number }; status?: { availableReplicas?: number } };
type RunObj = KubeObject & { spec?: { terminate?: boolean }; status?: { phase?: string } };

describe('blue-green rollouts', () => {
  let ns: string;
  let op: InProcessOperator;
  let server: Server;
  /** What the post-promotion check answers: 1 passes, 0 fails. */
  let postHealthy = true;
  /** What the pre-promotion check of the retry test answers. */
  let preHealthy = false;
  let h: ReturnType<typeof helpers>;

  beforeAll(async () => {
    await installAllCrds();
    ns = await createNamespace('bluegreen');
    op = await runOperator(ns);
    h = helpers(ns, op.client);
    server = createServer((req, res) => {
      const ok = req.url === '/post' ? postHealthy : req.url === '/pre' ? preHealthy : req.url === '/pass';
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ ok: ok ? 1 : 0 }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const check = (name: string, path: string, count: number): object => ({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'AnalysisTemplate',
      metadata: { name },
      spec: { metrics: [{ name: 'ok', count, interval: '1s', successCondition: 'result == 1', failureLimit: 0, provider: { web: { url: `http://127.0.0.1:${port}${path}`, jsonPath: '{$.ok}' } } }] },
    });
    await h.apply(check('always-fails', '/fail', 2));
    await h.apply(check('post-check', '/post', 120));
    await h.apply(check('passes', '/pass', 2));
    await h.apply(check('pre-check', '/pre', 2));
    await h.apply(check('long-pass', '/pass', 600));
  });

  afterAll(async () => {
    await op.stop();
    server.close();
    await deleteNamespace(ns);
  });

  const replicaSet = (app: string, hash: string | undefined): Promise<ReplicaSetObj> => op.client.get<ReplicaSetObj>(R.replicaSet, ns, `${app}-${hash ?? ''}`);
  const events = async (app: string): Promise<string> =>
    (await kubectl(['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${app}`, '-o', 'jsonpath={.items[*].reason}'])).stdout;

  async function setup(app: string, blueGreen: Record<string, unknown>): Promise<string> {
    await h.service(`${app}-active`, app);
    await h.service(`${app}-preview`, app);
    await h.apply(blueGreenManifest(app, 'v1', blueGreen));
    await waitFor(`${app} v1 Healthy`, async () => (await h.rollout(app)).status?.phase === 'Healthy', 60_000);
    const v1 = (await h.rollout(app)).status?.stableRS;
    expect(v1).toBeDefined();
    expect(await h.selector(`${app}-active`)).toBe(v1); // a first deploy goes straight to active
    expect(await h.selector(`${app}-preview`)).toBe(v1);
    return v1 ?? '';
  }

  it('brings a new version up behind the preview Service and waits; promote switches active; the old ReplicaSet goes after its delay', async () => {
    const bg = { autoPromotionEnabled: false, scaleDownDelaySeconds: 5 };
    const v1 = await setup('web', bg);
    await h.apply(blueGreenManifest('web', 'v2', bg));
    await waitFor('v2 waiting in preview', async () => (await h.rollout('web')).status?.pauseConditions?.[0]?.reason === 'BlueGreenPause', 30_000);
    const paused = await h.rollout('web');
    const v2 = paused.status?.currentPodHash;
    expect(v2).not.toBe(v1);
    expect(paused.status?.phase).toBe('Paused');
    expect(paused.status?.blueGreen).toMatchObject({ activeSelector: v1, previewSelector: v2 });
    expect(await h.selector('web-preview')).toBe(v2);
    expect(await h.selector('web-active')).toBe(v1);
    expect((await replicaSet('web', v2)).status?.availableReplicas).toBe(4);
    // The selector is ours by server-side apply, so a GitOps sync of the Service leaves it alone.
    const svc = JSON.parse((await kubectl(['get', 'service', 'web-active', '-n', ns, '--show-managed-fields', '-o', 'json'])).stdout) as KubeObject & { metadata: { managedFields?: { manager?: string; operation?: string }[] } };
    expect(svc.metadata.managedFields).toContainEqual(expect.objectContaining({ manager: ROLLOUT_FIELD_MANAGER, operation: 'Apply' }));
    const waited = await kubectl(['wait', '-n', ns, '--for=condition=Paused=True', '--timeout=10s', 'rollouts.sluice.dev/web']);
    expect(waited.stderr).toBe('');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await h.selector('web-active')).toBe(v1); // waits for a person

    await h.statusPatch('web', { status: { pauseConditions: null } }); // `promote`
    await waitFor('v2 Healthy and stable', async () => {
      const s = (await h.rollout('web')).status;
      return s?.phase === 'Healthy' && s.stableRS === v2;
    }, 30_000);
    expect(await h.selector('web-active')).toBe(v2);
    expect((await h.rollout('web')).status?.blueGreen).toMatchObject({ activeSelector: v2, previewSelector: v2 });
    await waitFor('the old ReplicaSet marked for scale-down', async () => (await replicaSet('web', v1)).metadata?.annotations?.[SCALE_DOWN_DEADLINE] !== undefined, 10_000);
    const deadline = Date.parse((await replicaSet('web', v1)).metadata?.annotations?.[SCALE_DOWN_DEADLINE] ?? '');
    expect((await replicaSet('web', v1)).spec?.replicas).toBe(4); // still up during the delay: switching back is instant
    await waitFor('the old ReplicaSet scaled to 0', async () => (await replicaSet('web', v1)).spec?.replicas === 0, 30_000);
    expect(Date.now()).toBeGreaterThanOrEqual(deadline);
    const reasons = await events('web');
    for (const r of ['RolloutPaused', 'RolloutResumed', 'ActiveServiceSwitched', 'RolloutCompleted']) expect(reasons).toContain(r);
  });

  it('promotes on its own after autoPromotionSeconds', async () => {
    const bg = { autoPromotionSeconds: 3 };
    const v1 = await setup('auto', bg);
    await h.apply(blueGreenManifest('auto', 'v2', bg));
    await waitFor('paused for autoPromotionSeconds', async () => (await h.rollout('auto')).status?.pauseConditions?.[0]?.reason === 'BlueGreenPause', 30_000);
    const startTime = Date.parse((await h.rollout('auto')).status?.pauseConditions?.[0]?.startTime ?? '');
    expect(await h.selector('auto-active')).toBe(v1);
    const v2 = (await h.rollout('auto')).status?.currentPodHash;
    await waitFor('switched without a promote', async () => (await h.selector('auto-active')) === v2, 30_000);
    expect(Date.now()).toBeGreaterThanOrEqual(startTime + 3000);
    await waitFor('v2 stable', async () => (await h.rollout('auto')).status?.stableRS === v2, 30_000);
  });

  it('switches only after a passing prePromotionAnalysis has completed', async () => {
    const bg = { prePromotionAnalysis: { templates: [{ templateName: 'passes' }] } };
    const v1 = await setup('checked', bg);
    await h.apply(blueGreenManifest('checked', 'v2', bg));
    let v2 = '';
    await waitFor('v2 active', async () => {
      v2 = (await h.rollout('checked')).status?.currentPodHash ?? '';
      return v2 !== v1 && (await h.selector('checked-active')) === v2;
    }, 30_000);
    // The run measured twice, a second apart (count 2, interval 1s), and passed: the switch waited for all of it.
    const run = JSON.parse((await kubectl(['get', 'analysisruns.sluice.dev', `checked-${v2}-pre-promotion`, '-n', ns, '-o', 'json'])).stdout) as { status?: { phase?: string; metricResults?: { count?: number; successful?: number }[] } };
    expect(run.status?.phase).toBe('Successful');
    expect(run.status?.metricResults?.[0]).toMatchObject({ count: 2, successful: 2 });
    await waitFor('v2 stable', async () => (await h.rollout('checked')).status?.phase === 'Healthy', 30_000);
    // Argo's status field: the run of the current revision, Successful, reported while v2 is current.
    expect(((await h.rollout('checked')).status as RolloutStatus | undefined)?.blueGreen?.prePromotionAnalysisRunStatus).toMatchObject({ name: `checked-${v2}-pre-promotion`, status: 'Successful' });
  });

  it('aborts on a failing prePromotionAnalysis without ever touching the active Service', async () => {
    const bg = { prePromotionAnalysis: { templates: [{ templateName: 'always-fails' }] } };
    const v1 = await setup('pre', bg);
    await h.apply(blueGreenManifest('pre', 'v2', bg));
    const seen = new Set<string | undefined>();
    await waitFor('aborted by the analysis', async () => {
      seen.add(await h.selector('pre-active'));
      return (await h.rollout('pre')).status?.abort === true;
    }, 60_000);
    const r = await h.rollout('pre');
    const v2 = r.status?.currentPodHash;
    expect(r.status?.phase).toBe('Degraded');
    expect(r.status?.stableRS).toBe(v1);
    const run = await kubectl(['get', 'analysisruns.sluice.dev', `pre-${v2 ?? ''}-pre-promotion`, '-n', ns, '-o', 'jsonpath={.status.phase}']);
    expect(run.stdout).toBe('Failed');
    await waitFor('the aborted revision scaled down after abortScaleDownDelaySeconds', async () => {
      seen.add(await h.selector('pre-active'));
      return (await replicaSet('pre', v2)).spec?.replicas === 0;
    }, 30_000);
    expect([...seen]).toEqual([v1]);
    expect(await h.selector('pre-preview')).toBe(v1);
    expect(await events('pre')).not.toContain('ActiveServiceSwitched');
  });

  it('switches the active Service back to the previous ReplicaSet when postPromotionAnalysis fails', async () => {
    const bg = { postPromotionAnalysis: { templates: [{ templateName: 'post-check' }] } };
    postHealthy = true;
    const v1 = await setup('post', bg);
    await h.apply(blueGreenManifest('post', 'v2', bg));
    let v2 = '';
    await waitFor('v2 active', async () => {
      v2 = (await h.rollout('post')).status?.currentPodHash ?? '';
      return v2 !== v1 && (await h.selector('post-active')) === v2;
    }, 30_000);
    await waitFor('the post-promotion run measuring', async () => (await kubectl(['get', 'analysisruns.sluice.dev', `post-${v2}-post-promotion`, '-n', ns, '-o', 'jsonpath={.status.phase}'])).stdout === 'Running', 30_000);
    await waitFor('the post-promotion run reported in the status', async () => ((await h.rollout('post')).status as RolloutStatus | undefined)?.blueGreen?.postPromotionAnalysisRunStatus?.status === 'Running', 10_000);
    const during = await h.rollout('post');
    expect((during.status as RolloutStatus | undefined)?.blueGreen?.postPromotionAnalysisRunStatus?.name).toBe(`post-${v2}-post-promotion`);
    expect(during.status?.stableRS).toBe(v1); // not stable until the analysis passes
    expect(during.status?.phase).toBe('Progressing');
    expect((await replicaSet('post', v1)).spec?.replicas).toBe(4); // the previous revision stays whole meanwhile

    postHealthy = false;
    await waitFor('aborted by the post-promotion analysis', async () => (await h.rollout('post')).status?.abort === true, 30_000);
    await waitFor('active back on v1', async () => (await h.selector('post-active')) === v1, 10_000);
    const r = await h.rollout('post');
    expect(r.status?.phase).toBe('Degraded');
    expect(r.status?.stableRS).toBe(v1);
    expect(r.status?.blueGreen?.activeSelector).toBe(v1);
    expect((r.status as RolloutStatus | undefined)?.blueGreen?.postPromotionAnalysisRunStatus).toMatchObject({ name: `post-${v2}-post-promotion`, status: 'Failed' }); // kept after the abort
    expect((await replicaSet('post', v1)).status?.availableReplicas).toBe(4);
  });

  it('answers the plugin\'s abort, retry and promote --full patches', async () => {
    const bg = { autoPromotionEnabled: false, previewReplicaCount: 1 };
    const v1 = await setup('ops', bg);
    await h.apply(blueGreenManifest('ops', 'v2', bg));
    await waitFor('v2 waiting in preview', async () => (await h.rollout('ops')).status?.phase === 'Paused', 30_000);
    const v2 = (await h.rollout('ops')).status?.currentPodHash;
    expect((await replicaSet('ops', v2)).spec?.replicas).toBe(1); // previewReplicaCount

    await h.statusPatch('ops', { status: { abort: true } }); // `abort`
    await waitFor('aborted', async () => (await h.rollout('ops')).status?.phase === 'Degraded', 30_000);
    expect(await h.selector('ops-active')).toBe(v1);
    await waitFor('the preview back on v1 and v2 scaled down', async () => (await h.selector('ops-preview')) === v1 && (await replicaSet('ops', v2)).spec?.replicas === 0, 30_000);

    await h.statusPatch('ops', { status: { abort: false } }); // `retry`
    await waitFor('v2 in preview again', async () => (await h.rollout('ops')).status?.phase === 'Paused' && (await h.selector('ops-preview')) === v2, 30_000);
    expect(await h.selector('ops-active')).toBe(v1);

    await h.statusPatch('ops', { status: { promoteFull: true } }); // `promote --full`
    await waitFor('v2 active and stable', async () => {
      const s = (await h.rollout('ops')).status;
      return s?.phase === 'Healthy' && s.stableRS === v2;
    }, 30_000);
    expect(await h.selector('ops-active')).toBe(v2);
    expect((await replicaSet('ops', v2)).status?.availableReplicas).toBe(4);
  });

  it('retries after a failed prePromotionAnalysis: the failed run is replaced at once and never counted again', async () => {
    // The retry comes within abortScaleDownDelaySeconds: the preview keeps its pods, so the failed run is deleted and
    // its successor (same name) created in the same reconcile.
    const bg = { prePromotionAnalysis: { templates: [{ templateName: 'pre-check' }] }, abortScaleDownDelaySeconds: 120 };
    preHealthy = false;
    const v1 = await setup('again', bg);
    await h.apply(blueGreenManifest('again', 'v2', bg));
    await waitFor('aborted by the pre-promotion analysis', async () => (await h.rollout('again')).status?.abort === true, 60_000);
    const v2 = (await h.rollout('again')).status?.currentPodHash ?? '';
    const name = `again-${v2}-pre-promotion`;
    const failed = await op.client.get<RunObj>(R.analysisRun, ns, name);
    expect(failed.status?.phase).toBe('Failed');
    expect(await h.selector('again-preview')).toBe(v2); // kept for abortScaleDownDelaySeconds

    preHealthy = true;
    await h.statusPatch('again', { status: { abort: false } }); // `retry`
    await waitFor('v2 active and stable', async () => {
      const s = (await h.rollout('again')).status;
      return s?.phase === 'Healthy' && s.stableRS === v2;
    }, 60_000);
    expect(await h.selector('again-active')).toBe(v2);
    const second = await op.client.get<RunObj>(R.analysisRun, ns, name);
    expect(second.metadata?.uid).not.toBe(failed.metadata?.uid);
    expect(second.status?.phase).toBe('Successful');
    expect(await events('again')).toContain('RolloutRetry');
    expect(v1).not.toBe(v2);
  });

  it('ends the runs of a superseded revision: a new template stops the previous one\'s post-promotion run', async () => {
    const bg = { postPromotionAnalysis: { templates: [{ templateName: 'long-pass' }] } };
    await setup('moved', bg);
    await h.apply(blueGreenManifest('moved', 'v2', bg));
    let v2 = '';
    await waitFor('v2 active, its post-promotion run measuring', async () => {
      v2 = (await h.rollout('moved')).status?.currentPodHash ?? '';
      const run = await op.client.get<RunObj>(R.analysisRun, ns, `moved-${v2}-post-promotion`).catch(() => undefined);
      return run?.status?.phase === 'Running' && (await h.selector('moved-active')) === v2;
    }, 60_000);
    await h.apply(blueGreenManifest('moved', 'v3', bg));
    await waitFor('v2\'s run ended', async () => {
      const run = await op.client.get<RunObj>(R.analysisRun, ns, `moved-${v2}-post-promotion`);
      return run.spec?.terminate === true && run.status?.phase !== 'Running';
    }, 30_000);
    // The run is ended within the reconcile that moves to v3; that reconcile writes the status last.
    let v3 = '';
    await waitFor('v3 in the status', async () => {
      v3 = (await h.rollout('moved')).status?.currentPodHash ?? '';
      return v3 !== '' && v3 !== v2;
    }, 30_000);
    await waitFor('v3 active, its own post-promotion run measuring', async () => {
      const run = await op.client.get<RunObj>(R.analysisRun, ns, `moved-${v3}-post-promotion`).catch(() => undefined);
      return run?.status?.phase === 'Running' && (await h.selector('moved-active')) === v3;
    }, 60_000);
    expect((await op.client.get<RunObj>(R.analysisRun, ns, `moved-${v3}-post-promotion`)).spec?.terminate).toBeUndefined();
  });

  it('never makes a version whose pods never become Ready active', async () => {
    const bg = {};
    const v1 = await setup('broken', bg);
    await h.apply(blueGreenManifest('broken', 'v2', bg, { [UNREADY_LABEL]: 'true' }, { progressDeadlineSeconds: 4, progressDeadlineAbort: true }));
    const seen = new Set<string | undefined>();
    await waitFor('aborted by the progress deadline', async () => {
      seen.add(await h.selector('broken-active'));
      return (await h.rollout('broken')).status?.abort === true;
    }, 60_000);
    const r = await h.rollout('broken');
    expect(r.status?.phase).toBe('Degraded');
    expect(r.status?.message).toMatch(/ProgressDeadlineExceeded|RolloutAborted/);
    await waitFor('the unready revision scaled down', async () => {
      seen.add(await h.selector('broken-active'));
      return (await replicaSet('broken', r.status?.currentPodHash)).spec?.replicas === 0;
    }, 30_000);
    expect([...seen]).toEqual([v1]);
    expect(await h.selector('broken-preview')).toBe(v1); // no pod ever Ready: the preview never moved either
  });
});

// `kubectl sluice get rollout` on what only a running operator produces: a blue-green Rollout's active and preview
// revisions, and a canary's AnalysisRun with its measurements (the web provider against a loopback endpoint).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { createNamespace, deleteNamespace, waitFor } from '../../test/support/cluster.ts';
import { sluice } from '../../test/support/plugin.ts';
import { blueGreenManifest, helpers, installAllCrds, rolloutManifest, runOperator, type InProcessOperator } from '../../test/support/rollouts.ts';

describe('kubectl sluice get rollout: blue-green and analysis', () => {
  let ns: string;
  let op: InProcessOperator;
  let server: Server;
  let h: ReturnType<typeof helpers>;

  beforeAll(async () => {
    await installAllCrds();
    ns = await createNamespace('cli-views');
    op = await runOperator(ns);
    h = helpers(ns, op.client);
    server = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ data: { errorRate: 0.002 } })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await h.apply({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'AnalysisTemplate',
      metadata: { name: 'error-rate' },
      spec: { metrics: [{ name: 'error-rate', count: 2, interval: '1s', successCondition: 'result < 0.01', failureLimit: 0, provider: { web: { url: `http://127.0.0.1:${port}/check`, jsonPath: '{$.data.errorRate}' } } }] },
    });
  });

  afterAll(async () => {
    await op.stop();
    server.close();
    await deleteNamespace(ns);
  });

  it('shows the active and preview revisions of a blue-green Rollout; promote switches them', async () => {
    await h.service('bg-active', 'bg');
    await h.service('bg-preview', 'bg');
    await h.apply(blueGreenManifest('bg', 'v1', { autoPromotionEnabled: false }));
    await waitFor('bg v1 Healthy', async () => (await h.rollout('bg')).status?.phase === 'Healthy', 60_000);
    const v1 = (await h.rollout('bg')).status?.stableRS ?? '';
    expect((await sluice(['set', 'image', 'bg', 'app=registry.invalid/bg:v2', '-n', ns])).code).toBe(0);
    await waitFor('v2 in preview', async () => (await h.rollout('bg')).status?.pauseConditions?.[0]?.reason === 'BlueGreenPause', 60_000);
    const v2 = (await h.rollout('bg')).status?.currentPodHash ?? '';

    const view = await sluice(['get', 'rollout', 'bg', '-n', ns]);
    expect(view).toMatchObject({ code: 0, stderr: '' });
    expect(view.stdout).toContain('Strategy:      BlueGreen\n');
    expect(view.stdout).toContain(`Active:        ${v1}  registry.invalid/bg:v1\n`);
    expect(view.stdout).toContain(`Preview:       ${v2}  registry.invalid/bg:v2\n`);
    expect(view.stdout).toMatch(new RegExp(`\\n +2 +bg-${v2} +preview +4/4 +4 +registry\\.invalid/bg:v2\\n +1 +bg-${v1} +active +4/4 +4 +registry\\.invalid/bg:v1\\n`));
    expect(view.stdout).not.toContain('Steps:');
    expect((await sluice(['list', '-n', ns])).stdout).toMatch(/\nbg +BlueGreen +Paused +- +- /);

    expect(await sluice(['promote', 'bg', '-n', ns])).toEqual({ code: 0, stdout: 'rollout "bg" promoted\n', stderr: '' });
    expect((await sluice(['status', 'bg', '-n', ns, '--timeout', '60s'])).code).toBe(0);
    expect((await sluice(['get', 'rollout', 'bg', '-n', ns])).stdout).toContain(`Active:        ${v2}  registry.invalid/bg:v2\n`);
    expect(await h.selector('bg-active')).toBe(v2);
  });

  it("shows a canary's AnalysisRun with its step, phase and last measurements", async () => {
    const steps = [{ setWeight: 25 }, { analysis: { templates: [{ templateName: 'error-rate' }] } }, { pause: {} }];
    await h.apply(rolloutManifest('an', 'v1', { steps }));
    await waitFor('an v1 Healthy', async () => (await h.rollout('an')).status?.phase === 'Healthy', 60_000);
    expect((await sluice(['set', 'image', 'an', 'app=registry.invalid/an:v2', '-n', ns])).code).toBe(0);
    await waitFor('past the analysis', async () => (await h.rollout('an')).status?.currentStepIndex === 2, 60_000);
    const hash = (await h.rollout('an')).status?.currentPodHash ?? '';
    const view = await sluice(['get', 'rollout', 'an', '-n', ns]);
    expect(view.code).toBe(0);
    expect(view.stdout).toMatch(/ {2}✔ 1 {2}analysis: error-rate\n {2}▶ 2 {2}pause \(until promoted\)/);
    expect(view.stdout).toContain(`AnalysisRuns:\n  an-${hash}-1 (step 1): Successful\n      error-rate: Successful (2✔ 0✖)  last: 0.002 ✔, 0.002 ✔\n`);
  });
});

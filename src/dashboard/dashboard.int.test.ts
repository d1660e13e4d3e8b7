// The dashboard as a person uses it: `kubectl sluice dashboard` (the real plugin, through kubectl) against the real
// apiserver with the operator running, driven in Debian's Chromium. The page must follow a canary live (no reload),
// its buttons must change the Rollout and the Application in the apiserver, and its screenshots go to test-results/screenshots/ (docs/images/ with SLUICE_SCREENSHOTS=docs).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Browser, Page } from 'puppeteer-core';
import { clickAction, launchBrowser, newPage, textOf, waitForText } from '../../test/browser/browser.ts';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.ts';
import { startGitServer, type GitServer } from '../../test/support/git-server.ts';
import { sluice, startPluginDashboard } from '../../test/support/plugin.ts';
import { helpers, installAllCrds, rolloutManifest, runOperator, type InProcessOperator, type RolloutObj } from '../../test/support/rollouts.ts';
import type { ApplicationStatus } from '../api/application/schema.ts';
import type { KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';

// Screenshots go to test-results/ (a test run leaves the tree clean); SLUICE_SCREENSHOTS=docs refreshes docs/images/.
const ROOT = join(import.meta.dirname, '..', '..');
const IMAGES = process.env.SLUICE_SCREENSHOTS === 'docs' ? join(ROOT, 'docs', 'images') : join(ROOT, 'test-results', 'screenshots');
mkdirSync(IMAGES, { recursive: true });

describe('dashboard (kubectl sluice dashboard, in Chromium)', () => {
  let ns: string;
  let op: InProcessOperator;
  let h: ReturnType<typeof helpers>;
  let plugin: { url: string; child: ChildProcess };
  let browser: Browser;
  let page: Page;
  let git: GitServer;

  beforeAll(async () => {
    await installAllCrds();
    ns = await createNamespace('dash');
    op = await runOperator(ns);
    h = helpers(ns, op.client);
    git = await startGitServer();
    plugin = await startPluginDashboard(['-n', ns]);
    browser = await launchBrowser();
    page = await newPage(browser);
  });

  afterAll(async () => {
    await browser?.close();
    plugin?.child.kill('SIGTERM');
    await op?.stop();
    await git?.close();
    if (ns !== undefined) await deleteNamespace(ns);
  });

  const rollout = (name: string): Promise<RolloutObj> => h.rollout(name);
  let lastSeen = '';
  const at = (name: string, phase: string, step: number) => async (): Promise<boolean> => {
    const s = (await rollout(name)).status;
    lastSeen = JSON.stringify(s);
    return s?.phase === phase && s.currentStepIndex === step;
  };
  const setImage = async (name: string, v: string): Promise<void> => {
    const res = await kubectl(['-n', ns, 'patch', 'rollouts.sluice.dev', name, '--type=merge', '-p', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'app', image: `registry.invalid/${name}:${v}` }] } } } })]);
    expect(res.stderr).toBe('');
  };

  it('refuses the API without the printed token, and a wrong token', async () => {
    const base = plugin.url.replace(/\?token=.*$/, '');
    expect((await fetch(`${base}api/session`)).status).toBe(401);
    expect((await fetch(`${base}?token=wrong`, { redirect: 'manual' })).status).toBe(401);
    const ok = await fetch(plugin.url, { redirect: 'manual' });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('set-cookie')).toMatch(/^sluice_session=[\w-]+; HttpOnly; SameSite=Strict; Path=\//);
    // A page from another site whose name resolves to 127.0.0.1 (DNS rebinding) sends its own Host.
    const rebound = await new Promise<number>((resolve, reject) => {
      request(`${base}api/session`, { headers: { Host: 'evil.example' } }, (res) => resolve(res.statusCode ?? 0)).on('error', reject).end();
    });
    expect(rebound).toBe(421);
  });

  it('shows a canary moving from 20 % to 50 % live, and its promote button advances it', async () => {
    // Ten replicas: without a traffic router the weight is the canary's share of pods, 2 then 5 of 10.
    const manifest = rolloutManifest('web', 'v1', { steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { pause: {} }] }) as { spec: { replicas: number } };
    manifest.spec.replicas = 10;
    await h.apply(manifest);
    await waitFor('web Healthy', async () => (await rollout('web')).status?.phase === 'Healthy', 60_000);
    await setImage('web', 'v2');
    await waitFor('paused at 20%', at('web', 'Paused', 1), 60_000);

    // Filtered to this test's namespace: other tests' paused canaries elsewhere would need attention too.
    await page.goto(`${plugin.url}#/?namespace=${ns}`);
    const row = `tr[data-row="Rollout/${ns}/web"]`;
    await waitForText(page, `${row} td[data-weight]`, '20%');
    expect(await textOf(page, '[data-testid="attention"]')).toBe('1 needs attention');
    // A marker that a reload would wipe: the 50 % must arrive through the event stream.
    await page.evaluate('window.__noReload = true');
    expect((await sluice(['promote', 'web', '-n', ns])).code).toBe(0); // promoted elsewhere: from a terminal
    await waitFor('paused at 50%', at('web', 'Paused', 3), 60_000).catch((e: unknown) => {
      throw new Error(`${String(e)}; last status ${lastSeen}`);
    });
    await waitForText(page, `${row} td[data-weight]`, '50%');
    expect(await page.evaluate('window.__noReload')).toBe(true);
    await page.screenshot({ path: join(IMAGES, 'dashboard-overview.png') });

    // Phone width, dark theme, keyboard only: nothing wider than the screen, the row's link reached with Tab.
    await page.setViewport({ width: 390, height: 800 });
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    expect(await page.evaluate('getComputedStyle(document.body).backgroundColor')).toBe('rgb(15, 20, 25)');
    let focused = '';
    for (let i = 0; i < 30 && focused !== 'web'; i++) {
      await page.keyboard.press('Tab');
      focused = String(await page.evaluate('document.activeElement?.textContent ?? ""'));
    }
    expect(focused).toBe('web');
    await page.screenshot({ path: join(IMAGES, 'dashboard-overview-phone-dark.png') });
    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
    await page.setViewport({ width: 1280, height: 800 });

    await page.click(`${row} a`);
    await waitForText(page, '[data-testid="weight"]', '50%');
    await waitForText(page, 'ol.steps li[aria-current="step"]', 'pause (until promoted)');
    // The pods of each revision under its ReplicaSet: 5 + 5 of 10, every one ready.
    await page.waitForFunction('document.querySelectorAll("ul.pods li[data-pod]").length === 10', { timeout: 30_000 });
    expect(await page.evaluate('[...document.querySelectorAll("ul.pods li[data-pod]")].every((li) => li.textContent.includes("ready"))')).toBe(true);
    await page.screenshot({ path: join(IMAGES, 'dashboard-rollout.png'), fullPage: true });
    await clickAction(page, 'promote');
    await waitForText(page, '[data-testid="action-result"]', 'rollout "web" promoted');
    await waitFor('promoted to the end and Healthy', async () => {
      const s = (await rollout('web')).status;
      return s?.phase === 'Healthy' && s.currentStepIndex === 4;
    }, 60_000);
    await waitForText(page, '#rollout-title + .badge', 'Healthy');
  });

  it('aborts a paused canary from its page', async () => {
    await setImage('web', 'v3');
    await waitFor('paused at 20%', at('web', 'Paused', 1), 60_000);
    await waitForText(page, '[data-testid="weight"]', '20%');
    await clickAction(page, 'abort');
    await waitForText(page, '[data-testid="action-result"]', 'rollout "web" aborted');
    await waitFor('aborted in the apiserver', async () => (await rollout('web')).status?.abort === true, 30_000);
    await waitForText(page, '#rollout-title + .badge', 'aborted');
  });

  it('says so when the Rollout is deleted while open, and when the namespace does not exist', async () => {
    expect((await kubectl(['-n', ns, 'delete', 'rollouts.sluice.dev', 'web', '--wait=false'])).code).toBe(0);
    await waitForText(page, '.problem', 'does not exist in namespace');
    await page.goto(`${plugin.url.replace(/\?token=.*$/, '')}#/rollout/no-such-ns/web`);
    await waitForText(page, '.problem', 'namespace "no-such-ns" does not exist');
  });

  it("shows a canary in its analysis step, the run's measurements arriving live", async () => {
    let n = 0;
    // An error rate that moves a little per measurement, so the chart has a shape; always under the threshold.
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errorRate: 0.002 + 0.0015 * Math.sin(n++) }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      await h.apply({
        apiVersion: 'sluice.dev/v1alpha1',
        kind: 'AnalysisTemplate',
        metadata: { name: 'error-rate' },
        spec: { metrics: [{ name: 'error-rate', count: 8, interval: '1s', successCondition: 'result < 0.01', failureLimit: 0, provider: { web: { url: `http://127.0.0.1:${port}/`, jsonPath: '{$.errorRate}' } } }] },
      });
      const steps = [{ setWeight: 20 }, { analysis: { templates: [{ templateName: 'error-rate' }] } }, { setWeight: 50 }, { pause: {} }];
      await h.apply(rolloutManifest('checked', 'v1', { steps }));
      await waitFor('checked Healthy', async () => (await rollout('checked')).status?.phase === 'Healthy', 60_000);
      await setImage('checked', 'v2');
      await page.goto(`${plugin.url.replace(/\?token=.*$/, '')}#/rollout/${ns}/checked`);
      await waitForText(page, 'ol.steps li[aria-current="step"]', 'analysis');
      await waitForText(page, '.run .metric p.small', '4 successful');
      await page.screenshot({ path: join(IMAGES, 'dashboard-rollout-analysis.png'), fullPage: true });
      await waitForText(page, '[data-testid="weight"]', '50%', 60_000);
      await waitForText(page, '.run .metric p.small', '8 successful');
    } finally {
      server.close();
    }
  });

  it("shows an Application's drifted object as OutOfSync, and its sync button heals it", async () => {
    const repo = await git.createRepo('site');
    const cm = (color: string): string => stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { color } });
    await git.commit('site', { 'app/settings.yaml': cm('blue') });
    const app = { apiVersion: 'sluice.dev/v1alpha1', kind: 'Application', metadata: { name: 'site', namespace: ns }, spec: { source: { repoURL: repo, targetRevision: 'main', path: 'app' }, destination: { namespace: ns }, pollInterval: '10m' } };
    expect((await kubectl(['apply', '--server-side', '--field-manager=sluice-test', '-f', '-'], stringify(app))).code).toBe(0);
    const status = async (): Promise<ApplicationStatus | undefined> => (await op.client.get<KubeObject & { status?: ApplicationStatus }>(R.application, ns, 'site')).status;
    const data = async (): Promise<Record<string, string> | undefined> => (await op.client.get<KubeObject & { data?: Record<string, string> }>(R.configMap, ns, 'settings')).data;

    await page.goto(`${plugin.url.replace(/\?token=.*$/, '')}#/app/${ns}/site`);
    await waitForText(page, '[data-testid="app-sync"]', 'OutOfSync');
    await clickAction(page, 'sync');
    await waitForText(page, '[data-testid="action-result"]', 'sync requested');
    await waitFor('synced', async () => (await status())?.sync?.status === 'Synced', 60_000);
    await waitForText(page, '[data-resource="ConfigMap/settings"]', 'Synced');

    // Drift: someone edits the live object.
    expect((await kubectl(['-n', ns, 'patch', 'configmap', 'settings', '--type=merge', '-p', '{"data":{"color":"red"}}'])).code).toBe(0);
    await waitForText(page, '[data-resource="ConfigMap/settings"]', 'OutOfSync', 60_000);
    // The diff a sync would apply: the plugin's `app diff`, computed by the server as the viewer.
    await page.click('.diff button');
    await waitForText(page, '.diff', `update: ConfigMap ${ns}/settings`, 60_000);
    await waitForText(page, '.diff pre', '+  color: blue');
    await page.screenshot({ path: join(IMAGES, 'dashboard-application.png'), fullPage: true });
    await clickAction(page, 'sync');
    await waitFor('healed in the apiserver', async () => (await data())?.['color'] === 'blue', 60_000);
    await waitForText(page, '[data-resource="ConfigMap/settings"]', 'Synced', 60_000);
  });
});

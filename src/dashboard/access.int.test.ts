// The in-cluster dashboard's access control, against the real apiserver: a ServiceAccount token is checked with a
// TokenReview and every read and write goes out with it, so the apiserver's RBAC decides. A viewer allowed to read
// one namespace sees nothing of another and cannot promote; no token, a bad token, a forged CSRF header: refused.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'puppeteer-core';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { clickAction, launchBrowser, newPage, waitForText } from '../../test/browser/browser.ts';
import { createNamespace, deleteNamespace, kubeconfigPath, kubectl, waitFor } from '../../test/support/cluster.ts';
import { testClient, testLogger } from '../../test/support/operator.ts';
import { startOperator } from '../../test/support/operator-process.ts';
import { sluice, startPluginDashboard } from '../../test/support/plugin.ts';
import { createServer } from 'node:net';
import { rolloutManifest, installAllCrds, type RolloutObj } from '../../test/support/rollouts.ts';
import { R } from '../kube/resource.ts';
import { buildAssets } from './assets.ts';
import { bearerClients, endpointOf } from './kube.ts';
import { startDashboard, type RunningDashboard } from './server.ts';

const READ = ['get', 'list', 'watch'];

function role(name: string, patch: boolean): object {
  const rules = [
    { apiGroups: ['sluice.dev'], resources: ['rollouts', 'applications', 'analysisruns'], verbs: READ },
    { apiGroups: ['apps'], resources: ['replicasets'], verbs: READ },
    { apiGroups: [''], resources: ['events'], verbs: READ },
  ];
  if (patch) rules.push({ apiGroups: ['sluice.dev'], resources: ['rollouts', 'rollouts/status'], verbs: ['patch'] });
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name }, rules };
}

async function serviceAccountToken(ns: string, name: string, patch: boolean): Promise<string> {
  const objects = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } },
    role(name, patch),
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [{ kind: 'ServiceAccount', name, namespace: ns }] },
  ];
  const applied = await kubectl(['apply', '-n', ns, '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
  expect(applied.stderr).toBe('');
  const token = await kubectl(['create', 'token', name, '-n', ns, '--duration=1h']);
  expect(token.stderr).toBe('');
  return token.stdout.trim();
}

describe('in-cluster dashboard: TokenReview, the viewer\'s own RBAC, CSRF', () => {
  let a: string;
  let b: string;
  let dash: RunningDashboard;
  let viewer: string;
  let editor: string;
  let browser: Browser;
  let page: Page;
  const admin = testClient().client;

  beforeAll(async () => {
    await installAllCrds();
    [a, b] = await Promise.all([createNamespace('dash-a'), createNamespace('dash-b')]);
    for (const ns of [a, b]) {
      const m = rolloutManifest(ns === a ? 'web-a' : 'web-b', 'v1', { steps: [{ setWeight: 50 }, { pause: {} }] });
      expect((await kubectl(['apply', '-n', ns, '-f', '-'], stringify(m))).stderr).toBe('');
    }
    // The Rollout in A paused at a step, as the operator would leave it (no operator runs here: nothing moves).
    expect((await kubectl(['patch', 'rollouts.sluice.dev', 'web-a', '-n', a, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Paused', currentStepIndex: 1, pauseConditions: [{ reason: 'CanaryPauseStep', startTime: new Date().toISOString() }] } })])).stderr).toBe('');
    viewer = await serviceAccountToken(a, 'viewer', false);
    editor = await serviceAccountToken(a, 'editor', true);
    dash = await startDashboard({
      host: '127.0.0.1',
      port: 0,
      assets: await buildAssets(),
      log: testLogger(),
      // Plain HTTP on loopback in the test: no Secure flag (behind the chart's TLS ingress it is on).
      auth: { mode: 'cluster', reviewer: admin, clientFor: bearerClients(endpointOf(kubeconfigPath())), secureCookie: false },
    });
    browser = await launchBrowser();
    page = await newPage(browser);
  });

  afterAll(async () => {
    await browser?.close();
    await dash?.close();
    await Promise.all([a, b].filter((n) => n !== undefined).map((n) => deleteNamespace(n)));
  });

  const webA = (): Promise<RolloutObj> => admin.get<RolloutObj>(R.rollout, a, 'web-a');

  it('refuses requests without a token or with one the apiserver rejects', async () => {
    expect((await fetch(`${dash.url}api/session`)).status).toBe(401);
    expect((await fetch(`${dash.url}api/session`, { headers: { Authorization: 'Bearer not-a-token' } })).status).toBe(401);
    const login = await fetch(`${dash.url}api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: 'not-a-token' }) });
    expect(login.status).toBe(401);
    expect((await fetch(`${dash.url}api/rollout/${a}/web-a/promote`, { method: 'POST' })).status).toBe(401);
    const session = await fetch(`${dash.url}api/session`, { headers: { Authorization: `Bearer ${viewer}` } });
    expect(session.status).toBe(200);
    expect(await session.json()).toMatchObject({ user: `system:serviceaccount:${a}:viewer`, mode: 'cluster' });
  });

  it("shows a viewer only namespace A; a promote there answers forbidden and changes nothing", async () => {
    // A ReplicaSet of web-a (no operator runs here), so the page has one to show; the viewer may not list its pods.
    const uid = (await webA()).metadata?.uid ?? '';
    const labels = { app: 'web-a', 'rollouts-pod-template-hash': 'abc12' };
    const rs = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-a-abc12', labels, ownerReferences: [{ apiVersion: 'sluice.dev/v1alpha1', kind: 'Rollout', name: 'web-a', uid, controller: true }] }, spec: { replicas: 0, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.invalid/web:v1' }] } } } };
    expect((await kubectl(['apply', '-n', a, '-f', '-'], stringify(rs))).stderr).toBe('');
    const before = await webA();
    await page.goto(dash.url);
    await page.waitForSelector('textarea[name="token"]');
    await page.type('textarea[name="token"]', viewer);
    await page.click('button[type="submit"]');
    // Every namespace: the viewer may not list cluster-wide.
    await waitForText(page, '.problem', 'forbidden');
    await page.goto(`${dash.url}#/?namespace=${b}`);
    await waitForText(page, '.problem', 'forbidden');
    expect(await page.$(`tr[data-row^="Rollout/${b}/"]`)).toBeNull();
    await page.goto(`${dash.url}#/?namespace=${a}`);
    await page.waitForSelector(`tr[data-row="Rollout/${a}/web-a"]`);
    expect(await page.evaluate('document.body.textContent.includes("web-b")')).toBe(false);
    await page.goto(`${dash.url}#/rollout/${a}/web-a`);
    await waitForText(page, 'ol.steps li[aria-current="step"]', 'pause');
    await waitForText(page, 'p.muted', 'Pods are not shown: you may not list pods in this namespace.'); // the Role has no pods
    await clickAction(page, 'promote');
    await waitForText(page, '[data-testid="action-result"]', 'forbidden');
    const after = await webA();
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(after.status?.pauseConditions).toHaveLength(1);
  });

  it('refuses a write whose CSRF header is forged, and takes it with the right one', async () => {
    const login = await fetch(`${dash.url}api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: editor }) });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(login.headers.get('set-cookie')).toContain('HttpOnly; SameSite=Strict');
    const session = (await (await fetch(`${dash.url}api/session`, { headers: { Cookie: cookie } })).json()) as { csrf: string };
    const before = await webA();
    const forged = await fetch(`${dash.url}api/rollout/${a}/web-a/abort`, { method: 'POST', headers: { Cookie: cookie, 'X-Sluice-CSRF': 'forged' } });
    expect(forged.status).toBe(403);
    const missing = await fetch(`${dash.url}api/rollout/${a}/web-a/abort`, { method: 'POST', headers: { Cookie: cookie } });
    expect(missing.status).toBe(403);
    expect((await webA()).metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    const ok = await fetch(`${dash.url}api/rollout/${a}/web-a/abort`, { method: 'POST', headers: { Cookie: cookie, 'X-Sluice-CSRF': session.csrf } });
    expect({ status: ok.status, body: await ok.json() }).toEqual({ status: 200, body: { message: 'rollout "web-a" aborted' } });
    expect((await webA()).status?.abort).toBe(true);
    // The editor's Role is namespace A's: B stays out of reach.
    const other = await fetch(`${dash.url}api/rollout/${b}/web-b/abort`, { method: 'POST', headers: { Cookie: cookie, 'X-Sluice-CSRF': session.csrf } });
    expect(other.status).toBe(403);
    expect((await admin.get<RolloutObj>(R.rollout, b, 'web-b')).status?.abort).toBeUndefined();
  });

  it('sends the security headers: a strict CSP, no framing, no referrer', async () => {
    const res = await fetch(dash.url);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'; script-src 'self'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('is opened from a workstation with kubectl sluice dashboard --remote: the kubeconfig token decides, and never reaches the browser', async () => {
    // The viewer's kubeconfig: the test cluster's server and CA, the ServiceAccount's token as the user.
    const kc = parse(readFileSync(kubeconfigPath(), 'utf8')) as { users: { user: Record<string, unknown> }[] };
    for (const u of kc.users) u.user = { token: viewer };
    const dir = mkdtempSync(join(tmpdir(), 'sluice-remote-'));
    const viewerConfig = join(dir, 'kubeconfig');
    writeFileSync(viewerConfig, stringify(kc), { mode: 0o600 });
    const plugin = await startPluginDashboard(['--remote', dash.url], { KUBECONFIG: viewerConfig });
    try {
      const base = plugin.url.replace(/\?token=.*$/, '');
      expect((await fetch(`${base}api/session`)).status).toBe(401); // the local address still needs its own token
      const opened = await fetch(plugin.url, { redirect: 'manual' });
      const cookie = (opened.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const session = (await (await fetch(`${base}api/session`, { headers: { Cookie: cookie } })).json()) as { user: string; csrf: string; mode: string };
      expect(session).toMatchObject({ user: `system:serviceaccount:${a}:viewer`, mode: 'remote' });
      // The live overview of A, streamed through: A's Rollout, nothing of B.
      const stream = await fetch(`${base}api/stream/overview?namespace=${a}`, { headers: { Cookie: cookie, Accept: 'text/event-stream' } });
      const reader = stream.body!.getReader();
      let text = '';
      while (!text.includes('web-a')) text += new TextDecoder().decode(((await reader.read()) as { value?: Uint8Array }).value);
      await reader.cancel();
      expect(text).not.toContain('web-b');
      expect(text).not.toContain(viewer);
      // Writes: the local CSRF token first, then the viewer's own RBAC at the remote end.
      const before = await webA();
      const forged = await fetch(`${base}api/rollout/${a}/web-a/promote`, { method: 'POST', headers: { Cookie: cookie, 'X-Sluice-CSRF': 'forged' } });
      expect(forged.status).toBe(403);
      const promote = await fetch(`${base}api/rollout/${a}/web-a/promote`, { method: 'POST', headers: { Cookie: cookie, 'X-Sluice-CSRF': session.csrf } });
      expect(promote.status).toBe(403);
      expect(((await promote.json()) as { message: string }).message).toMatch(/^forbidden: /);
      expect((await webA()).metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    } finally {
      plugin.child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
    // A token must not cross a network in clear; and a client certificate cannot be forwarded.
    const clear = await sluice(['dashboard', '--port', '0', '--remote', 'http://sluice.example.com']);
    expect(clear).toMatchObject({ code: 64, stderr: expect.stringContaining('--remote: http:// would send your token in clear') as unknown as string });
    const certs = await sluice(['dashboard', '--port', '0', '--remote', dash.url]);
    expect(certs).toMatchObject({ code: 64, stderr: expect.stringContaining('--remote needs a bearer token from your kubeconfig user') as unknown as string });
  });

  it('is served by the operator process itself with --dashboard-addr, checking tokens with a TokenReview', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0));
      });
    });
    const op = await startOperator(kubeconfigPath(), `dash-${a}`, [`--namespace=${a}`, `--dashboard-addr=127.0.0.1:${port}`, '--dashboard-read-only']);
    try {
      const base = `http://127.0.0.1:${port}/`;
      // The dashboard listens a moment after the probes the helper waits for.
      await waitFor('the dashboard port', async () => (await fetch(`${base}healthz`).then((r) => r.status).catch(() => 0)) === 200, 30_000);
      expect((await fetch(`${base}api/session`)).status).toBe(401);
      const session = await fetch(`${base}api/session`, { headers: { Authorization: `Bearer ${viewer}` } });
      expect(await session.json()).toMatchObject({ user: `system:serviceaccount:${a}:viewer`, mode: 'cluster', readOnly: true });
      const page = await fetch(base);
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect((await fetch(`${base}assets/app.js`)).status).toBe(200);
      // Read-only: even the editor's token may not act through it.
      const refused = await fetch(`${base}api/rollout/${a}/web-a/promote`, { method: 'POST', headers: { Authorization: `Bearer ${editor}` } });
      expect({ status: refused.status, body: await refused.json() }).toEqual({ status: 403, body: { message: 'this dashboard is read-only' } });
    } finally {
      op.kill('SIGTERM');
      await op.exited;
    }
  });
});

// A signed push webhook makes the Application apply the new commit in about a second (not at the 10 s poll);
// unsigned, wrongly signed and oversized requests are refused.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../../test/support/cluster.ts';
import { installCrds } from '../../../test/support/crds.ts';
import { startGitServer, type GitServer } from '../../../test/support/git-server.ts';
import { testClient, testLogger, testMetrics } from '../../../test/support/operator.ts';
import type { ApplicationStatus } from '../../api/application/schema.ts';
import type { KubeObject } from '../../kube/client.ts';
import { R } from '../../kube/resource.ts';
import { EventRecorder } from '../../runtime/events.ts';
import { Manager } from '../../runtime/manager.ts';
import { applicationWebhook, registerApplicationController } from '../controller.ts';
import { handleWebhook } from './webhook.ts';

const SECRET = 'hook-secret';

describe('push webhooks', () => {
  let ns: string;
  let git: GitServer;
  let cacheDir: string;
  let manager: Manager;
  let running: Promise<unknown>;
  let hooks: Server;
  let hookURL: string;
  const { client } = testClient();

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('webhook');
    git = await startGitServer();
    cacheDir = await mkdtemp(join(tmpdir(), 'sluice-gitcache-'));
    const log = testLogger();
    manager = new Manager({ client, log, metrics: testMetrics(), namespaces: [ns] });
    registerApplicationController(manager, { client, events: new EventRecorder({ client, log, instance: 'test' }), workers: 2, gitCacheDir: cacheDir });
    const deps = { ...applicationWebhook(manager, client, { github: SECRET }), maxBytes: 64 * 1024 };
    hooks = createServer((req, res) => void handleWebhook(req, res, deps));
    await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
    hookURL = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/webhooks/git`;
    running = manager.run();
    await waitFor('caches', () => manager.ready());
  });

  afterAll(async () => {
    hooks.closeAllConnections();
    await new Promise((r) => hooks.close(r));
    await manager.stop();
    await running;
    await git.close();
    await rm(cacheDir, { recursive: true, force: true });
    await deleteNamespace(ns);
  });

  const post = (body: string, headers: Record<string, string>): Promise<Response> => fetch(hookURL, { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...headers } });
  const signed = (body: string): Record<string, string> => ({ 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` });

  it('applies a pushed commit about a second after the webhook, and refuses bad requests', async () => {
    const url = await git.createRepo('hooked');
    const cm = (v: string): string => stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hooked' }, data: { v } });
    const c1 = await git.commit('hooked', { 'cm.yaml': cm('1') });
    const app = { apiVersion: 'sluice.dev/v1alpha1', kind: 'Application', metadata: { name: 'hooked', namespace: ns }, spec: { source: { repoURL: url, targetRevision: 'main' }, destination: { namespace: ns }, syncPolicy: { automated: {} }, pollInterval: '5m' } };
    expect((await kubectl(['apply', '--server-side', '-f', '-'], stringify(app))).code).toBe(0);
    const status = async (): Promise<ApplicationStatus | undefined> => (await client.get<KubeObject & { status?: ApplicationStatus }>(R.application, ns, 'hooked')).status;
    await waitFor('c1', async () => (await status())?.sync?.revision === c1 && (await status())?.sync?.status === 'Synced');

    const c2 = await git.commit('hooked', { 'cm.yaml': cm('2') });
    const payload = JSON.stringify({ ref: 'refs/heads/main', after: c2, repository: { clone_url: url } });
    expect((await post(payload, { 'X-GitHub-Event': 'push' })).status).toBe(401);
    expect((await post(payload, { ...signed(payload), 'X-Hub-Signature-256': 'sha256=' + '0'.repeat(64) })).status).toBe(401);
    const big = JSON.stringify({ pad: 'x'.repeat(70 * 1024) });
    expect((await post(big, signed(big))).status).toBe(413);
    await new Promise((r) => setTimeout(r, 500));
    expect((await status())?.sync?.revision).toBe(c1); // refused requests refreshed nothing

    const t0 = Date.now();
    const res = await post(payload, signed(payload));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ refreshed: [`${ns}/hooked`] });
    await waitFor('c2 applied', async () => (await client.get<KubeObject & { data?: Record<string, string> }>(R.configMap, ns, 'hooked')).data?.v === '2', 10_000, 25);
    console.log(`gitops figures: ${JSON.stringify({ webhookToAppliedMs: Date.now() - t0 })}`);
  });
});

// Notifications from Applications: an Argo CD notification ConfigMap (catalog-shaped triggers with `when`, GitHub
// commit statuses using the service's default repoURLPath/revisionPath), a real Git server, the GitOps and
// notification controllers in-process, and the GitHub commit-status API and Slack answered on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.ts';
import { installCrds } from '../../test/support/crds.ts';
import { startGitServer, type GitServer } from '../../test/support/git-server.ts';
import { testClient, testLogger, testMetrics } from '../../test/support/operator.ts';
import { startHttpReceiver, type HttpReceiver } from '../../test/support/receivers.ts';
import { registerApplicationController } from '../gitops/controller.ts';
import { GitSource } from '../gitops/source/git.ts';
import { EventRecorder } from '../runtime/events.ts';
import { Manager } from '../runtime/manager.ts';
import { registerNotificationController } from './controller.ts';

const cm = (http: string): object => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'argocd-notifications-cm' },
  data: {
    'service.github': `token: $github-token\napiURL: ${http}/github\n`,
    'service.slack': `token: $slack-token\napiURL: ${http}/slack\n`,
    'trigger.on-sync-failed': "- when: app.status.operationState.phase in ['Error', 'Failed']\n  send: [app-sync-failed]\n",
    'trigger.on-sync-succeeded': "- when: app.status.operationState.phase in ['Succeeded']\n  send: [app-sync-succeeded]\n",
    'trigger.on-watched-healthy': "- when: app.status.health.status == 'Healthy' and app.metadata.labels.watch == 'on'\n  send: [watched]\n",
    'template.watched': 'message: "{{.app.metadata.name}} is watched and healthy"\n',
    'template.app-sync-failed': 'message: "Application {{.app.metadata.name}} failed to sync: {{.app.status.operationState.message}}"\ngithub:\n  status:\n    state: failure\n    label: "continuous-delivery/{{.app.metadata.name}}"\n',
    'template.app-sync-succeeded': 'message: "Application {{.app.metadata.name}} synced {{.app.status.sync.revision | trunc 7}}"\ngithub:\n  status:\n    state: success\n    label: "continuous-delivery/{{.app.metadata.name}}"\n',
  },
});

describe('notifications from Applications', () => {
  let ns: string;
  let git: GitServer;
  let http: HttpReceiver;
  let manager: Manager;
  let running: Promise<unknown>;
  let cacheDir: string;
  const { client } = testClient();

  const application = (name: string, url: string, annotations: Record<string, string>): string =>
    stringify({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Application',
      metadata: { name, namespace: ns, annotations },
      spec: { source: { repoURL: url, path: '.' }, destination: { namespace: ns }, syncPolicy: { automated: {} }, pollInterval: '10s' },
    });
  const statuses = (sha: string, state: string): number => http.received.filter((r) => r.path.endsWith(`/statuses/${sha}`) && r.body.includes(`"state":"${state}"`)).length;

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('notify-apps');
    git = await startGitServer();
    http = await startHttpReceiver();
    cacheDir = await mkdtemp(join(tmpdir(), 'sluice-gitcache-'));
    expect((await kubectl(['apply', '--server-side', '-n', ns, '-f', '-'], stringify(cm(http.url)))).stderr).toBe('');
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'argocd-notifications-secret' }, stringData: { 'github-token': 'ghp-secret', 'slack-token': 'xoxb-secret' } };
    expect((await kubectl(['apply', '--server-side', '-n', ns, '-f', '-'], stringify(secret))).stderr).toBe('');
    const log = testLogger();
    manager = new Manager({ client, log, metrics: testMetrics(), namespaces: [ns] });
    const events = new EventRecorder({ client, log, instance: 'test' });
    registerApplicationController(manager, { client, events, workers: 2, source: new GitSource({ cacheDir }) });
    registerNotificationController(manager, { client, log, events });
    running = manager.run();
    await waitFor('caches', () => manager.ready());
  });

  afterAll(async () => {
    await manager.stop();
    await running;
    await http.close();
    await git.close();
    await rm(cacheDir, { recursive: true, force: true });
    await deleteNamespace(ns);
  });

  it('a sync failure sets the commit status to failure once; a sync success sets success and posts once', async () => {
    const goodUrl = await git.createRepo('good');
    const good = await git.commit('good', { 'cm.yaml': stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fine' }, data: { a: '1' } }) });
    const badUrl = await git.createRepo('bad');
    // YAML 1.1 as kubectl reads it: `enabled: yes` is a boolean, which a ConfigMap's data refuses.
    const bad = await git.commit('bad', { 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: refused\ndata:\n  enabled: yes\n' });
    const subscribe = (t: string, svc: string): string => `notifications.argoproj.io/subscribe.${t}.${svc}`;
    const apps = application('good', goodUrl, { [subscribe('on-sync-succeeded', 'github')]: '', [subscribe('on-sync-succeeded', 'slack')]: 'deploys' }) + '---\n' + application('bad', badUrl, { [subscribe('on-sync-failed', 'github')]: '' });
    expect((await kubectl(['apply', '--server-side', '-f', '-'], apps)).stderr).toBe('');

    await waitFor('the failure status on the bad commit', () => statuses(bad, 'failure') === 1, 60_000);
    await waitFor('the success status on the good commit', () => statuses(good, 'success') === 1, 60_000);
    await waitFor('the Slack message', () => http.received.some((r) => r.path === '/slack/chat.postMessage'), 30_000);
    await new Promise((r) => setTimeout(r, 5000)); // retried syncs of the same commit are not announced again
    expect(statuses(bad, 'failure')).toBe(1);
    expect(statuses(good, 'success')).toBe(1);
    const slack = http.received.filter((r) => r.path === '/slack/chat.postMessage');
    expect(slack.map((r) => (JSON.parse(r.body) as { text: string }).text)).toEqual([`Application good synced ${good.slice(0, 7)}`]);
    const failure = http.received.find((r) => r.path.endsWith(`/statuses/${bad}`));
    expect(JSON.parse(failure?.body ?? '{}')).toMatchObject({ state: 'failure', context: 'continuous-delivery/bad' });
    expect(failure?.path).toMatch(new RegExp(`^/github/repos/.*bad/statuses/${bad}$`));
    expect(failure?.headers.authorization).toBe('Bearer ghp-secret');
  }, 180_000);

  it('a custom trigger fires once while its when condition holds, and again only after it stopped holding', async () => {
    const url = await git.createRepo('watched');
    await git.commit('watched', { 'cm.yaml': stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched' }, data: { a: '1' } }) });
    const posts = (): number => http.received.filter((r) => r.path === '/slack/chat.postMessage' && r.body.includes('watched is watched and healthy')).length;
    const notified = async (): Promise<string> => (await kubectl(['get', 'application', 'watched', '-n', ns, '-o', "jsonpath={.metadata.annotations['notified\\.notifications\\.sluice\\.dev']}"])).stdout;
    expect((await kubectl(['apply', '--server-side', '-f', '-'], application('watched', url, { 'notifications.argoproj.io/subscribe.on-watched-healthy.slack': 'ops' }))).stderr).toBe('');
    const label = async (v: string): Promise<void> => {
      expect((await kubectl(['label', '--overwrite', 'application', 'watched', '-n', ns, `watch=${v}`])).stderr).toBe('');
    };
    await waitFor('the Application healthy', async () => (await kubectl(['get', 'application', 'watched', '-n', ns, '-o', 'jsonpath={.status.health.status}'])).stdout === 'Healthy', 60_000);
    await new Promise((r) => setTimeout(r, 2000));
    expect(posts()).toBe(0); // not labelled yet: the condition does not hold
    await label('on');
    await waitFor('the first message', () => posts() === 1, 30_000);
    await waitFor('the sent key recorded', async () => (await notified()).includes('when:c0:on-watched-healthy:slack:ops'), 10_000);
    await label('on2');
    await waitFor('the key dropped once the condition stopped holding', async () => !(await notified()).includes('on-watched-healthy'), 30_000);
    expect(posts()).toBe(1);
    await label('on');
    await waitFor('the second message', () => posts() === 2, 30_000);
    await new Promise((r) => setTimeout(r, 3000)); // further reconciles while it holds send nothing more
    expect(posts()).toBe(2);
  }, 180_000);
});

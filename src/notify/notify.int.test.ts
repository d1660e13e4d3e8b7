// Notifications end to end on the real apiserver: an Argo Rollouts notification ConfigMap and subscription annotations,
// the operator in-process, and real receivers on 127.0.0.1 (an HTTP server answering as Slack, a webhook and the
// GitHub commit-status API; an SMTP server with AUTH). Messages are counted at the receivers.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';
import { registerControllers } from '../controllers.ts';
import type { KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';
import { EventRecorder } from '../runtime/events.ts';
import { Manager } from '../runtime/manager.ts';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.ts';
import { testClient, testLogger, testMetrics } from '../../test/support/operator.ts';
import { startHttpReceiver, startSmtpReceiver, type HttpReceiver, type SmtpReceiver } from '../../test/support/receivers.ts';
import { installAllCrds, rolloutManifest } from '../../test/support/rollouts.ts';
import { NOTIFIED_ANNOTATION } from './decide.ts';
import { COMMIT, configMap, secret } from '../../test/support/notify-fixtures.ts';

describe('notifications from Rollouts', () => {
  let ns: string;
  let http: HttpReceiver;
  let smtp: SmtpReceiver;
  let manager: Manager;
  let running: Promise<unknown>;
  const { client } = testClient();

  const apply = async (m: object): Promise<void> => {
    const res = await kubectl(['apply', '--server-side', '--field-manager=gitops-user', '-n', ns, '-f', '-'], stringify(m));
    expect(res.stderr).toBe('');
  };
  const statusPatch = async (name: string, patch: object): Promise<void> => {
    const res = await kubectl(['patch', 'rollouts.sluice.dev', name, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify(patch)]);
    expect(res.stderr).toBe('');
  };
  const status = async (name: string): Promise<{ phase?: string; currentPodHash?: string; stableRS?: string; abort?: boolean }> =>
    ((await client.get<KubeObject & { status?: Record<string, unknown> }>(R.rollout, ns, name)).status ?? {});
  const posts = (path: string, text = ''): number => http.received.filter((r) => r.path === path && r.body.includes(text)).length;

  const subscribed = (app: string, version: string, annotations: Record<string, string>): object => {
    const m = rolloutManifest(app, version, { steps: [{ setWeight: 50 }, { pause: {} }] }) as { metadata: Record<string, unknown> };
    return { ...m, metadata: { ...m.metadata, annotations: { 'example.test/commit': COMMIT, ...annotations } } };
  };

  beforeAll(async () => {
    await installAllCrds();
    ns = await createNamespace('notify');
    http = await startHttpReceiver();
    smtp = await startSmtpReceiver('sluice', 'smtp-very-secret');
    await apply(configMap(http.url, smtp.port));
    await apply(secret);
    const log = testLogger();
    manager = new Manager({ client, log, metrics: testMetrics(), namespaces: [ns] });
    registerControllers(manager, { client, log, events: new EventRecorder({ client, log, instance: 'test' }), workers: 2 });
    running = manager.run();
    await waitFor('caches', () => manager.ready());
  });

  afterAll(async () => {
    await manager.stop();
    await running;
    await http.close();
    await smtp.close();
    await deleteNamespace(ns);
  });

  it('a promoted canary sends exactly one completed message per revision (after a 429) and sets the commit status', async () => {
    http.throttle(1, 1); // Slack answers the first post 429 Retry-After: 1
    const annotations = { 'notifications.argoproj.io/subscribe.on-rollout-completed.slack': 'deploys', 'notifications.argoproj.io/subscribe.on-rollout-completed.github': '' };
    await apply(subscribed('web', 'v1', annotations));
    await waitFor('v1 Healthy', async () => (await status('web')).phase === 'Healthy', 60_000);
    const v1 = (await status('web')).stableRS as string;
    await waitFor('the v1 completed message', () => posts('/slack/chat.postMessage', `completed revision ${v1}`) === 1, 30_000);

    await apply(subscribed('web', 'v2', annotations));
    await waitFor('paused at 50%', async () => (await status('web')).phase === 'Paused', 60_000);
    const v2 = (await status('web')).currentPodHash as string;
    expect(posts('/slack/chat.postMessage', v2)).toBe(0);
    await statusPatch('web', { status: { pauseConditions: null } });
    await waitFor('v2 promoted', async () => (await status('web')).stableRS === v2 && (await status('web')).phase === 'Healthy', 60_000);
    await waitFor('the v2 completed message', () => posts('/slack/chat.postMessage', `completed revision ${v2}`) === 1, 30_000);
    // Later reconciles (a resync, an annotation write) never send it again.
    await kubectl(['annotate', '-n', ns, 'rollouts.sluice.dev/web', 'poke=1']);
    await new Promise((r) => setTimeout(r, 3000));
    expect(posts('/slack/chat.postMessage', `completed revision ${v2}`)).toBe(1);
    expect(posts('/slack/chat.postMessage', `completed revision ${v1}`)).toBe(1);

    const post = http.received.find((r) => r.path === '/slack/chat.postMessage' && r.body.includes(v2));
    expect(post?.headers.authorization).toBe('Bearer xoxb-very-secret');
    const body = JSON.parse(post?.body ?? '{}') as { channel: string; attachments: { fields: { title: string; value: string }[] }[] };
    expect(body.channel).toBe('deploys');
    expect(body.attachments[0]?.fields).toEqual([
      { title: 'Strategy', value: 'Canary', short: true },
      { title: 'app', value: 'registry.invalid/web:v2', short: true },
    ]);
    // One success status per revision on the commit the Rollout names.
    expect(posts(`/github/repos/acme/web/statuses/${COMMIT}`, '"state":"success"')).toBe(2);
    const notified = JSON.parse((await client.get(R.rollout, ns, 'web')).metadata?.annotations?.[NOTIFIED_ANNOTATION] ?? '{}') as Record<string, number>;
    expect(Object.keys(notified).sort()).toEqual([`${v1}:on-rollout-completed:github:`, `${v1}:on-rollout-completed:slack:deploys`, `${v2}:on-rollout-completed:github:`, `${v2}:on-rollout-completed:slack:deploys`].sort());
  }, 180_000);

  it('a canary aborted by its analysis sends one aborted message naming the failure, by email and webhook; a receiver down for a while gets it once', async () => {
    // A metric source that reports 30% errors: the step's analysis fails and Sluice aborts the canary by itself.
    const metrics: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"errorRate": 0.3}'));
    await new Promise<void>((r) => metrics.listen(0, '127.0.0.1', r));
    try {
      const port = (metrics.address() as AddressInfo).port;
      await apply({
        apiVersion: 'sluice.dev/v1alpha1',
        kind: 'AnalysisTemplate',
        metadata: { name: 'error-rate' },
        spec: { metrics: [{ name: 'error-rate', count: 1, interval: '1s', successCondition: 'result < 0.01', failureLimit: 0, provider: { web: { url: `http://127.0.0.1:${port}/`, jsonPath: '{$.errorRate}' } } }] },
      });
      const steps = [{ setWeight: 50 }, { analysis: { templates: [{ templateName: 'error-rate' }] } }];
      const annotations = { 'notifications.argoproj.io/subscribe.on-rollout-aborted.email': 'oncall@example.test', 'notifications.sluice.dev/subscribe.on-rollout-aborted.hook': '' };
      const manifest = (version: string): object => {
        const m = rolloutManifest('api', version, { steps }) as { metadata: Record<string, unknown> };
        return { ...m, metadata: { ...m.metadata, annotations } };
      };
      await apply(manifest('v1'));
      await waitFor('v1 Healthy', async () => (await status('api')).phase === 'Healthy', 60_000);
      await http.down();
      await apply(manifest('v2'));
      await waitFor('aborted by the analysis', async () => (await status('api')).abort === true, 60_000);
      const v2 = (await status('api')).currentPodHash as string;
      await waitFor('the email', () => smtp.mails.length === 1, 30_000);
      expect(smtp.mails[0]?.to).toEqual(['oncall@example.test']);
      expect(smtp.mails[0]?.data).toContain('Subject: Rollout api aborted');
      expect(smtp.mails[0]?.data).toContain(`aborted revision ${v2}`);
      expect(smtp.mails[0]?.data).toContain(`Analysis api-${v2}-1 Failed`);
      await new Promise((r) => setTimeout(r, 4000));
      expect(posts('/hook/aborted')).toBe(0);
      await http.up();
      await waitFor('the webhook after the receiver came back', () => posts('/hook/aborted') === 1, 60_000);
      const hook = http.received.find((r) => r.path === '/hook/aborted');
      expect(JSON.parse(hook?.body ?? '{}')).toEqual({ rollout: 'api', revision: v2 });
      expect(hook?.headers.authorization).toBe('Bearer hook-very-secret');
      await new Promise((r) => setTimeout(r, 3000));
      expect(posts('/hook/aborted')).toBe(1);
      expect(smtp.mails.length).toBe(1);
    } finally {
      await new Promise((r) => metrics.close(r));
    }
  }, 180_000);

  it('bad input is an Event naming the key (syntax error, missing $secret, missing template, refused SMTP auth); the rest keeps flowing', async () => {
    const other = await createNamespace('notify-bad');
    const kubectlIn = async (m: object): Promise<void> => {
      expect((await kubectl(['apply', '--server-side', '--field-manager=gitops-user', '-n', other, '-f', '-'], stringify(m))).stderr).toBe('');
    };
    try {
      await kubectlIn(
        configMap(http.url, smtp.port, {
          'template.rollout-completed': 'message: "{{ if .rollout.metadata.name }}x"',
          'service.webhook.leaky': 'url: $no-such-key\n',
          'service.email.badmail': `host: 127.0.0.1\nport: ${smtp.port}\nfrom: sluice@example.test\nusername: sluice\npassword: not-the-password\n`,
          'trigger.on-rollout-paused': '- send: [no-such-template]\n',
          'trigger.on-rollout-updated': '- send: [updated]\n',
          'template.updated': 'message: "Rollout {{.rollout.metadata.name}} is updating"\nemail:\n  subject: updating\n',
        }),
      );
      await kubectlIn(secret);
      const log = testLogger();
      const m2 = new Manager({ client, log, metrics: testMetrics(), namespaces: [other] });
      registerControllers(m2, { client, log, events: new EventRecorder({ client, log, instance: 'test' }), workers: 2 });
      const r2 = m2.run();
      try {
        const sub = (t: string, svc: string): string => `notifications.argoproj.io/subscribe.${t}.${svc}`;
        const annotations = {
          [sub('on-rollout-completed', 'slack')]: 'deploys',
          [sub('on-rollout-paused', 'slack')]: 'deploys',
          [sub('on-rollout-updated', 'leaky')]: '',
          [sub('on-rollout-updated', 'badmail')]: 'oncall@example.test',
          [sub('on-rollout-updated', 'slack')]: 'deploys',
        };
        const manifest = (version: string): object => {
          const m = rolloutManifest('svc', version, { steps: [{ setWeight: 50 }, { pause: {} }] }) as { metadata: Record<string, unknown> };
          return { ...m, metadata: { ...m.metadata, annotations } };
        };
        await kubectlIn(manifest('v1'));
        await waitFor('svc v1 Healthy', async () => (await client.get<KubeObject & { status?: { phase?: string } }>(R.rollout, other, 'svc')).status?.phase === 'Healthy', 60_000);
        await kubectlIn(manifest('v2'));
        const events = async (): Promise<string[]> => {
          const res = await kubectl(['get', 'events', '-n', other, '--field-selector=involvedObject.name=svc', '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}']);
          return res.stdout.split('\n').filter((l) => l.startsWith('Notification'));
        };
        const wanted = [
          /^NotificationConfigError: template\.rollout-completed: template template\.rollout-completed\.message:1:\d+: .*missing \{\{end\}\}/,
          /^NotificationConfigError: service\.webhook\.leaky: \$no-such-key is not a key of the notifications Secret$/,
          /^NotificationConfigError: trigger\.on-rollout-paused: sends template\(s\) that do not exist: no-such-template$/,
          /^NotificationFailed: on-rollout-updated to badmail:oncall@example\.test failed after 1 attempt\(s\): email via 127\.0\.0\.1:\d+: EAUTH/,
        ];
        await waitFor('an Event for each bad input', async () => {
          const got = await events();
          return wanted.every((re) => got.some((l) => re.test(l)));
        }, 60_000);
        const all = (await events()).join('\n');
        expect(all).not.toMatch(/very-secret|not-the-password/);
        // The same ConfigMap's good keys keep working: the update message reached Slack, once.
        await waitFor('the update message', () => posts('/slack/chat.postMessage', 'Rollout svc is updating') === 1, 30_000);
      } finally {
        await m2.stop();
        await r2;
      }
    } finally {
      await deleteNamespace(other);
    }
  }, 180_000);
});

// `kubectl sluice notifications …` as a person runs it (the real executable through kubectl) against a live Rollout,
// with the operator in-process sending the subscribed notification and a Slack-like receiver on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createNamespace, deleteNamespace, waitFor } from '../../test/support/cluster.ts';
import { configMap, secret } from '../../test/support/notify-fixtures.ts';
import { sluice } from '../../test/support/plugin.ts';
import { startHttpReceiver, type HttpReceiver } from '../../test/support/receivers.ts';
import { helpers, installAllCrds, rolloutManifest, runOperator, type InProcessOperator } from '../../test/support/rollouts.ts';

describe('kubectl sluice notifications', () => {
  let ns: string;
  let op: InProcessOperator;
  let http: HttpReceiver;
  let h: ReturnType<typeof helpers>;
  const posts = (channel: string): number => http.received.filter((r) => r.path === '/slack/chat.postMessage' && (JSON.parse(r.body) as { channel?: string }).channel === channel).length;

  beforeAll(async () => {
    await installAllCrds();
    ns = await createNamespace('cli-notify');
    http = await startHttpReceiver();
    op = await runOperator(ns);
    h = helpers(ns, op.client);
    const custom = { 'trigger.on-web-healthy': "- when: rollout.status.phase in ['Healthy']\n  send: [rollout-completed]\n", 'trigger.on-typo': '- when: rollout.status.phase\n  send: [rollout-completed]\n' };
    await h.apply(configMap(http.url, 1, custom));
    await h.apply(secret);
    const m = rolloutManifest('web', 'v1', { steps: [{ setWeight: 50 }, { pause: {} }] }) as { metadata: Record<string, unknown> };
    await h.apply({ ...m, metadata: { ...m.metadata, annotations: { 'notifications.argoproj.io/subscribe.on-rollout-completed.slack': 'deploys' } } });
    await waitFor('web Healthy', async () => (await h.rollout('web')).status?.phase === 'Healthy', 60_000);
    await waitFor("the operator's own message", () => posts('deploys') === 1, 30_000);
  });

  afterAll(async () => {
    await op.stop();
    await http.close();
    await deleteNamespace(ns);
  });

  it('lists templates and triggers', async () => {
    const templates = await sluice(['notifications', 'template', 'get', '-n', ns]);
    expect(templates).toMatchObject({ code: 0, stderr: '' });
    expect(templates.stdout).toMatch(/^NAME\s+SECTIONS\s+CONFIGMAP$/m);
    expect(templates.stdout).toMatch(new RegExp(`^rollout-aborted\\s+message,email,webhook\\s+${ns}/argo-rollouts-notification-configmap$`, 'm'));
    const triggers = await sluice(['notifications', 'trigger', 'get', 'on-rollout-completed', '-n', ns, '-o', 'json']);
    expect(JSON.parse(triggers.stdout)).toEqual([{ name: 'on-rollout-completed', templates: ['rollout-completed', 'commit-success'], source: `${ns}/argo-rollouts-notification-configmap` }]);
  });

  it('renders a template against the live Rollout without sending, and sends once with --recipient', async () => {
    const hash = (await h.rollout('web')).status?.stableRS ?? '';
    const dry = await sluice(['notifications', 'template', 'notify', 'rollout-completed', 'web', '-n', ns]);
    expect(dry).toMatchObject({ code: 0, stderr: '' });
    expect(dry.stdout).toContain(`message: Rollout web completed revision ${hash}.`);
    expect(posts('deploys') + posts('manual')).toBe(1);
    const sent = await sluice(['notifications', 'template', 'notify', 'rollout-completed', 'web', '-n', ns, '--recipient', 'slack:manual']);
    expect(sent).toMatchObject({ code: 0, stdout: 'sent rollout-completed to slack:manual\n', stderr: '' });
    expect(posts('manual')).toBe(1);
    const missing = await sluice(['notifications', 'template', 'notify', 'no-such', 'web', '-n', ns]);
    expect(missing).toMatchObject({ code: 1, stderr: 'template "no-such" not found\n' });
  });

  it('tells whether a trigger fires and whether each subscription was sent', async () => {
    const hash = (await h.rollout('web')).status?.stableRS ?? '';
    const fires = await sluice(['notifications', 'trigger', 'run', 'on-rollout-completed', 'web', '-n', ns]);
    expect(fires).toMatchObject({ code: 0, stdout: `on-rollout-completed: fires (once per ${hash})\n  slack:deploys\tsent\n`, stderr: '' });
    const not = await sluice(['notifications', 'trigger', 'run', 'on-rollout-aborted', 'web', '-n', ns]);
    expect(not).toMatchObject({ code: 1, stdout: 'on-rollout-aborted: does not fire\n' });
  });

  it("evaluates a custom trigger's when expression against the live Rollout, and names the trigger when it cannot", async () => {
    expect(await sluice(['notifications', 'trigger', 'run', 'on-web-healthy', 'web', '-n', ns])).toMatchObject({ code: 0, stdout: 'on-web-healthy: fires (once per when:c0)\n', stderr: '' });
    const typo = await sluice(['notifications', 'trigger', 'run', 'on-typo', 'web', '-n', ns]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/^error: trigger\.on-typo: when must evaluate to a boolean, got Healthy in "rollout\.status\.phase"/m);
  });
});

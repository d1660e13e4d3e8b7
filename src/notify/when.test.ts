import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { KubeObject } from '../kube/client.ts';
import { loadConfig } from './config.ts';
import { owed } from './decide.ts';
import { customTriggers, WHEN_PREFIX } from './when.ts';

const cfg = loadConfig(
  'argocd-notifications-cm',
  {
    'trigger.on-degraded': "- when: app.status.health.status == 'Degraded'\n  send: [degraded]\n",
    'trigger.on-new-revision': '- when: app.status.sync.status == \'Synced\'\n  oncePer: app.status.sync.revision\n  send: [synced]\n',
    'trigger.on-either': "- when: app.status.health.status == 'Missing'\n  send: [missing]\n- when: app.status.health.status in ['Degraded', 'Missing']\n  send: [bad]\n",
    'trigger.on-broken': '- when: time.Now() > 0\n  send: [degraded]\n',
    'trigger.on-number': '- when: len(app.status)\n  send: [degraded]\n',
    'template.degraded': 'message: degraded\n',
    'template.synced': 'message: synced\n',
    'template.missing': 'message: missing\n',
    'template.bad': 'message: bad\n',
  },
  {},
);

const app = (health: string, sync = 'Synced', revision = 'abc', extra: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'Application',
  metadata: { name: 'web', namespace: 'apps', uid: 'u1', annotations: { 'notifications.argoproj.io/subscribe.on-degraded.slack': 'ops', ...extra } },
  status: { health: { status: health }, sync: { status: sync, revision } },
});

describe('custom triggers', () => {
  it('fires a when condition that holds, with the templates of the conditions that hold', () => {
    const c = customTriggers('app', app('Degraded'), ['on-degraded', 'on-either'], [cfg], []);
    expect(c.fired.get('on-degraded')).toBe(`${WHEN_PREFIX}c0`);
    expect(c.fired.get('on-either')).toBe(`${WHEN_PREFIX}c1`);
    expect(c.templates.get('on-either')).toEqual(['bad']);
    expect(c.errors).toEqual([]);
    const both = customTriggers('app', app('Missing'), ['on-either'], [cfg], []);
    expect(both.templates.get('on-either')).toEqual(['missing', 'bad']);
  });

  it('keys oncePer triggers by the value of the oncePer expression, so a new revision fires again', () => {
    expect(customTriggers('app', app('Healthy', 'Synced', 'abc'), ['on-new-revision'], [cfg], []).fired.get('on-new-revision')).toBe('when:c0=abc');
    expect(customTriggers('app', app('Healthy', 'Synced', 'def'), ['on-new-revision'], [cfg], []).fired.get('on-new-revision')).toBe('when:c0=def');
    expect(customTriggers('app', app('Healthy', 'OutOfSync'), ['on-new-revision'], [cfg], ['when:c0=abc:on-new-revision:slack:ops']).disarm).toEqual([]);
  });

  it('re-arms a condition without oncePer once it stops holding: its sent keys are dropped, and only its own', () => {
    const sent = ['when:c0:on-degraded:slack:ops', 'when:c1:on-either:slack:ops', 'when:c0=a:b:on-degraded:x:y', 'abc:on-deployed:slack:ops'];
    const c = customTriggers('app', app('Healthy'), ['on-degraded'], [cfg], sent);
    expect(c.fired.size).toBe(0);
    expect(c.disarm).toEqual(['when:c0:on-degraded:slack:ops']);
  });

  it('sends once while the condition holds, given the key it recorded', () => {
    const obj = app('Degraded');
    const first = customTriggers('app', obj, ['on-degraded'], [cfg], []);
    const due = owed(obj, first.fired);
    expect(due.map((o) => o.key)).toEqual(['when:c0:on-degraded:slack:ops']);
    const recorded = app('Degraded', 'Synced', 'abc', { 'notified.notifications.sluice.dev': JSON.stringify({ [due[0]!.key]: 1 }) });
    expect(owed(recorded, customTriggers('app', recorded, ['on-degraded'], [cfg], []).fired)).toEqual([]);
  });

  it('reports an expression it cannot evaluate, naming the trigger key, and fires nothing for it', () => {
    const c = customTriggers('app', app('Degraded'), ['on-broken', 'on-number', 'on-degraded'], [cfg], []);
    expect(c.errors).toEqual([
      { key: 'trigger.on-broken', message: expect.stringMatching(/only named functions can be called in "time.Now\(\) > 0" \(app is the Application\)/) as unknown as string },
      { key: 'trigger.on-number', message: expect.stringMatching(/when must evaluate to a boolean, got 2/) as unknown as string },
    ]);
    expect([...c.fired.keys()]).toEqual(['on-degraded']);
  });

  it('binds a Rollout as `rollout`', () => {
    const rcfg = loadConfig('argo-rollouts-notification-configmap', { 'trigger.on-degraded': "- when: rollout.status.phase == 'Degraded'\n  send: [t]\n", 'template.t': 'message: x\n' }, {});
    const r: KubeObject = { apiVersion: 'sluice.dev/v1alpha1', kind: 'Rollout', metadata: { name: 'r' }, status: { phase: 'Degraded' } };
    expect(customTriggers('rollout', r, ['on-degraded'], [rcfg], []).fired.get('on-degraded')).toBe('when:c0');
  });

  it('property: a trigger fires exactly when its condition holds, and disarms only its own keys when it does not', () => {
    fc.assert(
      fc.property(fc.constantFrom('Healthy', 'Degraded', 'Missing', 'Progressing'), fc.array(fc.constantFrom('when:c0:on-degraded:s:r', 'when:c1:on-either:s:r', 'x:on-degraded:s:r'), { maxLength: 3 }), (health, sent) => {
        const c = customTriggers('app', app(health), ['on-degraded'], [cfg], sent);
        expect(c.fired.has('on-degraded')).toBe(health === 'Degraded');
        expect(c.disarm).toEqual(health === 'Degraded' ? [] : sent.filter((k) => k === 'when:c0:on-degraded:s:r'));
      }),
    );
  });
});

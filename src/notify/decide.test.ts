import { describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { loadConfig } from './config.ts';
import { MAX_NOTIFIED_KEYS, NOTIFIED_ANNOTATION, notifiedKeys, owed, rolloutTriggers, subscriptions, withNotified } from './decide.ts';
import { backoffMs, DeliveryQueue } from './delivery.ts';
import { DeliveryError } from './services/port.ts';

const rollout = (status: Record<string, unknown>, annotations: Record<string, string> = {}) => ({ apiVersion: 'sluice.dev/v1alpha1', kind: 'Rollout', metadata: { name: 'r', namespace: 'n', annotations }, status });

describe('subscriptions', () => {
  it('reads Argo and Sluice annotations, one per recipient', () => {
    expect(
      subscriptions({
        'notifications.argoproj.io/subscribe.on-rollout-completed.slack': 'a; b',
        'notifications.sluice.dev/subscribe.on-rollout-aborted.webhook.hook': '',
        'notifications.argoproj.io/subscribe.bad': 'x',
        other: 'y',
      }),
    ).toEqual([
      { trigger: 'on-rollout-aborted', service: 'webhook.hook', recipient: '' },
      { trigger: 'on-rollout-completed', service: 'slack', recipient: 'a' },
      { trigger: 'on-rollout-completed', service: 'slack', recipient: 'b' },
    ]);
  });
});

describe('the list form of subscriptions', () => {
  it("reads Argo's notifications.argoproj.io/subscriptions YAML and ignores a malformed one", () => {
    const list = '- trigger: [on-rollout-completed, on-rollout-aborted]\n  destinations:\n  - service: slack\n    recipients: [a, b]\n  - service: github\n';
    expect(subscriptions({ 'notifications.argoproj.io/subscriptions': list, 'notifications.argoproj.io/subscribe.on-rollout-completed.slack': 'a' })).toEqual([
      { trigger: 'on-rollout-aborted', service: 'github', recipient: '' },
      { trigger: 'on-rollout-aborted', service: 'slack', recipient: 'a' },
      { trigger: 'on-rollout-aborted', service: 'slack', recipient: 'b' },
      { trigger: 'on-rollout-completed', service: 'github', recipient: '' },
      { trigger: 'on-rollout-completed', service: 'slack', recipient: 'a' },
      { trigger: 'on-rollout-completed', service: 'slack', recipient: 'b' },
    ]);
    expect(subscriptions({ 'notifications.argoproj.io/subscriptions': '{not: [a list' })).toEqual([]);
  });
});

describe('rollout triggers', () => {
  it('fires completed once per stable revision, aborted per abort, paused per pause', () => {
    expect([...rolloutTriggers(rollout({ phase: 'Healthy', currentPodHash: 'h1', stableRS: 'h1' }))]).toEqual([['on-rollout-completed', 'h1']]);
    const aborted = rolloutTriggers(rollout({ phase: 'Degraded', currentPodHash: 'h2', stableRS: 'h1', abort: true, abortedAt: 't', currentStepIndex: 1, canary: { currentStepAnalysisRunStatus: { name: 'run', status: 'Failed' } } }));
    expect(Object.fromEntries(aborted)).toEqual({ 'on-rollout-updated': 'h2', 'on-rollout-aborted': 'h2', 'on-rollout-step-completed': 'h2/0', 'on-analysis-run-failed': 'run' });
    const paused = rolloutTriggers(rollout({ phase: 'Paused', currentPodHash: 'h2', stableRS: 'h1', currentStepIndex: 1, pauseConditions: [{ reason: 'CanaryPauseStep', startTime: 's' }] }));
    expect(paused.get('on-rollout-paused')).toBe('h2/1/s');
    expect(rolloutTriggers(rollout({})).size).toBe(0);
  });

  it('owes only subscribed, fired, unsent keys', () => {
    const obj = rollout({ phase: 'Healthy', currentPodHash: 'h1', stableRS: 'h1' }, { 'notifications.argoproj.io/subscribe.on-rollout-completed.slack': 'a;b', 'notifications.argoproj.io/subscribe.on-rollout-aborted.slack': 'a', [NOTIFIED_ANNOTATION]: JSON.stringify({ 'h1:on-rollout-completed:slack:a': 1 }) });
    expect(owed(obj, rolloutTriggers(obj)).map((o) => o.key)).toEqual(['h1:on-rollout-completed:slack:b']);
  });

  it('the sent annotation keeps the newest keys and survives garbage (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.nat(1e9)), { maxLength: 150 }), (adds) => {
        let ann: Record<string, string> = { [NOTIFIED_ANNOTATION]: 'not json' };
        for (const [k, t] of adds) ann = { [NOTIFIED_ANNOTATION]: withNotified(notifiedKeys(ann), k, t) };
        const keys = notifiedKeys(ann);
        const last = adds.at(-1);
        return Object.keys(keys).length <= MAX_NOTIFIED_KEYS && (last === undefined || keys[last[0]] !== undefined || Object.values(keys).every((v) => v >= last[1]));
      }),
    );
  });
});

describe('config loading', () => {
  it('isolates broken keys and names them', () => {
    const cfg = loadConfig(
      'ns/cm',
      {
        'service.slack': 'token: $tok',
        'service.webhook.x': 'url: $missing',
        'service.pager': 'x: 1',
        'template.ok': 'message: hi {{.rollout.metadata.name}}',
        'template.bad': 'message: "{{ if .x }}"',
        'trigger.on-a': '- send: [ok]',
        'trigger.on-b': '- send: [nope]',
        'trigger.on-c': 'send: [ok]',
      },
      { tok: 'T' },
    );
    expect(cfg.services.get('slack')?.settings).toEqual({ token: 'T' });
    expect([...cfg.triggers.keys()]).toEqual(['on-a']);
    expect(cfg.errors.map((e) => e.key).sort()).toEqual(['service.pager', 'service.webhook.x', 'template.bad', 'trigger.on-b', 'trigger.on-c']);
    expect(cfg.errors.find((e) => e.key === 'service.webhook.x')?.message).toBe('service.webhook.x: $missing is not a key of the notifications Secret');
    expect(cfg.errors.find((e) => e.key === 'template.bad')?.message).toMatch(/template\.bad\.message:1:\d+: .*missing \{\{end\}\}/);
  });
});

describe('the delivery queue', () => {
  it('backs off exponentially, capped, honouring Retry-After', () => {
    expect([1, 2, 3, 10].map((a) => backoffMs(a, 1000, 30_000, undefined, () => 0.5))).toEqual([1000, 2000, 4000, 30_000]);
    expect(backoffMs(1, 1000, 30_000, 7000)).toBe(7000);
  });

  it('retries retryable failures, gives up on permanent ones, and never queues a key twice', async () => {
    const q = new DeliveryQueue({ baseDelayMs: 5, maxDelayMs: 10, maxAttempts: 4 });
    const gaveUp: string[] = [];
    const q2 = new DeliveryQueue({ baseDelayMs: 5, maxAttempts: 4, onGiveUp: (j) => gaveUp.push(j.key) });
    let calls = 0;
    expect(
      q.add({
        key: 'a',
        run: () => {
          calls++;
          return calls < 3 ? Promise.reject(new DeliveryError('down', true)) : Promise.resolve();
        },
      }),
    ).toBe(true);
    expect(q.add({ key: 'a', run: () => Promise.resolve() })).toBe(false);
    await q.drained();
    expect(calls).toBe(3);
    let permanent = 0;
    q2.add({ key: 'p', run: () => (permanent++, Promise.reject(new DeliveryError('refused', false))) });
    await q2.drained();
    expect({ permanent, gaveUp }).toEqual({ permanent: 1, gaveUp: ['p'] });
  });

  it("with the default backoff, a receiver down for 60 s gets the message once after it returns (simulated clock)", async () => {
    jest.useFakeTimers({ now: 0 });
    try {
      const gaveUp: string[] = [];
      const q = new DeliveryQueue({ onGiveUp: (j) => gaveUp.push(j.key) }); // the default backoff: 1 s doubling to 30 s, 12 attempts
      let delivered = 0;
      const attempts: number[] = [];
      const run = (): Promise<void> => {
        attempts.push(Date.now());
        if (Date.now() < 60_000) return Promise.reject(new DeliveryError('connect ECONNREFUSED', true));
        delivered++;
        return Promise.resolve();
      };
      q.add({ key: 'm', run });
      for (let t = 0; t < 200 && delivered === 0; t++) await jest.advanceTimersByTimeAsync(1000);
      expect(delivered).toBe(1);
      expect(attempts.filter((at) => at >= 60_000)).toHaveLength(1); // once after the return, never twice
      expect(attempts.length).toBeGreaterThan(4); // retried all along the outage
      expect(Date.now()).toBeLessThan(60_000 + 36_000); // within one capped backoff (30 s, +20 % jitter) of the return
      await jest.advanceTimersByTimeAsync(300_000);
      expect(delivered).toBe(1);
      expect(gaveUp).toEqual([]);
      q.stop();
    } finally {
      jest.useRealTimers();
    }
  });

  it('is bounded', () => {
    const q = new DeliveryQueue({ maxQueued: 2, concurrency: 1 });
    const never = (): Promise<void> => new Promise(() => undefined);
    expect([q.add({ key: '1', run: never }), q.add({ key: '2', run: never }), q.add({ key: '3', run: never })]).toEqual([true, true, false]);
    q.stop();
  });
});

import { describe, expect, it } from '@jest/globals';
import type { RolloutWebhook, RolloutWebhookType } from '../api/rollout/schema.ts';
import type { GateResult } from './decide/gates.ts';
import { GateCalls } from './gate-calls.ts';

const hook = (type: RolloutWebhookType, name: string = type, interval = '5s'): RolloutWebhook => ({ name, type, url: `http://127.0.0.1:1/${name}`, interval });
const target = (checksum: string) => ({ name: 'web', namespace: 'ns', checksum });

/** A call function whose answers the test gives, one pending call at a time per type. */
function harness() {
  const pending: { type: RolloutWebhookType; answer: (ok: boolean) => void; fail: (e: Error) => void }[] = [];
  let now = 1_000_000;
  const done: string[] = [];
  const calls = new GateCalls(
    (hooks, type) =>
      new Promise<GateResult[]>((resolve, reject) => {
        pending.push({ type, answer: (ok) => resolve(hooks.filter((h) => h.type === type).map((h) => ({ name: h.name, ok, message: ok ? 'HTTP 200' : 'HTTP 403' }))), fail: reject });
      }),
    (key) => done.push(key),
    () => now,
  );
  const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
  return { calls, pending, done, settle, tick: (ms: number) => (now += ms) };
}

describe('webhook gates called outside the reconcile', () => {
  it('starts a call for a consulted type, never two at once, and tells the controller when it is in', async () => {
    const h = harness();
    const hooks = [hook('confirm-promotion')];
    expect(h.calls.answers('ns/web', target('h2'), hooks)).toEqual({});
    h.calls.request('ns/web', target('h2'), hooks, ['confirm-promotion']);
    h.calls.request('ns/web', target('h2'), hooks, ['confirm-promotion']);
    expect(h.pending).toHaveLength(1);
    h.pending[0]?.answer(false);
    await h.settle();
    expect(h.done).toEqual(['ns/web']);
    expect(h.calls.answers('ns/web', target('h2'), hooks)).toEqual({ 'confirm-promotion': [{ name: 'confirm-promotion', ok: false, message: 'HTTP 403' }] });
  });

  it('keeps an answer for its interval, then asks again while the last answer stands', async () => {
    const h = harness();
    const hooks = [hook('confirm-promotion', 'approve', '5s')];
    h.calls.request('ns/web', target('h2'), hooks, ['confirm-promotion']);
    h.pending.shift()?.answer(false);
    await h.settle();
    h.tick(4_999);
    h.calls.request('ns/web', target('h2'), hooks, ['confirm-promotion']);
    expect(h.pending).toHaveLength(0);
    h.tick(1);
    h.calls.request('ns/web', target('h2'), hooks, ['confirm-promotion']);
    expect(h.pending).toHaveLength(1);
    expect(h.calls.answers('ns/web', target('h2'), hooks)['confirm-promotion']?.[0]?.ok).toBe(false);
    h.pending.shift()?.answer(true);
    await h.settle();
    expect(h.calls.answers('ns/web', target('h2'), hooks)['confirm-promotion']?.[0]?.ok).toBe(true);
  });

  it('answers only for the revision and the hooks they were given for', async () => {
    const h = harness();
    const hooks = [hook('rollback')];
    h.calls.request('ns/web', target('h2'), hooks, ['rollback']);
    h.pending.shift()?.answer(true);
    await h.settle();
    expect(h.calls.answers('ns/web', target('h3'), hooks)).toEqual({});
    expect(h.calls.answers('ns/web', target('h2'), hooks)).toEqual({}); // dropped with the revision change
    h.calls.request('ns/web', target('h2'), hooks, ['rollback']);
    h.pending.shift()?.answer(true);
    await h.settle();
    expect(h.calls.answers('ns/web', target('h2'), [hook('rollback', 'other')])).toEqual({});
  });

  it('turns a call that throws into a failed answer naming why, and forgets a rollout', async () => {
    const h = harness();
    const hooks = [hook('pre-rollout', 'smoke')];
    h.calls.request('ns/web', target('h2'), hooks, ['pre-rollout']);
    h.pending.shift()?.fail(new Error('boom'));
    await h.settle();
    expect(h.calls.answers('ns/web', target('h2'), hooks)).toEqual({ 'pre-rollout': [{ name: 'smoke', ok: false, message: 'boom' }] });
    expect(h.calls.size).toBe(1);
    h.calls.forget('ns/web');
    expect(h.calls.size).toBe(0);
    expect(h.calls.answers('ns/web', target('h2'), hooks)).toEqual({});
  });
});

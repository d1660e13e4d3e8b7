import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { CanaryStep, RolloutWebhook, RolloutWebhookType } from '../../api/rollout/schema.ts';
import { Gates } from './gates.ts';
import { World } from './sim.ts';

const STEPS: CanaryStep[] = [{ setWeight: 20 }, { setWeight: 50 }];

const hook = (type: RolloutWebhookType, name: string = type): RolloutWebhook => ({ name, type, url: `http://127.0.0.1:1/${name}`, interval: '5s' });

/** A stable, Healthy first revision with these webhooks; then a second revision starts. */
function started(types: RolloutWebhookType[], answers: Partial<Record<RolloutWebhookType, boolean>>, opts: { steps?: CanaryStep[]; routed?: boolean } = {}): World {
  const w = new World({ steps: opts.steps ?? STEPS, replicas: 4, ...(opts.routed !== undefined ? { routed: opts.routed } : {}) });
  w.spec.strategy!.canary!.webhooks = types.map((t) => hook(t));
  w.run();
  expect(w.status.stableRS).toBe('h1');
  w.gateAnswers = answers;
  w.templateHash = 'h2';
  return w;
}

describe('Gates (the engine\'s view of the answers)', () => {
  it('is open without hooks, unknown until asked (and records the need), closed when one hook says no', () => {
    const hooks = [hook('confirm-promotion', 'a'), hook('confirm-promotion', 'b')];
    expect(new Gates(hooks, {}).check('confirm-rollout')).toEqual({ state: 'open' });
    const g = new Gates(hooks, {});
    expect(g.check('confirm-promotion')).toMatchObject({ state: 'unknown' });
    expect([...g.need]).toEqual(['confirm-promotion']);
    const closed = new Gates(hooks, { 'confirm-promotion': [{ name: 'a', ok: true, message: 'HTTP 200' }, { name: 'b', ok: false, message: 'HTTP 403' }] });
    expect(closed.check('confirm-promotion')).toEqual({ state: 'closed', type: 'confirm-promotion', name: 'b', message: 'HTTP 403' });
    expect(new Gates(hooks, {}).intervalMs('confirm-promotion')).toBe(5000);
  });

  it('reads a rollback hook\'s 2xx as a request to abort, anything else as none', () => {
    const hooks = [hook('rollback', 'r')];
    expect(new Gates(hooks, { rollback: [{ name: 'r', ok: true, message: 'HTTP 200' }] }).rollbackRequested()).toBe('r');
    expect(new Gates(hooks, { rollback: [{ name: 'r', ok: false, message: 'HTTP 404' }] }).rollbackRequested()).toBeUndefined();
  });
});

describe('canary engine with webhook gates', () => {
  it('holds at the last step while confirm-promotion says no, then promotes once it says yes', () => {
    const w = started(['confirm-promotion'], { 'confirm-promotion': false });
    w.run(40);
    expect(w.status.currentStepIndex).toBe(2);
    expect(w.status.stableRS).toBe('h1');
    expect(w.routerWeight).toBe(50); // the last step's weight, not more
    expect(w.status.gates?.waiting).toMatchObject({ name: 'confirm-promotion', type: 'confirm-promotion', message: 'HTTP 403' });
    expect(w.status.phase).toBe('Paused');
    expect(w.status.message).toBe('waiting for gate confirm-promotion (confirm-promotion): HTTP 403');
    expect(w.status.conditions?.find((c) => c.type === 'Paused')).toMatchObject({ status: 'True', reason: 'WaitingForGate' });
    expect(w.log.at(-1)?.requeueAfterMs).toBeLessThanOrEqual(5000); // asked again on its interval
    expect(w.rs.find((r) => r.hash === 'h2')?.replicas).toBe(2); // not grown for promotion

    // One event when the gate started holding, none while it keeps holding.
    const reasons = (): string[] => w.log.flatMap((d) => d.events.map((e) => e.reason)).filter((r) => r === 'WaitingForGate' || r === 'GateOpened');
    expect(reasons()).toEqual(['WaitingForGate']);

    w.gateAnswers['confirm-promotion'] = true;
    w.run(80);
    expect(reasons()).toEqual(['WaitingForGate', 'GateOpened']);
    expect(w.status.stableRS).toBe('h2');
    expect(w.status.gates).toBeUndefined();
    expect(w.status.phase).toBe('Healthy');
    expect(w.violations).toEqual([]);
  });

  it('holds before the canary starts while confirm-rollout says no: no canary pods, no weight', () => {
    const w = started(['confirm-rollout'], { 'confirm-rollout': false });
    w.run(20);
    expect(w.rs.find((r) => r.hash === 'h2')?.replicas ?? 0).toBe(0);
    expect(w.routerWeight).toBe(0);
    expect(w.status.gates?.waiting?.type).toBe('confirm-rollout');
    w.gateAnswers['confirm-rollout'] = true;
    w.run(20);
    expect(w.status.gates?.started).toBe('h2');
    expect(w.status.stableRS).toBe('h2');
    // Once started, the revision is not asked again.
    const calls = w.gateCalls.length;
    w.gateAnswers['confirm-rollout'] = false;
    w.run(20);
    expect(w.gateCalls.length).toBe(calls);
    expect(w.violations).toEqual([]);
  });

  it('holds each weight increase while confirm-traffic-increase says no (routed and by replicas)', () => {
    for (const routed of [true, false]) {
      const w = started(['confirm-traffic-increase'], { 'confirm-traffic-increase': false }, { routed });
      w.run(20);
      expect(w.status.currentStepIndex).toBe(0);
      expect(w.status.canary?.weights?.canary?.weight).toBe(0);
      // Routed, the canary's pods for the next weight may come up (no traffic reaches them); by replicas they are the traffic.
      expect(w.rs.find((r) => r.hash === 'h2')?.replicas ?? 0).toBe(routed ? 1 : 0);
      w.gateAnswers['confirm-traffic-increase'] = true;
      w.run(40);
      expect(w.status.stableRS).toBe('h2');
      expect(w.violations).toEqual([]);
    }
  });

  it('aborts when a rollback hook answers 2xx, and not while it answers otherwise', () => {
    const w = started(['rollback'], { rollback: false }, { steps: [{ setWeight: 20 }, { pause: {} }] });
    w.run(20);
    expect(w.status.abort).toBeUndefined();
    expect(w.routerWeight).toBe(20);
    w.gateAnswers.rollback = true;
    w.run(5);
    expect(w.status.abort).toBe(true);
    expect(w.routerWeight).toBe(0);
    expect(w.log.flatMap((d) => d.events).some((e) => e.reason === 'RollbackRequested')).toBe(true);
    expect(w.violations).toEqual([]);
  });

  it('aborts when a pre-rollout check fails, before any weight; passes it once and goes on', () => {
    const w = started(['pre-rollout'], { 'pre-rollout': false });
    w.run(20);
    expect(w.status.abort).toBe(true);
    expect(w.log.flatMap((d) => d.actions).filter((a) => a.kind === 'setWeight' && a.weight > 0)).toEqual([]);
    expect(w.log.flatMap((d) => d.events).find((e) => e.reason === 'PreRolloutFailed')?.message).toContain('HTTP 403');

    const ok = started(['pre-rollout'], {});
    ok.run(60);
    expect(ok.status.stableRS).toBe('h2');
    expect(ok.gateCalls.filter((t) => t === 'pre-rollout')).toHaveLength(1);
  });

  it('aborts when a rollout check fails at the end of a step', () => {
    const w = started(['rollout'], { rollout: false });
    w.run(20);
    expect(w.status.abort).toBe(true);
    expect(w.status.currentStepIndex).toBe(0);
    expect(w.routerWeight).toBe(0);
  });

  it('lets abort win over an open gate and a person\'s full promote goes past a closed one', () => {
    const w = started(['confirm-promotion'], { 'confirm-promotion': false });
    w.run(40);
    w.status.abort = true;
    w.gateAnswers['confirm-promotion'] = true;
    w.status.promoteFull = true;
    w.run(10);
    expect(w.status.stableRS).toBe('h1');
    expect(w.routerWeight).toBe(0);
    expect(w.status.gates).toBeUndefined();

    const full = started(['confirm-promotion'], { 'confirm-promotion': false });
    full.run(40);
    full.status.promoteFull = true;
    full.run(60);
    expect(full.status.stableRS).toBe('h2');
  });

  it('property: a held gate never lets the weight rise, abort wins, and the invariants hold', () => {
    const types: RolloutWebhookType[] = ['confirm-rollout', 'pre-rollout', 'rollout', 'confirm-traffic-increase', 'confirm-promotion', 'rollback'];
    const step = fc.oneof(fc.record({ setWeight: fc.integer({ min: 0, max: 100 }) }), fc.record({ pause: fc.oneof(fc.constant({}), fc.constant({ duration: '1s' })) })) as fc.Arbitrary<CanaryStep>;
    const act = fc.oneof(fc.record({ type: fc.constantFrom(...types), open: fc.boolean() }), fc.constantFrom('abort', 'promote', 'promoteFull', 'retry', 'wait'));
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 5 }), fc.subarray(types), fc.array(act, { maxLength: 25 }), fc.boolean(), (steps, hooks, acts, routed) => {
        const w = new World({ steps, replicas: 3, routed });
        w.spec.strategy!.canary!.webhooks = hooks.map((t) => hook(t));
        w.run(20);
        w.templateHash = 'h2';
        for (const a of acts) {
          if (typeof a === 'object') w.gateAnswers[a.type] = a.open;
          else if (a === 'abort') w.status.abort = true;
          else if (a === 'retry') w.status.abort = false;
          else if (a === 'promote') delete w.status.pauseConditions;
          else if (a === 'promoteFull') w.status.promoteFull = true;
          else w.now += 30_000;
          const aborted = w.status.abort === true;
          w.reconcile();
          if (aborted) {
            expect(w.status.gates?.waiting).toBeUndefined();
            if (routed) expect(w.routerWeight).toBe(0);
          }
          w.settle();
          w.now += 500;
        }
        w.run(30);
        expect(w.violations).toEqual([]);
      }),
      { numRuns: Number(process.env.SLUICE_PROPERTY_RUNS ?? 300) },
    );
  });
});

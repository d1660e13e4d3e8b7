import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { RolloutWebhook, RolloutWebhookType } from '../../api/rollout/schema.ts';
import { validateRollout } from '../../api/rollout/validate.ts';
import { BlueGreenWorld } from './bluegreen-sim.ts';
import { ANALYSIS, replicasOf } from './bluegreen-testing.ts';
import { PRE_PROMOTION } from './types.ts';

const hook = (type: RolloutWebhookType, name: string = type): RolloutWebhook => ({ name, type, url: `http://127.0.0.1:1/${name}`, interval: '5s' });

/** A stable, Healthy first revision with these webhooks; then a second revision starts. */
function started(types: RolloutWebhookType[], answers: Partial<Record<RolloutWebhookType, boolean>>, extra: object = {}): BlueGreenWorld {
  const w = new BlueGreenWorld({ blueGreen: { webhooks: types.map((t) => hook(t)), ...extra } });
  w.run();
  expect(w.status.stableRS).toBe('h1');
  w.gateAnswers = answers;
  w.templateHash = 'h2';
  return w;
}
const reasons = (w: BlueGreenWorld): string[] => w.log.flatMap((d) => d.events.map((e) => e.reason));

describe('blue-green engine with webhook gates', () => {
  it('confirm-rollout: the new ReplicaSet gets no pod until it says yes', () => {
    const w = started(['confirm-rollout'], { 'confirm-rollout': false });
    w.run(20);
    expect(replicasOf(w, 'h2')).toBe(0);
    expect(w.selectors).toEqual({ active: 'h1', preview: 'h1' });
    expect(w.status.gates?.waiting).toMatchObject({ name: 'confirm-rollout', type: 'confirm-rollout', message: 'HTTP 403' });
    expect(w.status.message).toBe('waiting for gate confirm-rollout (confirm-rollout): HTTP 403');
    w.gateAnswers['confirm-rollout'] = true;
    w.run();
    expect(w.status.stableRS).toBe('h2');
    expect(w.status.gates?.waiting).toBeUndefined();
    expect(reasons(w)).toEqual(expect.arrayContaining(['WaitingForGate', 'GateOpened', 'ActiveServiceSwitched']));
    expect(w.violations).toEqual([]);
  });

  it('pre-rollout: asked once the preview serves the new pods, before the pre-promotion analysis; a failure aborts', () => {
    const ok = started(['pre-rollout'], {}, { prePromotionAnalysis: ANALYSIS });
    ok.reconcile();
    expect(ok.gateCalls).toEqual([]); // no pod behind the preview yet: nothing to check
    ok.run();
    expect(ok.gateCalls.filter((t) => t === 'pre-rollout')).toHaveLength(1); // passed once, remembered
    expect(ok.stepAnalysis[PRE_PROMOTION]).toBe('Running');
    ok.stepAnalysis[PRE_PROMOTION] = 'Successful';
    ok.run();
    expect(ok.status.stableRS).toBe('h2');
    expect(ok.gateCalls.filter((t) => t === 'pre-rollout')).toHaveLength(1);

    const bad = started(['pre-rollout'], { 'pre-rollout': false }, { prePromotionAnalysis: ANALYSIS });
    bad.run();
    expect(bad.status.abort).toBe(true);
    expect(bad.selectors.active).toBe('h1');
    expect(bad.runs.get('h2')?.[PRE_PROMOTION]).toBeUndefined(); // the analysis never started
    expect(reasons(bad)).toContain('PreRolloutFailed');
    expect(bad.violations).toEqual([]);
  });

  it('confirm-promotion: holds the switch (preview up, active unmoved) until it says yes', () => {
    const w = started(['confirm-promotion'], { 'confirm-promotion': false });
    w.run(30);
    expect(w.selectors).toEqual({ active: 'h1', preview: 'h2' });
    expect(replicasOf(w, 'h2')).toBe(4);
    expect(w.status.phase).toBe('Paused');
    expect(w.status.gates?.waiting).toMatchObject({ type: 'confirm-promotion' });
    expect(w.log.at(-1)?.requeueAfterMs).toBeLessThanOrEqual(5000);
    w.gateAnswers['confirm-promotion'] = true;
    w.run();
    expect(w.selectors.active).toBe('h2');
    expect(w.status.stableRS).toBe('h2');
    expect(w.violations).toEqual([]);
  });

  it('a full promote goes past a closed confirm gate; abort wins over a held one', () => {
    const full = started(['confirm-promotion'], { 'confirm-promotion': false });
    full.run(30);
    full.status = { ...full.status, promoteFull: true };
    full.run();
    expect(full.status.stableRS).toBe('h2');

    const aborted = started(['confirm-promotion'], { 'confirm-promotion': false });
    aborted.run(30);
    aborted.status = { ...aborted.status, abort: true };
    aborted.run();
    expect(aborted.selectors.active).toBe('h1');
    expect(aborted.status.gates?.waiting).toBeUndefined();
    expect(aborted.violations).toEqual([]);
  });

  it('rollback: a 2xx aborts before the switch and after it (until the post-promotion analysis passed)', () => {
    const before = started(['rollback'], { rollback: true }, { autoPromotionEnabled: false });
    before.run();
    expect(before.status.abort).toBe(true);
    expect(reasons(before)).toContain('RollbackRequested');
    expect(before.selectors.active).toBe('h1');

    const after = started(['rollback'], { rollback: false }, { postPromotionAnalysis: ANALYSIS });
    after.run(30);
    expect(after.selectors.active).toBe('h2');
    expect(after.status.stableRS).toBe('h1'); // the post-promotion analysis still runs
    after.gateAnswers.rollback = true;
    after.run();
    expect(after.status.abort).toBe(true);
    expect(after.selectors.active).toBe('h1');
    expect(after.violations).toEqual([]);
  });

  it('rollout checks run while the revision waits for the switch: a failure aborts', () => {
    const w = started(['rollout'], { rollout: false }, { autoPromotionEnabled: false });
    w.run();
    expect(w.status.abort).toBe(true);
    expect(reasons(w)).toContain('RolloutCheckFailed');
    expect(w.selectors.active).toBe('h1');
  });

  it('property: whatever the gates answer and whenever they change, the active Service never moves while a gate holds', () => {
    const types: RolloutWebhookType[] = ['confirm-rollout', 'pre-rollout', 'rollout', 'confirm-promotion', 'rollback'];
    fc.assert(
      fc.property(fc.subarray(types), fc.array(fc.record({ type: fc.constantFrom(...types), ok: fc.boolean() }), { maxLength: 12 }), (hooks, flips) => {
        const w = started(hooks, {});
        for (const f of flips) {
          w.gateAnswers[f.type] = f.ok;
          w.run(5);
        }
        expect(w.violations).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });
});

describe('blue-green webhooks in the spec check', () => {
  const rollout = (webhooks: object[]): unknown => ({
    apiVersion: 'sluice.dev/v1alpha1', kind: 'Rollout', metadata: { name: 'web' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'web:1' }] } }, strategy: { blueGreen: { activeService: 'web', webhooks } } },
  });
  it('names the bad field: a URL that is not http(s), confirm-traffic-increase (no weights here)', () => {
    const errs = validateRollout(rollout([{ name: 'a', type: 'confirm-promotion', url: 'ftp://x' }, { name: 'b', type: 'confirm-traffic-increase', url: 'http://127.0.0.1:1/' }]) as never);
    expect(errs.map((e) => e.field)).toEqual(['spec.strategy.blueGreen.webhooks[0].url', 'spec.strategy.blueGreen.webhooks[1].type']);
  });
});

import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { RollingSyncStep } from '../../api/applicationset/schema.ts';
import { reverseDeletion, wantsReverseDeletion, type GeneratedApp } from './deletion.ts';
import { stepOf } from './rollingsync.ts';

const env = (...values: string[]): RollingSyncStep => ({ matchExpressions: [{ key: 'env', operator: 'In', values }] });
const STEPS = [env('dev'), env('staging'), env('prod')];
const app = (name: string, e: string, deleting = false): GeneratedApp => ({ name, labels: { env: e }, deleting });

describe('Reverse deletion order', () => {
  it('deletes the last step first, waits for it, then the one before; unselected Applications go before every step', () => {
    expect(reverseDeletion(STEPS, [app('web-dev', 'dev'), app('web-prod', 'prod'), app('api-prod', 'prod'), app('web-staging', 'staging')])).toEqual({ done: false, step: 2, remove: ['api-prod', 'web-prod'], waitingFor: [] });
    expect(reverseDeletion(STEPS, [app('web-dev', 'dev'), app('web-prod', 'prod', true), app('web-staging', 'staging')])).toEqual({ done: false, step: 2, remove: [], waitingFor: ['web-prod'] });
    expect(reverseDeletion(STEPS, [app('web-dev', 'dev'), app('web-staging', 'staging')])).toEqual({ done: false, step: 1, remove: ['web-staging'], waitingFor: [] });
    expect(reverseDeletion(STEPS, [app('web-dev', 'dev'), app('web-qa', 'qa')])).toEqual({ done: false, step: 3, remove: ['web-qa'], waitingFor: [] });
    expect(reverseDeletion(STEPS, [])).toEqual({ done: true });
  });

  it('never deletes an Application while one of a later step remains (property)', () => {
    const envs = ['dev', 'staging', 'prod', 'qa'];
    fc.assert(
      fc.property(fc.array(fc.record({ e: fc.constantFrom(...envs), deleting: fc.boolean() }), { maxLength: 12 }), (xs) => {
        const apps = xs.map((x, i) => app(`a${i}`, x.e, x.deleting));
        const d = reverseDeletion(STEPS, apps);
        if (d.done) return apps.length === 0;
        const stepOfName = new Map(apps.map((a) => [a.name, stepOf(STEPS, a.labels)]));
        return d.remove.every((n) => apps.every((a) => (stepOfName.get(a.name) ?? 0) <= (stepOfName.get(n) ?? 0))) && d.remove.length + d.waitingFor.length > 0;
      }),
    );
  });

  it('is wanted only with RollingSync and deletionOrder Reverse', () => {
    expect(wantsReverseDeletion({ strategy: { type: 'RollingSync', deletionOrder: 'Reverse' } })).toBe(true);
    expect(wantsReverseDeletion({ strategy: { type: 'RollingSync', deletionOrder: 'AllAtOnce' } })).toBe(false);
    expect(wantsReverseDeletion({ strategy: { type: 'RollingSync' } })).toBe(false);
    expect(wantsReverseDeletion({})).toBe(false);
  });
});

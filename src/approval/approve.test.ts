import { describe, expect, it } from '@jest/globals';
import { APPROVAL_WINDOW_MS, approvalReplayGuard, checkApproval, signApproval, type Approval } from './approve.ts';

const NOW = Date.parse('2026-12-02T20:00:00Z');
const approval: Approval = { namespace: 'shop', rollout: 'web', revision: 'abc', step: 2, timestamp: NOW / 1000 };
const body = Buffer.from(JSON.stringify(approval));
const paused = { currentPodHash: 'abc', currentStepIndex: 2, pauseConditions: [{ reason: 'CanaryPauseStep' }], controllerPause: true };
const base = { body, signature: signApproval('s3cret', body), approval, secret: 's3cret', status: paused, now: NOW, seen: new Set<string>() };

describe('signed approvals', () => {
  it('accepts a fresh request signed with the Rollout\'s secret for the pause it names', () => {
    expect(checkApproval(base)).toEqual({ ok: true });
  });

  it('refuses, all alike, a wrong or missing signature, a missing secret and a request outside the window', () => {
    const denied = { ok: false, status: 401, reason: 'not approved: bad or missing signature, or a stale request' };
    expect(checkApproval({ ...base, signature: signApproval('other', body) })).toEqual(denied);
    expect(checkApproval({ ...base, signature: undefined })).toEqual(denied);
    expect(checkApproval({ ...base, secret: undefined })).toEqual(denied);
    // A body changed after signing (another step) no longer matches its signature.
    expect(checkApproval({ ...base, body: Buffer.from(JSON.stringify({ ...approval, step: 3 })) })).toEqual(denied);
    expect(checkApproval({ ...base, now: NOW + APPROVAL_WINDOW_MS + 1000 })).toEqual(denied);
    expect(checkApproval({ ...base, now: NOW - APPROVAL_WINDOW_MS - 1000 })).toEqual(denied);
    expect(checkApproval({ ...base, now: NOW + APPROVAL_WINDOW_MS - 1000 })).toEqual({ ok: true });
  });

  it('refuses a replay, another revision or step, a rollout not paused or aborted', () => {
    const seen = approvalReplayGuard(() => NOW);
    seen.admit([base.signature]);
    expect(checkApproval({ ...base, seen })).toMatchObject({ ok: false, status: 409, reason: 'this approval was already used' });
    expect(checkApproval({ ...base, status: { ...paused, currentStepIndex: 3 } })).toMatchObject({ ok: false, status: 409, reason: 'rollout is at revision abc step 3, not abc step 2' });
    expect(checkApproval({ ...base, status: { ...paused, currentPodHash: 'def' } })).toMatchObject({ ok: false, status: 409 });
    expect(checkApproval({ ...base, status: { ...paused, pauseConditions: [] } })).toMatchObject({ ok: false, reason: 'rollout is not paused' });
    expect(checkApproval({ ...base, status: { ...paused, abort: true } })).toMatchObject({ ok: false, reason: 'rollout is aborted' });
  });

  it('forgets signatures once they are past the window', () => {
    let now = NOW;
    const seen = approvalReplayGuard(() => now);
    seen.admit(['a']);
    now = NOW + 2 * APPROVAL_WINDOW_MS + 1;
    seen.admit(['b']);
    expect([seen.has('a'), seen.has('b')]).toEqual([false, true]);
  });
});

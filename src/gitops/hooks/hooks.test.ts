import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { Manifest } from '../render/yaml.ts';
import { hookOutcome, hookSpec, hookStep, type DeletePolicy, type HookObservation } from './hooks.ts';

const job = (annotations: Record<string, string>): Manifest => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate', annotations } });

describe('hook annotations', () => {
  it("reads Argo CD's and Sluice's annotation, defaulting the delete policy to BeforeHookCreation", () => {
    expect(hookSpec(job({}))).toEqual({ kind: 'resource' });
    expect(hookSpec(job({ 'argocd.argoproj.io/hook': 'PreSync' }))).toEqual({ kind: 'hook', phases: ['PreSync'], deletePolicies: ['BeforeHookCreation'] });
    expect(hookSpec(job({ 'sluice.dev/hook': 'PreSync, PostSync', 'sluice.dev/hook-delete-policy': 'HookSucceeded,HookFailed' }))).toEqual({
      kind: 'hook',
      phases: ['PreSync', 'PostSync'],
      deletePolicies: ['HookSucceeded', 'HookFailed'],
    });
    expect(hookSpec(job({ 'argocd.argoproj.io/hook': 'Skip' }))).toEqual({ kind: 'skip', reason: 'hook Skip' });
  });

  it('refuses unknown phases and delete policies, naming them', () => {
    expect(hookSpec(job({ 'argocd.argoproj.io/hook': 'PreSnyc' }))).toEqual({ kind: 'error', message: 'hook "PreSnyc": expected PreSync, Sync, PostSync, SyncFail or Skip' });
    expect(hookSpec(job({ 'argocd.argoproj.io/hook': 'Sync', 'argocd.argoproj.io/hook-delete-policy': 'Never' }))).toMatchObject({ kind: 'error', message: expect.stringMatching(/"Never"/) });
  });

  it('maps Helm hooks as Argo CD does: pre-* → PreSync, post-* → PostSync, tests and deletes skipped, weight and delete policy kept', () => {
    expect(hookSpec(job({ 'helm.sh/hook': 'pre-install,pre-upgrade', 'helm.sh/hook-weight': '-5', 'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded' }))).toEqual({
      kind: 'hook',
      phases: ['PreSync'],
      deletePolicies: ['BeforeHookCreation', 'HookSucceeded'],
      weight: -5,
    });
    expect(hookSpec(job({ 'helm.sh/hook': 'post-install' }))).toMatchObject({ kind: 'hook', phases: ['PostSync'], deletePolicies: ['BeforeHookCreation'] });
    expect(hookSpec(job({ 'helm.sh/hook': 'test' }))).toEqual({ kind: 'skip', reason: 'Helm hook test' });
    expect(hookSpec(job({ 'helm.sh/hook': 'pre-delete' })).kind).toBe('skip');
    // Argo CD's annotation wins over Helm's.
    expect(hookSpec(job({ 'helm.sh/hook': 'pre-install', 'argocd.argoproj.io/hook': 'PostSync' }))).toMatchObject({ phases: ['PostSync'] });
  });
});

describe('hook steps', () => {
  const obs = (o: Partial<HookObservation>): HookObservation => ({ recorded: undefined, live: 'absent', outcome: 'running', deletePolicies: ['BeforeHookCreation'], ...o });

  it('creates a hook once per operation, replacing the last operation’s by default', () => {
    expect(hookStep(obs({}))).toEqual({ do: 'create', deleteOlderFirst: false, over: false });
    expect(hookStep(obs({ live: 'older' }))).toEqual({ do: 'create', deleteOlderFirst: true, over: false });
    expect(hookStep(obs({ live: 'older', deletePolicies: ['HookSucceeded'] }))).toEqual({ do: 'create', deleteOlderFirst: false, over: true });
  });

  it('waits for its own object, then deletes it by policy', () => {
    expect(hookStep(obs({ live: 'ours', recorded: 'Running' }))).toEqual({ do: 'wait' });
    expect(hookStep(obs({ live: 'ours', outcome: 'succeeded', deletePolicies: ['HookSucceeded'] }))).toEqual({ do: 'done', phase: 'Succeeded', deleteNow: true });
    expect(hookStep(obs({ live: 'ours', outcome: 'failed', deletePolicies: ['HookSucceeded'] }))).toEqual({ do: 'done', phase: 'Failed', deleteNow: false });
    expect(hookStep(obs({ live: 'ours', outcome: 'failed', deletePolicies: ['HookFailed'] }))).toEqual({ do: 'done', phase: 'Failed', deleteNow: true });
    expect(hookStep(obs({ live: 'absent', recorded: 'Running' }))).toMatchObject({ do: 'done', phase: 'Failed', message: 'deleted while running' });
  });

  it('never runs a hook twice in one operation (property)', () => {
    const policies = fc.subarray<DeletePolicy>(['BeforeHookCreation', 'HookSucceeded', 'HookFailed']);
    fc.assert(
      fc.property(
        fc.constantFrom(undefined, 'Running' as const, 'Succeeded' as const, 'Failed' as const),
        fc.constantFrom('absent' as const, 'ours' as const, 'older' as const),
        fc.constantFrom('running' as const, 'succeeded' as const, 'failed' as const),
        policies,
        (recorded, live, outcome, deletePolicies) => {
          const step = hookStep({ recorded, live, outcome, deletePolicies });
          // Created only when this operation has no record of it and no object of its own.
          if (step.do === 'create') expect(recorded === undefined && live !== 'ours').toBe(true);
          if (recorded === 'Succeeded' || recorded === 'Failed') expect(step).toEqual({ do: 'done', phase: recorded, deleteNow: false });
        },
      ),
    );
  });

  it('counts a Pod done only when it has run to completion', () => {
    expect(hookOutcome('Pod', { status: 'Healthy' }, 'Running')).toBe('running');
    expect(hookOutcome('Pod', { status: 'Healthy' }, 'Succeeded')).toBe('succeeded');
    expect(hookOutcome('Job', { status: 'Degraded' })).toBe('failed');
    expect(hookOutcome('ConfigMap', { status: 'Healthy' })).toBe('succeeded');
  });
});

// The real executable as `kubectl sluice …` (the control plane's kubectl finds bin/kubectl-sluice on PATH) against the
// real apiserver with the operator running: every rollout verb changes what it should, and status exits 0/1/2.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubeconfigPath, waitFor } from '../../test/support/cluster.ts';
import { sluice, sluiceOnTty } from '../../test/support/plugin.ts';
import { helpers, installAllCrds, rolloutManifest, runOperator, type InProcessOperator, type RolloutObj } from '../../test/support/rollouts.ts';
import { KubeConfig } from '@kubernetes/client-node';

type Spec = { spec?: { paused?: boolean; restartAt?: string; template?: { spec?: { containers?: { image?: string }[] } } } };

describe('kubectl sluice: rollout verbs', () => {
  let ns: string;
  let op: InProcessOperator;
  let apply: (m: object) => Promise<void>;
  let rollout: (name: string) => Promise<RolloutObj & Spec>;

  beforeAll(async () => {
    await installAllCrds();
    ns = await createNamespace('cli');
    op = await runOperator(ns);
    const h = helpers(ns, op.client);
    apply = h.apply;
    rollout = h.rollout;
  });

  afterAll(async () => {
    await op.stop();
    await deleteNamespace(ns);
  });

  const steps = [{ setWeight: 25 }, { pause: {} }, { setWeight: 50 }, { pause: {} }];
  const image = async (name: string): Promise<string | undefined> => (await rollout(name)).spec?.template?.spec?.containers?.[0]?.image;
  const phaseIs = (name: string, phase: string, step?: number) => async (): Promise<boolean> => {
    const s = (await rollout(name)).status;
    return s?.phase === phase && (step === undefined || s.currentStepIndex === step);
  };

  it('answers --help on every verb, and bad input with exit 64 on stderr; a missing Rollout is exit 1', async () => {
    for (const verb of [['promote'], ['abort'], ['retry'], ['pause'], ['resume'], ['restart'], ['undo'], ['set', 'image'], ['status'], ['get', 'rollout'], ['list'], ['version']]) {
      const res = await sluice([...verb, '--help']);
      expect({ verb, code: res.code, stderr: res.stderr }).toEqual({ verb, code: 0, stderr: '' });
      expect(res.stdout).toContain(`kubectl sluice ${verb.join(' ')}`);
      expect(res.stdout).toContain('-n, --namespace');
    }
    const version = await sluice(['version']);
    expect(version).toMatchObject({ code: 0, stderr: '' });
    expect(version.stdout).toMatch(/^kubectl-sluice 0\.\d+\.\d+/);

    expect(await sluice(['promote', '-n', ns])).toMatchObject({ code: 64, stdout: '', stderr: expect.stringContaining('missing ROLLOUT') });
    expect(await sluice(['promote', 'x', '--fast', '-n', ns])).toMatchObject({ code: 64, stderr: expect.stringContaining("Unknown option '--fast'") });
    expect(await sluice(['status', 'x', '--timeout', 'soon', '-n', ns])).toMatchObject({ code: 64, stderr: expect.stringContaining('--timeout: "soon" is not a duration') });
    expect(await sluice(['list', '-o', 'xml'])).toMatchObject({ code: 64, stderr: expect.stringContaining('-o/--output: "xml"') });
    expect(await sluice(['frobnicate'])).toMatchObject({ code: 64, stderr: expect.stringContaining('unknown command "frobnicate"') });
    expect(await sluice(['get', 'rollout', 'nope', '-n', ns])).toMatchObject({ code: 1, stdout: '', stderr: `error: rollouts.sluice.dev "nope" not found in namespace "${ns}"\n` });
    expect(await sluice(['promote', 'nope', '--context', 'elsewhere'])).toMatchObject({ code: 64, stderr: expect.stringContaining('--context: context "elsewhere" is not in the kubeconfig') });
  });

  it('walks a canary with set image, promote, promote --full; status exits 0 when Healthy and 2 on timeout; list and get show it', async () => {
    await apply(rolloutManifest('web', 'v1', { steps }));
    // status waits for the first revision to become Healthy.
    const healthy = await sluice(['status', 'web', '-n', ns, '--timeout', '60s']);
    expect(healthy).toMatchObject({ code: 0, stderr: '' });
    expect(healthy.stdout.trim().split('\n').at(-1)).toBe('Healthy');

    const set = await sluice(['set', 'image', 'web', 'app=registry.invalid/web:v2', '-n', ns]);
    expect(set).toEqual({ code: 0, stdout: 'rollout "web" image updated\n', stderr: '' });
    expect(await image('web')).toBe('registry.invalid/web:v2');
    await waitFor('paused at step 1', phaseIs('web', 'Paused', 1), 60_000);

    const waited = await sluice(['status', 'web', '-n', ns, '--timeout', '2s']);
    expect(waited.code).toBe(2);
    expect(waited.stdout).toBe('Paused - CanaryPauseStep\n');
    expect(waited.stderr).toContain('did not finish within 2s');

    const listed = await sluice(['list', '-n', ns]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^NAME +STRATEGY +STATUS +STEP +SET-WEIGHT +READY +DESIRED +UP-TO-DATE +AVAILABLE\nweb +Canary +Paused +1\/4 +25 +4 +4 +1 +4\n$/);
    const all = await sluice(['list', 'rollouts', '-A', '-o', 'json']);
    const items = (JSON.parse(all.stdout) as { items: RolloutObj[] }).items;
    expect(items.some((i) => i.metadata?.namespace === ns && i.metadata.name === 'web')).toBe(true);

    const view = await sluice(['get', 'rollout', 'web', '-n', ns]);
    expect(view.code).toBe(0);
    expect(view.stdout).toContain('Status:        ॥ Paused\n');
    expect(view.stdout).toContain('Step:          1/4\n');
    expect(view.stdout).toMatch(/ {2}✔ 0 {2}setWeight: 25\n {2}▶ 1 {2}pause \(until promoted\) \(paused: CanaryPauseStep\)\n/);
    expect(view.stdout).toMatch(/\n +2 +web-\w+ +canary +1\/1 +1 +registry\.invalid\/web:v2\n +1 +web-\w+ +stable +3\/3 +3 +registry\.invalid\/web:v1\n/);
    const asJson = JSON.parse((await sluice(['get', 'rollout', 'web', '-n', ns, '-o', 'json'])).stdout) as { rollout: RolloutObj; replicaSets: unknown[] };
    expect(asJson.rollout.status?.currentStepIndex).toBe(1);
    expect(asJson.replicaSets).toHaveLength(2);

    expect(await sluice(['promote', 'web', '-n', ns])).toEqual({ code: 0, stdout: 'rollout "web" promoted\n', stderr: '' });
    await waitFor('paused at step 3', phaseIs('web', 'Paused', 3), 60_000);
    expect((await rollout('web')).status?.canary?.weights?.canary?.weight).toBe(50);

    expect(await sluice(['promote', 'web', '--full', '-n', ns])).toEqual({ code: 0, stdout: 'rollout "web" fully promoted\n', stderr: '' });
    const done = await sluice(['status', 'web', '-n', ns, '--timeout', '60s']);
    expect(done.code).toBe(0);
    const r = await rollout('web');
    expect(r.status?.stableRS).toBe(r.status?.currentPodHash);
  });

  it('aborts (status exits 1), retries from step 0, pauses and resumes, restarts, undoes to the previous and to a numbered revision', async () => {
    await apply(rolloutManifest('shop', 'v1', { steps }));
    await waitFor('shop v1 Healthy', phaseIs('shop', 'Healthy'), 60_000);
    expect((await sluice(['set', 'image', 'shop', '*=registry.invalid/shop:v2', '-n', ns])).code).toBe(0);
    await waitFor('paused at step 1', phaseIs('shop', 'Paused', 1), 60_000);

    expect(await sluice(['abort', 'shop', '-n', ns])).toEqual({ code: 0, stdout: 'rollout "shop" aborted\n', stderr: '' });
    expect((await rollout('shop')).status?.abort).toBe(true);
    const aborted = await sluice(['status', 'shop', '-n', ns, '--timeout', '60s']);
    expect(aborted.code).toBe(1);
    expect(aborted.stdout).toMatch(/^Degraded - RolloutAborted/m);

    expect(await sluice(['retry', 'shop', '-n', ns])).toEqual({ code: 0, stdout: 'rollout "shop" retried\n', stderr: '' });
    expect((await rollout('shop')).status?.abort).toBe(false);
    await waitFor('paused at step 1 again', phaseIs('shop', 'Paused', 1), 60_000);

    expect(await sluice(['pause', 'shop', '-n', ns])).toEqual({ code: 0, stdout: 'rollout "shop" paused\n', stderr: '' });
    expect((await rollout('shop')).spec?.paused).toBe(true);
    await waitFor('manually paused', async () => (await rollout('shop')).status?.message === 'manually paused', 30_000);
    expect(await sluice(['resume', 'shop', '-n', ns])).toEqual({ code: 0, stdout: 'rollout "shop" resumed\n', stderr: '' });
    expect((await rollout('shop')).spec?.paused).toBe(false);
    await waitFor('back on the pause step', async () => (await rollout('shop')).status?.message === 'CanaryPauseStep', 30_000);

    // A third revision, then undo: back to the previous one (v2), then to revision 1 (v1) by number.
    expect((await sluice(['set', 'image', 'shop', 'app=registry.invalid/shop:v3', '-n', ns])).code).toBe(0);
    await waitFor('v3 paused at step 1', async () => (await rollout('shop')).status?.currentPodHash !== undefined && (await phaseIs('shop', 'Paused', 1)()), 60_000);
    await waitFor('three ReplicaSets', async () => (JSON.parse((await sluice(['get', 'rollout', 'shop', '-n', ns, '-o', 'json'])).stdout) as { replicaSets: unknown[] }).replicaSets.length === 3, 30_000);
    const undone = await sluice(['undo', 'shop', '-n', ns]);
    expect(undone).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/^rollout "shop" rolled back to revision 2 \(shop-\w+\)\n$/) });
    expect(await image('shop')).toBe('registry.invalid/shop:v2');
    expect((await rollout('shop')).spec?.template).not.toHaveProperty(['metadata', 'labels', 'rollouts-pod-template-hash']);
    expect((await sluice(['undo', 'shop', '--to-revision', '1', '-n', ns])).code).toBe(0);
    expect(await image('shop')).toBe('registry.invalid/shop:v1');
    // Going back to the stable revision skips the steps.
    expect((await sluice(['status', 'shop', '-n', ns, '--timeout', '60s'])).code).toBe(0);
    expect(await sluice(['undo', 'shop', '--to-revision', '9', '-n', ns])).toMatchObject({ code: 64, stderr: expect.stringContaining('--to-revision: no revision 9') });

    const before = Date.now();
    expect((await sluice(['restart', 'shop', '-n', ns])).stdout).toMatch(/^rollout "shop" restarts its pods from /);
    const at = (await rollout('shop')).spec?.restartAt;
    expect(Date.parse(at ?? '')).toBeGreaterThanOrEqual(before - 1000);
    await waitFor('restartedAt recorded', async () => (await rollout('shop')).status?.restartedAt === at, 60_000);
  });

  it('promote on a Rollout paused by "pause" mid-step unpauses and skips the step, as Argo; --full unpauses too', async () => {
    await apply(rolloutManifest('stuck', 'v1', { steps }));
    await waitFor('stuck v1 Healthy', phaseIs('stuck', 'Healthy'), 60_000);
    // v2's pods never become Ready: the canary stays on its setWeight step (0), with no pause condition.
    await apply(rolloutManifest('stuck', 'v2', { steps }, { 'sluice.dev/test-unready': 'true' }));
    await waitFor('v2 on step 0', async () => {
      const r = await rollout('stuck');
      return r.status?.currentPodHash !== r.status?.stableRS && r.status?.currentStepIndex === 0;
    }, 60_000);
    expect((await sluice(['pause', 'stuck', '-n', ns])).code).toBe(0);
    await waitFor('manually paused', async () => (await rollout('stuck')).status?.message === 'manually paused', 30_000);
    expect((await rollout('stuck')).status?.pauseConditions ?? []).toEqual([]);

    expect(await sluice(['promote', 'stuck', '-n', ns])).toEqual({ code: 0, stdout: 'rollout "stuck" promoted: skipped step 0 (unpaused)\n', stderr: '' });
    expect((await rollout('stuck')).spec?.paused).toBe(false);
    await waitFor('on the pause step 1', phaseIs('stuck', 'Paused', 1), 30_000);
    expect((await rollout('stuck')).status?.message).toBe('CanaryPauseStep');

    // Paused by "pause" again: --full alone would leave it paused (the operator skips nothing while spec.paused).
    expect((await sluice(['pause', 'stuck', '-n', ns])).code).toBe(0);
    expect(await sluice(['promote', 'stuck', '--full', '-n', ns])).toEqual({ code: 0, stdout: 'rollout "stuck" fully promoted\n', stderr: '' });
    const r = await rollout('stuck');
    expect(r.spec?.paused).toBe(false);
    expect((r.status as { promoteFull?: boolean } | undefined)?.promoteFull).toBe(true);
    await waitFor('past the steps', async () => (await rollout('stuck')).status?.currentStepIndex === steps.length, 30_000);
  });

  it('numbers revisions by the annotation the operator stamps: undo --to-revision still means the same one after old ReplicaSets are deleted', async () => {
    const limited = (version: string): object => {
      const m = rolloutManifest('hist', version, { steps: [] }) as { spec: Record<string, unknown> };
      return { ...m, spec: { ...m.spec, revisionHistoryLimit: 1 } };
    };
    type Listing = { replicaSets: { metadata: { name: string; annotations?: Record<string, string> }; spec: { template: { spec: { containers: { image: string }[] } } } }[] };
    const listing = async (): Promise<Listing['replicaSets']> => (JSON.parse((await sluice(['get', 'rollout', 'hist', '-n', ns, '-o', 'json'])).stdout) as Listing).replicaSets;
    for (const v of ['v1', 'v2', 'v3']) {
      // ReplicaSets a second apart: the operator's history pruning orders them by creationTimestamp (whole seconds).
      await new Promise((r) => setTimeout(r, 1100));
      await apply(limited(v));
      await waitFor(`hist ${v} Healthy`, async () => (await image('hist')) === `registry.invalid/hist:${v}` && (await phaseIs('hist', 'Healthy')()) && (await rollout('hist')).status?.stableRS === (await rollout('hist')).status?.currentPodHash, 60_000);
    }
    // v1's ReplicaSet is deleted (one old revision kept): by creation order v2 would now be "1" and v3 "2".
    await waitFor('two ReplicaSets left', async () => (await listing()).length === 2, 60_000);
    const byRevision = Object.fromEntries((await listing()).map((x): [string, string | undefined] => [x.metadata.annotations?.['rollout.argoproj.io/revision'] ?? '?', x.spec.template.spec.containers[0]?.image]));
    expect(byRevision).toEqual({ '2': 'registry.invalid/hist:v2', '3': 'registry.invalid/hist:v3' });

    const view = /\n +3 +hist-\w+ +stable +4\/4 +4 +registry\.invalid\/hist:v3\n +2 +hist-\w+ +- +0\/0 +0 +registry\.invalid\/hist:v2\n/;
    await waitFor('get rollout shows revisions 3 and 2', async () => view.test((await sluice(['get', 'rollout', 'hist', '-n', ns])).stdout), 30_000);
    expect(await sluice(['undo', 'hist', '--to-revision', '1', '-n', ns])).toMatchObject({ code: 64, stderr: expect.stringContaining('--to-revision: no revision 1 (the Rollout keeps revisions 2, 3)') });
    expect(await sluice(['undo', 'hist', '--to-revision', '2', '-n', ns])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^rollout "hist" rolled back to revision 2 \(hist-\w+\)\n$/) });
    expect(await image('hist')).toBe('registry.invalid/hist:v2');
  });

  it('uses --kubeconfig and the context namespace like kubectl, and -o yaml', async () => {
    // A kubeconfig whose context namespace is the test namespace: no -n needed.
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath());
    const current = kc.getCurrentContext();
    const contexts = kc.getContexts().map((c) => (c.name === current ? { ...c, namespace: ns } : c));
    const path = join(tmpdir(), `sluice-cli-${ns}.kubeconfig`);
    await writeFile(path, stringify({ ...JSON.parse(kc.exportConfig()), contexts: contexts.map((c) => ({ name: c.name, context: { cluster: c.cluster, user: c.user, namespace: c.namespace } })) }));
    const res = await sluice(['list', '--kubeconfig', path, '-o', 'yaml'], { env: { KUBECONFIG: '/nonexistent' } });
    expect(res.stderr).toBe('');
    expect(res.stdout).toMatch(/^apiVersion: v1\nkind: List\nitems:\n/);
    expect(res.stdout).toContain('name: web');
    expect(res.stdout).toContain(`namespace: ${ns}`);
    const byContext = await sluice(['list', `--context=${current}`, '--kubeconfig', path]);
    expect(byContext.stdout).toMatch(/\nweb +Canary +Healthy/);
  });

  it('get --watch: redraws in place on a pseudo-terminal, prints each change as plain lines otherwise', async () => {
    await apply(rolloutManifest('live', 'v1', { steps }));
    await waitFor('live v1 Healthy', phaseIs('live', 'Healthy'), 60_000);
    expect((await sluice(['set', 'image', 'live', 'app=registry.invalid/live:v2', '-n', ns])).code).toBe(0);
    await waitFor('paused at step 1', phaseIs('live', 'Paused', 1), 60_000);

    // Both watches run while the Rollout moves from step 1 to the pause at step 3.
    const plain = sluice(['get', 'rollout', 'live', '-w', '--timeout', '12s', '-n', ns]);
    const tty = sluiceOnTty(['get', 'rollout', 'live', '--watch', '--timeout', '12s', '-n', ns]);
    await new Promise((r) => setTimeout(r, 4000));
    expect((await sluice(['promote', 'live', '-n', ns])).code).toBe(0);
    await waitFor('paused at step 3', phaseIs('live', 'Paused', 3), 30_000);

    const p = await plain;
    expect(p).toMatchObject({ code: 0, stderr: '' });
    expect(p.stdout).not.toContain('\u001b');
    // Frames are separated by a blank line; the first shows step 1, a later one step 3.
    const frames = p.stdout.split('\n\nName:').length;
    expect(frames).toBeGreaterThanOrEqual(2);
    expect(p.stdout).toMatch(/▶ 1 {2}pause \(until promoted\)/);
    expect(p.stdout).toMatch(/✔ 2 {2}setWeight: 50\n {2}▶ 3 {2}pause \(until promoted\)/);
    expect(p.stdout.indexOf('▶ 1  pause')).toBeLessThan(p.stdout.lastIndexOf('▶ 3  pause'));

    const t = await tty;
    expect(t.code).toBe(0);
    expect(t.stdout.startsWith('\u001b[?25l')).toBe(true); // cursor hidden while drawing
    // eslint-disable-next-line no-control-regex -- the terminal's escape sequences are what is tested
    expect(t.stdout).toMatch(/\u001b\[\d+F\u001b\[J/); // later frames: cursor up over the last one, clear below
    expect(t.stdout.trimEnd().endsWith('\u001b[?25h')).toBe(true); // cursor back at the end
    expect(t.stdout).toContain('▶ 3  pause (until promoted)');
    // Each redraw moves up exactly as many lines as the frame before it had.
    // eslint-disable-next-line no-control-regex -- as above
    const redraws = [...t.stdout.matchAll(/\u001b\[(\d+)F\u001b\[J/g)];
    const firstFrame = t.stdout.slice('\u001b[?25l'.length, redraws[0]?.index ?? 0);
    expect(Number(redraws[0]?.[1])).toBe(firstFrame.split('\r\n').length - 1);

    // Ctrl-C ends a watch at once, with the exit code a shell reports for SIGINT.
    const interrupted = await sluice(['get', 'rollout', 'live', '-w', '-n', ns], { interruptAfterMs: 3000 });
    expect(interrupted.code).toBe(130);
    expect(interrupted.stdout).toContain('▶ 3  pause (until promoted)');
  });
});

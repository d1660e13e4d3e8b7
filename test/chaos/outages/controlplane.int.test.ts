// The kube-apiserver, then etcd, stopped while several Rollouts (canaries on the Gateway API and blue-green) are
// mid-rollout and several Applications are syncing from the real Git server (prune, self-heal; one pushed a new
// revision during the outage, found by the operator's own poll). A control plane of this test's own: the shared one
// must stay up for the tests running beside it. The operator process never exits, resumes after the return (the
// canaries' pauses and the blue-green auto-promotions expire during the outage), every Rollout ends promoted and
// every Application Synced/Healthy at its last commit, and the observer (../observer) sees no invariant broken. ~10 s
// each in `npm test`; `npm run chaos` sets SLUICE_CHAOS_APISERVER_DOWN=30 and SLUICE_CHAOS_ETCD_DOWN=30;
// SLUICE_CHAOS_OUTAGE_CANARIES, _BLUEGREEN and _APPS size the workload (7, 3, 5).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import type { KubeObject } from '../../../src/kube/client.ts';
import { R } from '../../../src/kube/resource.ts';
import { REFRESH_ANNOTATION } from '../../../src/gitops/sync-shared.ts';
import { startControlPlane, type ControlPlane } from '../../cluster/controlplane.ts';
import { CLUSTER_ENV } from '../../cluster/env.ts';
import { upstreamCrdDir } from '../../crds/upstream.ts';
import { waitFor } from '../../support/cluster.ts';
import { startGitServer, type GitServer } from '../../support/git-server.ts';
import { testClient } from '../../support/operator.ts';
import { startOperator, type OperatorProcess } from '../../support/operator-process.ts';
import { stepHistoryProblems } from '../observer/check.ts';
import { observe } from '../observer/follow.ts';
import { AppWorkload } from '../kills/apps.ts';
import { blueGreen } from './scale.ts';
import { apply, canary, canaryWeight, getRollout, promoted, say, writeOutage, type Kubectl, type RolloutObj } from './support.ts';

const OUTAGES = [
  { component: 'kube-apiserver', downS: Number(process.env.SLUICE_CHAOS_APISERVER_DOWN ?? 10), file: 'outage-apiserver.json' },
  { component: 'etcd', downS: Number(process.env.SLUICE_CHAOS_ETCD_DOWN ?? 10), file: 'outage-etcd.json' },
];
const CANARIES = Number(process.env.SLUICE_CHAOS_OUTAGE_CANARIES ?? 7);
const BLUEGREEN = Number(process.env.SLUICE_CHAOS_OUTAGE_BLUEGREEN ?? 3);
const APPS = Number(process.env.SLUICE_CHAOS_OUTAGE_APPS ?? 5);
// Long enough for every canary to be in it when the component stops, shorter than the outage.
const STEPS = [{ setWeight: 20 }, { pause: { duration: '10s' } }, { setWeight: 40 }, { pause: { duration: '1s' } }];
const AUTO_PROMOTION_S = 10;

type Svc = KubeObject & { spec?: { selector?: Record<string, string> } };
const canaryNames = Array.from({ length: CANARIES }, (_v, i) => `web-${i}`);
const bgNames = Array.from({ length: BLUEGREEN }, (_v, i) => `bg-${i}`);
const manifests = (v: number): object[] => [...canaryNames.flatMap((n) => canary(n, v, STEPS)), ...bgNames.flatMap((n) => blueGreen(n, v, AUTO_PROMOTION_S))];
const rollouts = (v: number): object[] => manifests(v).filter((m) => (m as { kind: string }).kind === 'Rollout');
const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)] ?? NaN;
const round = (x: number): number => Math.round(x * 100) / 100;

describe(`chaos: control-plane outages with ${CANARIES} canaries, ${BLUEGREEN} blue-green Rollouts and ${APPS} Applications in flight`, () => {
  let cp: ControlPlane;
  let op: OperatorProcess;
  let git: GitServer;
  let apps: AppWorkload;
  const exits: (number | null)[] = [];
  const ns = 'default';
  let version = 1;

  beforeAll(async () => {
    cp = await startControlPlane({ binDir: process.env[CLUSTER_ENV.binDir] ?? '', nodes: 1 });
    for (const dir of [join(import.meta.dirname, '..', '..', '..', 'crds'), upstreamCrdDir()]) {
      await cp.kubectl(['apply', '--server-side', '-f', dir]);
      await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', dir]);
    }
    git = await startGitServer();
    op = await startOperator(cp.kubeconfig, 'chaos-controlplane', ['--log-level=warn']);
    void op.exited.then((c) => exits.push(c));
  }, 180_000);
  afterAll(async () => {
    await apps?.stop();
    op.kill('SIGTERM');
    await op.exited;
    await git?.close();
    await cp.stop();
  }, 120_000);

  it.each(OUTAGES)('$component stopped $downS s mid-rollout and mid-sync: the operator stays up, everything resumes, no invariant broken', async ({ component, downS, file }) => {
    const { client } = testClient(cp.kubeconfig);
    // cp.kubectl throws on failure (with kubectl's stderr); apply() wants kubectl's result.
    const kubectl: Kubectl = async (args, input) => ({ stdout: await cp.kubectl(args, input), stderr: '', code: 0 });
    const all = [...canaryNames, ...bgNames];
    const get = (n: string): Promise<RolloutObj> => getRollout(client, ns, n);
    if (apps === undefined) {
      await apply(kubectl, ns, manifests(version));
      apps = new AppWorkload({ ns, client, kubectl, git, count: APPS });
      await apps.setUp();
    }
    await waitFor('every Rollout Healthy on its revision', async () => (await Promise.all(all.map(async (n) => promoted(await get(n))))).every(Boolean), 180_000, 250);
    await waitFor('every Application synced', async () => (await Promise.all(apps.names.map((a) => apps.settled(a)))).every(Boolean), 120_000, 250);
    const observation = observe(client, ns);
    try {
      // In flight: every Rollout given its next revision, every Application a new commit (refreshed, as a webhook
      // does) and one drifted by hand.
      version++;
      await apply(kubectl, ns, rollouts(version));
      for (const a of apps.names) {
        await apps.push(a);
        await kubectl(['annotate', '--overwrite', '-n', ns, `applications.sluice.dev/${a}`, `${REFRESH_ANNOTATION}=${Date.now()}`]);
      }
      await apps.drift(apps.names[1 % APPS]!);
      // Stop once every Rollout has begun its new revision: each canary in its first pause (20% on the new revision)
      // or past it, each blue-green preview up. (On a loaded machine the first may finish before the last begins:
      // how many were still mid-rollout at the stop is recorded.)
      const begun = async (n: string): Promise<'mid' | 'done' | undefined> => {
        const r = await get(n);
        if (promoted(r)) return 'done';
        if (canaryNames.includes(n)) return (r.status?.currentStepIndex ?? 0) >= 1 ? 'mid' : undefined;
        const bg = (r.status as { blueGreen?: { previewSelector?: string } } | undefined)?.blueGreen;
        return bg?.previewSelector === r.status?.currentPodHash ? 'mid' : undefined;
      };
      let states: ('mid' | 'done' | undefined)[] = [];
      await waitFor('every Rollout on its way to its new revision', async () => (states = await Promise.all(all.map(begun))).every((x) => x !== undefined), 120_000, 100);
      const midRolloutAtStop = states.filter((x) => x === 'mid').length;
      const atStop = Object.fromEntries(await Promise.all(all.map(async (n) => [n, (await get(n)).status?.currentStepIndex ?? null] as const)));
      const unsyncedAtStop = (await Promise.all(apps.names.map(async (a) => ((await apps.settled(a)) ? undefined : a)))).filter((a) => a !== undefined);
      const failures = async (): Promise<number> => (await op.metric('sluice_apiserver_requests_total', 'code="error"')) + (await op.metric('sluice_apiserver_requests_total', 'code="5xx"'));
      const errorsBefore = await failures();
      say(`${component} down for ${downS} s (Rollouts mid-rollout: ${midRolloutAtStop} of ${all.length}; Applications not yet synced: ${unsyncedAtStop.join(', ') || 'none'})`);
      // During the outage: app-0 gets another commit, which only the operator's poll can find.
      const stopping = cp.restart(component, downS * 1000);
      await new Promise((r) => setTimeout(r, Math.min(2000, (downS * 1000) / 2)));
      await apps.push(apps.names[0]!);
      await stopping;
      const backAt = Date.now();
      say(`${component} back`);
      const figures = await resumeTimes(backAt, all, get, atStop);
      const resumeS = Math.max(...Object.values(figures.rolloutResumeS));
      say(`${component}: ${JSON.stringify(figures)}`);

      // End states: canaries promoted with weight 0, blue-green active on the new revision, Applications at their last commit.
      const wrong: string[] = [];
      for (const n of canaryNames) if ((await canaryWeight(client, ns, n)) !== 0) wrong.push(`${n}: canary weight not 0`);
      for (const n of bgNames) {
        const r = await get(n);
        const active = (await client.get<Svc>(R.service, ns, `${n}-active`)).spec?.selector?.['rollouts-pod-template-hash'];
        if (active !== r.status?.stableRS || r.status?.stableRS !== r.status?.currentPodHash) wrong.push(`${n}: active Service on ${active}, stable ${r.status?.stableRS}, current ${r.status?.currentPodHash}`);
      }
      for (const a of apps.names) wrong.push(...(await apps.problems(a)));
      expect(wrong).toEqual([]);
      expect({ exits, exitCode: op.child.exitCode }).toEqual({ exits: [], exitCode: null }); // the same process throughout
      // It did see the outage. (Without etcd the apiserver held the operator's requests until etcd returned rather
      // than failing them: no failed request to count, so only the apiserver's outage is proved this way.)
      if (component === 'kube-apiserver') expect(await failures()).toBeGreaterThan(errorsBefore);

      await new Promise((r) => setTimeout(r, 1000));
      await observation.stop();
      const { violations, histories } = observation.checker.check();
      const problems = stepHistoryProblems(histories, (r) => (canaryNames.includes(r) ? STEPS : undefined));
      expect({ violations, problems }).toEqual({ violations: [], problems: [] });
      for (const n of canaryNames) expect(histories.filter((h) => h.rollout === n).map((h) => h.outcome)).toContain('promoted');
      const gitops = apps.violations();
      expect(gitops).toEqual([]);
      writeOutage(file, { name: `${component} stopped ${downS} s (${CANARIES} canaries, ${BLUEGREEN} blue-green, ${APPS} Applications)`, downS, resumeS, details: { ...figures, rollouts: all.length, midRolloutAtStop, applications: APPS, unsyncedAtStop, violations: violations.length + gitops.length, configMapEvents: apps.observedEvents } });
    } finally {
      await observation.stop();
    }
  }, 15 * 60_000);

  /** From the return: each Rollout's next step and promotion, each Application synced at its last commit (app-0: the commit pushed during the outage). */
  async function resumeTimes(backAt: number, all: string[], get: (n: string) => Promise<RolloutObj>, atStop: Record<string, number | null>): Promise<{ apiserverAnswersS: number; rolloutResumeS: Record<string, number>; rolloutPromotedS: Record<string, number>; appSyncedS: Record<string, number>; p50ResumeS: number; maxPromotedS: number; maxAppSyncedS: number }> {
    let apiserverAnswersS: number | undefined;
    const rolloutResumeS: Record<string, number> = {};
    const rolloutPromotedS: Record<string, number> = {};
    const appSyncedS: Record<string, number> = {};
    const since = (): number => round((Date.now() - backAt) / 1000);
    await waitFor('every Rollout promoted and every Application synced after the return', async () => {
      try {
        for (const n of all.filter((x) => rolloutPromotedS[x] === undefined)) {
          const r = await get(n);
          apiserverAnswersS ??= since();
          // Resumed: the canary left the step it was in at the stop; a blue-green Rollout switched (promoted).
          if (rolloutResumeS[n] === undefined && ((r.status?.currentStepIndex ?? null) !== atStop[n] || promoted(r))) rolloutResumeS[n] = since();
          if (promoted(r)) rolloutPromotedS[n] = since();
        }
        for (const a of apps.names.filter((x) => appSyncedS[x] === undefined)) if (await apps.settled(a)) appSyncedS[a] = since();
      } catch {
        return false; // the apiserver still finding etcd again
      }
      return Object.keys(rolloutPromotedS).length === all.length && Object.keys(appSyncedS).length === apps.names.length;
    }, 240_000, 100);
    const resumes = Object.values(rolloutResumeS);
    return { apiserverAnswersS: apiserverAnswersS ?? NaN, rolloutResumeS, rolloutPromotedS, appSyncedS, p50ResumeS: quantile(resumes, 0.5), maxPromotedS: Math.max(...Object.values(rolloutPromotedS)), maxAppSyncedS: Math.max(...Object.values(appSyncedS)) };
  }
});

// The kill campaign against the real control plane and a real Prometheus (short in `npm test`, 20 kills as the issue asks; `npm run chaos` sets
// SLUICE_CHAOS_KILLS=200 and more Rollouts), and the proof that its observer can fail: an invariant broken on purpose
// on the real apiserver is caught, with the event that shows it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubeconfigPath, kubectl, waitFor } from '../../support/cluster.ts';
import { installAllCrds } from '../../support/rollouts.ts';
import { testClient } from '../../support/operator.ts';
import { PrometheusServer } from '../../prometheus/harness.ts';
import { startGitServer, type GitServer } from '../../support/git-server.ts';
import { observe } from '../observer/follow.ts';
import { percentile, runKillCampaign } from './campaign.ts';

const env = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);
const KILLS = env('SLUICE_CHAOS_KILLS', 20);
const HEALTHY = env('SLUICE_CHAOS_HEALTHY', 4);
const FAILING = env('SLUICE_CHAOS_FAILING', 2);
const BLUE_GREEN = env('SLUICE_CHAOS_BLUEGREEN', 1);
const APPS = env('SLUICE_CHAOS_APPS', 2);
const DEFAULT_LEASE_KILLS = env('SLUICE_CHAOS_DEFAULT_LEASE_KILLS', 0);
const LEASE = (process.env.SLUICE_CHAOS_LEASE ?? '2,1.5,0.25').split(',').map(Number) as [number, number, number];
const say = (line: string): void => void process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

describe('chaos: leader kills', () => {
  const { client } = testClient();
  let prometheus: PrometheusServer;
  let git: GitServer;
  const namespaces: string[] = [];

  beforeAll(async () => {
    [prometheus, git] = await Promise.all([PrometheusServer.start([]), startGitServer(), installAllCrds()]);
  });
  afterAll(async () => {
    await prometheus.stop();
    await git.close();
    for (const ns of namespaces) await deleteNamespace(ns);
  });

  async function campaign(kills: number, lease: [number, number, number], file: string): Promise<void> {
    const ns = await createNamespace('chaos-kills');
    namespaces.push(ns);
    const r = await runKillCampaign({ ns, client, kubeconfig: kubeconfigPath(), kubectl, prometheusUrl: prometheus.url, kills, healthy: HEALTHY, failing: FAILING, blueGreen: BLUE_GREEN, apps: APPS, git, lease, killWindowMs: [300, 2500], say });
    const summary = { ...r, takeoverP50S: Math.round(percentile(r.takeoverMs, 50) ?? 0) / 1000, takeoverP99S: Math.round(percentile(r.takeoverMs, 99) ?? 0) / 1000, leaseSeconds: lease };
    mkdirSync('test-results/chaos', { recursive: true });
    writeFileSync(`test-results/chaos/${file}`, JSON.stringify(summary, null, 2));
    say(`kills ${r.kills}, violations ${r.violations.length}, step problems ${r.stepProblems.length}, wrong end states ${r.wrongEndStates.length}, revisions ${JSON.stringify(r.revisions)}, blue-green revisions ${r.blueGreenRevisions}, gitops ${JSON.stringify(r.gitops)}, takeover p50 ${summary.takeoverP50S} s p99 ${summary.takeoverP99S} s, measurements ${JSON.stringify(r.measurements)}, events ${r.observedEvents}`);
    expect({ violations: r.violations, stepProblems: r.stepProblems, wrongEndStates: r.wrongEndStates, unexpectedExits: r.unexpectedExits, measurements: { lost: r.measurements.lost, doubleCounted: r.measurements.doubleCounted } })
      .toEqual({ violations: [], stepProblems: [], wrongEndStates: [], unexpectedExits: [], measurements: { lost: 0, doubleCounted: 0 } });
    expect(r.kills).toBe(kills);
    // The campaign meant something: revisions of both kinds went through while the leader was being killed.
    expect(r.revisions.promoted).toBeGreaterThan(0);
    expect(r.revisions.aborted).toBeGreaterThan(0);
    // The observer saw the weights of every canary on its router (HTTPRoute, VirtualService, canary Ingress).
    expect(r.unobservedCanaries).toEqual([]);
    if (BLUE_GREEN > 0) expect(r.blueGreenRevisions).toBeGreaterThan(0);
    if (APPS > 0) expect(r.gitops.revisions).toBeGreaterThan(0);
    if (APPS > 0) expect(r.gitops.drifts).toBeGreaterThan(0);
    // Every kill was taken over. How fast is a figure (reported above and by npm run chaos), never asserted: on a shared
    // machine a timed assertion fails on load, not on a fault.
    expect(r.takeoverMs).toHaveLength(kills);
    expect(r.takeoverMs.every((ms) => Number.isFinite(ms) && ms > 0)).toBe(true);
  }

  it(`${KILLS} SIGKILLs of the leader amid ${HEALTHY + FAILING} canary (Gateway API, Istio, NGINX) and ${2 * BLUE_GREEN} blue-green Rollouts and ${APPS} Applications: no invariant broken, every Rollout ends as its analysis says, every kill taken over`, () => campaign(KILLS, LEASE, 'kills.json'), 60 * 60_000);

  // `npm run chaos` also reports takeover with the chart's default timings (15 s lease, 10 s renew, 2 s retry).
  (DEFAULT_LEASE_KILLS > 0 ? it : it.skip)(`${DEFAULT_LEASE_KILLS} SIGKILLs with the chart's default lease timings`, () => campaign(DEFAULT_LEASE_KILLS, [15, 10, 2], 'kills-default.json'), 60 * 60_000);

  it('the observer catches an invariant broken on purpose on the real apiserver (a weight left on an aborted canary)', async () => {
    const ns = await createNamespace('chaos-observer');
    namespaces.push(ns);
    const obs = observe(client, ns);
    const apply = async (m: object): Promise<void> => {
      expect((await kubectl(['apply', '--server-side', '-n', ns, '-f', '-'], stringify(m))).stderr).toBe('');
    };
    await apply({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'web' }, spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'web-stable', port: 80, weight: 100 }, { name: 'web-canary', port: 80, weight: 0 }] }] } });
    await apply({ apiVersion: 'sluice.dev/v1alpha1', kind: 'Rollout', metadata: { name: 'web' }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'x' }] } }, strategy: { canary: { canaryService: 'web-canary', stableService: 'web-stable', trafficRouting: { gatewayAPI: { httpRoute: 'web' } }, steps: [{ setWeight: 20 }, { pause: {} }] } } } });
    expect((await kubectl(['patch', 'rollouts.sluice.dev', 'web', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { abort: true, currentStepIndex: 1, phase: 'Degraded' } })])).stderr).toBe('');
    // The bad write: 30% to the canary of an aborted Rollout.
    expect((await kubectl(['patch', 'httproutes.gateway.networking.k8s.io', 'web', '-n', ns, '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 30 }])])).stderr).toBe('');
    await waitFor('the observer to see the bad write', () => Promise.resolve(obs.checker.check().violations.length > 0), 15_000);
    await obs.stop();
    const v = obs.checker.check().violations;
    // Two invariants broken by the one write: weight on an aborted canary, and traffic to a Service with no pods.
    expect(v.map((x) => [x.invariant, x.rollout, x.message])).toEqual([
      ['1 weight ≤ step', 'web', 'canary weight 30 above the 0 of an aborted rollout'],
      ['2 traffic → ready pods', 'web', 'canary weight 30 on Service web-canary whose selector (none) has no available pods'],
    ]);
    for (const x of v) expect(x.event).toMatch(/^HTTPRoute\/web rv \d+ MODIFIED$/);
  }, 60_000);
});

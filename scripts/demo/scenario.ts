// The demo's story, run by `npm run demo` and by test/e2e/demo.int.test.ts alike: the initial sync, a good release
// promoted by its analysis, a bad release aborted by its analysis with nobody touching it, and a `git revert` that
// brings the stable revision back. Each stage waits on what the apiserver says and reports what it saw; it
// never steers the Rollout (no promote, no abort): the only inputs are Git commits.
import type { KubeObject } from '../../src/kube/client.ts';
import { R } from '../../src/kube/resource.ts';
import { imageTag, type Release } from './repo.ts';
import { APP_NAME, type Stack } from './stack.ts';
import { LiveView, shortValue } from './view.ts';
import type { PlaneKind, VersionTraffic } from './plane.ts';
import { isCanary, splitLine, type SplitSegment } from './split.ts';

export type Outcome = 'promoted' | 'aborted' | 'restored';

type RolloutStatusRead = {
  phase?: string;
  message?: string;
  abort?: boolean;
  stableRS?: string;
  currentPodHash?: string;
  currentStepIndex?: number;
  canary?: { weights?: { canary?: { weight?: number } } };
};
type RolloutRead = KubeObject & { spec?: { strategy?: { canary?: { steps?: unknown[] } } }; status?: RolloutStatusRead };
type AppRead = KubeObject & { status?: { sync?: { status?: string; revision?: string }; health?: { status?: string } } };
type EventRead = KubeObject & { reason?: string; message?: string; lastTimestamp?: string; source?: { component?: string } };
type ManagedField = { manager?: string; operation?: string; subresource?: string; fieldsV1?: { 'f:status'?: Record<string, unknown> } };
type RunRead = KubeObject & {
  status?: { phase?: string; message?: string; metricResults?: { name: string; phase: string; measurements?: { phase: string; value?: string }[] }[] };
};

export interface AnalysisSeen {
  run: string;
  phase: string;
  metrics: { name: string; phase: string; values: string[] }[];
}

export interface StageReport {
  name: string;
  /** The commit that started the stage (short SHA) and what it changed. */
  commit: string;
  change: string;
  expected: Outcome;
  outcome: Outcome | 'timeout';
  /** Commit pushed → the Application synced to it. */
  syncSeconds: number;
  /** Commit pushed → the outcome. */
  seconds: number;
  /** The pod-template hash Git's revision produced, and the stable one at the end. */
  revision: string;
  stableRS: string;
  /** Step indices the Rollout was seen at during the stage, in order. */
  stepsSeen: number[];
  maxCanaryWeight: number;
  canaryWeightAtEnd: number;
  phaseAtEnd: string;
  message: string;
  /** The AnalysisRuns created for this stage's revision during the stage. */
  analysis: AnalysisSeen[];
  /** The Rollout's Events during the stage, as "Reason: message" (who decided what). */
  events: string[];
  /** Field managers that have written the Rollout's status.abort (only Sluice's own controller, when it aborted on its own). */
  abortWriters: string[];
  /** The revisions the data plane runs processes of at the end (ReplicaSet names). */
  runningAtEnd: string[];
  /** Requests each version answered (last seconds), and how many of them were errors, at the end of the stage. */
  traffic: VersionTraffic[];
  /**
   * The real plane only: every request the load generator sent during the stage, by the version that answered
   * ("" = no app process answered), and the split measured at each canary weight Sluice wrote.
   */
  clients: VersionTraffic[] | undefined;
  splits: SplitSegment[];
}

export interface ScenarioReport {
  /** Which data plane carried the traffic (the summary says so). */
  plane: PlaneKind;
  initialSyncSeconds: number;
  stages: StageReport[];
  totalSeconds: number;
  /** Each stage ended as expected. */
  ok: boolean;
}

export interface ScenarioOptions {
  /** Terminal: redraw the live view in place, within the terminal's size. */
  tty: boolean;
  size?: () => { rows?: number; columns?: number };
  write: (text: string) => void;
  t0: number;
  /** Per stage (default 180 s). */
  stageTimeoutMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const RELEASES: { good: Release; bad: Release } = {
  good: { tag: '1.1.0' },
  bad: { tag: '1.2.0', env: { ERROR_RATE: '0.3' } },
};

export async function runScenario(stack: Stack, o: ScenarioOptions): Promise<ScenarioReport> {
  const { client } = stack;
  const ns = stack.opts.namespace;
  const started = Date.now();
  const timeout = o.stageTimeoutMs ?? 180_000;
  const rollout = (): Promise<RolloutRead | undefined> => client.get<RolloutRead>(R.rollout, ns, APP_NAME).catch(() => undefined);
  const app = (): Promise<AppRead | undefined> => client.get<AppRead>(R.application, stack.opts.appNamespace, APP_NAME).catch(() => undefined);
  const runsOf = async (hash: string): Promise<RunRead[]> =>
    (await client.list<RunRead>(R.analysisRun, ns, { labelSelector: `sluice.dev/rollout=${APP_NAME},rollouts-pod-template-hash=${hash}` })).items;
  const events = async (since: number): Promise<string[]> =>
    (await client.list<EventRead>(R.event, ns, { fieldSelector: `involvedObject.kind=Rollout,involvedObject.name=${APP_NAME}` })).items
      .filter((e) => Date.parse(e.lastTimestamp ?? '') >= since - 1000)
      .sort((a, b) => (a.lastTimestamp ?? '').localeCompare(b.lastTimestamp ?? ''))
      .map((e) => `${e.reason ?? ''}: ${e.message ?? ''}`);
  const abortWriters = async (): Promise<string[]> => {
    const r = await client.get<KubeObject & { metadata: { managedFields?: ManagedField[] } }>(R.rollout, ns, APP_NAME);
    return (r.metadata.managedFields ?? []).filter((m) => m.fieldsV1?.['f:status']?.['f:abort'] !== undefined).map((m) => m.manager ?? '');
  };
  const view = new LiveView({ client, namespace: ns, rollout: APP_NAME, plane: stack.plane, write: o.write, tty: o.tty, t0: o.t0, ...(o.size !== undefined ? { size: o.size } : {}) });
  const say = (l: string): void => view.log(l);

  async function until<T>(what: string, check: () => Promise<T | undefined>, ms = timeout): Promise<T | undefined> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const v = await check();
      if (v !== undefined) return v;
      await sleep(250);
    }
    say(`timed out after ${ms / 1000}s waiting for ${what}`);
    return undefined;
  }

  stack.setLog(say);
  try {
    return await story();
  } finally {
    await view.stop(); // a stage that threw leaves no timer behind
    stack.setLog(stack.opts.say);
  }

  async function story(): Promise<ScenarioReport> {
    // 0. The Application as a person applies it; the first sync deploys 1.0.0 straight to stable.
    view.start();
    const t0 = Date.now();
    await stack.applyApplication();
    const first = await until('the first sync: Application Synced and Healthy, Rollout Healthy, the data plane serving it', async () => {
      const [a, r] = await Promise.all([app(), rollout()]);
      const serving = stack.plane.serving().includes(`${APP_NAME}-${r?.status?.stableRS ?? '?'}`);
      return a?.status?.sync?.status === 'Synced' && a.status.health?.status === 'Healthy' && r?.status?.phase === 'Healthy' && serving ? true : undefined;
    });
    const initialSyncSeconds = (Date.now() - t0) / 1000;
    say(first === undefined ? 'the first sync did not complete' : `1.0.0 is live: synced from Git and serving all traffic after ${initialSyncSeconds.toFixed(1)}s`);
    await view.stop();

    const stages: StageReport[] = [];
    if (first !== undefined) {
      stages.push(await stage('release 1.1.0', 'promoted', () => stack.repo.release(RELEASES.good, 'ci: bump demo to 1.1.0'), 'image 1.0.0 → 1.1.0'));
      stages.push(await stage('release 1.2.0 (bad)', 'aborted', () => stack.repo.release(RELEASES.bad, 'ci: bump demo to 1.2.0'), 'image 1.1.0 → 1.2.0, ERROR_RATE 0 → 0.3 (30% of requests answer 500)'));
      stages.push(await stage('git revert', 'restored', () => stack.repo.revert(), 'git revert HEAD: image back to 1.1.0, ERROR_RATE back to 0'));
    }
    const ok = first !== undefined && stages.length === 3 && stages.every((s) => s.outcome === s.expected);
    return { plane: stack.plane.kind, initialSyncSeconds, stages, totalSeconds: (Date.now() - started) / 1000, ok };
  }

  async function stage(name: string, expected: Outcome, commit: () => Promise<string>, change: string): Promise<StageReport> {
    const before = (await rollout())?.status ?? {};
    const clientsBefore = stack.plane.clientTotals();
    const stableBefore = before.stableRS ?? '';
    view.start();
    say(`── ${name}: ${change}`);
    const t = Date.now();
    const sha = await commit();
    say(`pushed ${sha.slice(0, 7)} to the config repo (${imageTag(stack.repo.rolloutText)}) and sent the push webhook`);
    const stepsSeen: number[] = [];
    let maxWeight = 0;
    let syncSeconds = -1;
    let hash = '';
    const runNames = new Set<string>();
    const seen: { outcome: Outcome | 'timeout' } = { outcome: 'timeout' };
    const done = await until(`${name} to finish`, async () => {
      const [a, r] = await Promise.all([app(), rollout()]);
      const s = r?.status;
      if (syncSeconds < 0 && a?.status?.sync?.revision === sha) {
        syncSeconds = (Date.now() - t) / 1000;
        say(`Application synced to ${sha.slice(0, 7)} after ${syncSeconds.toFixed(1)}s`);
      }
      if (s === undefined || syncSeconds < 0 || s.currentPodHash === before.currentPodHash) return undefined;
      hash = s.currentPodHash ?? '';
      if (stepsSeen.at(-1) !== s.currentStepIndex) stepsSeen.push(s.currentStepIndex ?? 0);
      maxWeight = Math.max(maxWeight, s.canary?.weights?.canary?.weight ?? 0);
      for (const run of await runsOf(hash)) if (Date.parse(run.metadata?.creationTimestamp ?? '') >= t - 1000) runNames.add(run.metadata?.name ?? '');
      const weight = s.canary?.weights?.canary?.weight ?? 0;
      if (s.abort === true && weight === 0) seen.outcome = 'aborted';
      else if (s.phase === 'Healthy' && s.stableRS === hash && hash !== stableBefore) seen.outcome = 'promoted';
      // Restored: back on the stable revision, and the aborted revision's pods gone (their processes stopped).
      else if (s.phase === 'Healthy' && s.stableRS === hash && hash === stableBefore && s.abort !== true && stack.plane.running().every((rs) => rs === `${APP_NAME}-${hash}`)) seen.outcome = 'restored';
      else return undefined;
      return true;
    });
    const seconds = (Date.now() - t) / 1000;
    const outcome = seen.outcome;
    await view.flush();
    const end = (await rollout())?.status ?? {};
    say(done === undefined ? `${name}: no outcome` : `${name}: ${outcome} ${seconds.toFixed(1)}s after the commit${outcome === expected ? '' : ` (expected ${expected})`}`);
    await view.stop();
    const runs = (await runsOf(hash)).filter((r) => runNames.has(r.metadata?.name ?? ''));
    const clientsAfter = stack.plane.clientTotals();
    const clients = clientsAfter?.map((c) => {
      const b = clientsBefore?.find((x) => x.version === c.version);
      return { version: c.version, requests: c.requests - (b?.requests ?? 0), errors: c.errors - (b?.errors ?? 0) };
    }).filter((c) => c.requests > 0);
    return {
      name,
      commit: sha.slice(0, 7),
      change,
      expected,
      outcome,
      syncSeconds,
      seconds,
      revision: hash,
      stableRS: end.stableRS ?? '',
      stepsSeen,
      maxCanaryWeight: maxWeight,
      canaryWeightAtEnd: end.canary?.weights?.canary?.weight ?? 0,
      phaseAtEnd: end.phase ?? '',
      message: end.message ?? '',
      analysis: runs.map((r) => ({
        run: r.metadata?.name ?? '',
        phase: r.status?.phase ?? 'Pending',
        metrics: (r.status?.metricResults ?? []).map((m) => ({ name: m.name, phase: m.phase, values: (m.measurements ?? []).map((x) => x.value ?? '') })),
      })),
      events: await events(t),
      abortWriters: await abortWriters(),
      runningAtEnd: stack.plane.running(),
      traffic: stack.plane.traffic(),
      clients,
      // From the first weight Sluice wrote for this canary (the moments before, at 0 %, say nothing).
      splits: stack.plane.splits().filter((sp) => isCanary(sp) && sp.canaryHash === hash && sp.to >= t).filter((sp, i, all) => all.slice(0, i + 1).some((x) => x.weight > 0)),
    };
  }
}

/** The summary printed at the end of the demo. */
export function summary(r: ScenarioReport): string {
  const plane = r.plane === 'traefik' ? 'REAL: load generator → Traefik (Gateway API) → app processes; kwok pods, kube-proxy emulator' : 'Istio data-plane EMULATOR (--istio: no mesh ran; it split generated load by the weights itself)';
  const lines = ['', '══ Summary', `  data plane: ${plane}`, `  initial sync (apply the Application → 1.0.0 serving):  ${r.initialSyncSeconds.toFixed(1)}s`];
  for (const s of r.stages) {
    const mark = s.outcome === s.expected ? '✔' : '✖';
    const analysis = s.analysis.map((a) => `${a.phase} (${a.metrics.map((m) => `${m.name} ${m.phase}: ${m.values.map(shortValue).join(', ')}`).join('; ')})`).join(' · ');
    lines.push(`  ${mark} ${s.name.padEnd(20)} ${s.outcome.padEnd(9)} ${s.seconds.toFixed(1).padStart(5)}s after commit ${s.commit} (synced in ${s.syncSeconds.toFixed(1)}s; steps seen ${s.stepsSeen.join('→')}; max canary weight ${s.maxCanaryWeight}%)`);
    if (analysis !== '') lines.push(`      analysis: ${analysis}`);
    for (const sp of s.splits) lines.push(`      ${splitLine(sp)}`);
    if (s.clients !== undefined) lines.push(`      clients: ${s.clients.map((c) => `${c.requests} answered by ${c.version || 'no app process'} (${c.errors} non-2xx)`).join(', ')}`);
    if (s.outcome === 'aborted') lines.push(`      aborted by Sluice on its own (status.abort written by ${s.abortWriters.join(', ') || 'nobody'}): ${s.events.filter((e) => /Aborted|Failed/.test(e)).join(' · ')}`);
  }
  lines.push(`  total ${r.totalSeconds.toFixed(1)}s; ${r.ok ? 'every stage ended as expected' : 'SOME STAGE DID NOT END AS EXPECTED'}`);
  return lines.join('\n') + '\n';
}

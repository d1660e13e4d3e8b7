// The memory soak: one operator process (src/main.ts, as the kill campaign starts it) on the real control plane and a
// real Prometheus, kept busy for `minutes`: canary (Gateway API, Istio, NGINX) and blue-green Rollouts given a new
// revision as soon as they settle (some with an analysis that fails on purpose), and Applications given new Git
// commits and drifted by hand (self-heal). The operator's RSS is read from /proc every `sampleEveryS` and appended to
// `samplesFile` as it is taken (so a run cut short keeps its samples); the observer replays what the apiserver stored
// throughout. At the end every Rollout must settle as its analysis says, like the kill campaign.
import { appendFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { KubeClient, KubeObject } from '../../../src/kube/client.ts';
import { R } from '../../../src/kube/resource.ts';
import { startOperator } from '../../support/operator-process.ts';
import type { GitServer } from '../../support/git-server.ts';
import { stepHistoryProblems } from '../observer/check.ts';
import { AppWorkload } from '../kills/apps.ts';
import { objects, rolloutSettled, routeWeight, STEPS, template, workloads, workRound, type RolloutObj } from '../kills/campaign.ts';
import { readRssMiB, slopeMiBPerHour, type RssSample } from './rss.ts';
import { StreamingObserver } from './observer.ts';

export interface SoakOptions {
  ns: string;
  client: KubeClient;
  kubeconfig: string;
  kubectl: (args: string[], input?: string) => Promise<{ stdout: string; stderr: string; code: number }>;
  prometheusUrl: string;
  git: GitServer;
  minutes: number;
  sampleEveryS: number;
  /** Samples before this minute are left out of the slope. */
  warmupMinutes: number;
  healthy: number;
  failing: number;
  blueGreen: number;
  apps: number;
  /** RSS samples, one JSON line each, written as they are taken. */
  samplesFile: string;
  /** Run the operator in a memory cgroup of this size, as the chart's pod (undefined: no limit). */
  memoryLimitMiB?: number;
  say: (line: string) => void;
}

export interface SoakResult {
  minutes: number;
  /** The operator's V8 heap limit, and the memory cgroup it ran in (null: none). */
  heapLimitMiB: number;
  memoryLimitMiB: number | null;
  samples: RssSample[];
  warmupMinutes: number;
  /** Samples the slope was fitted over (those after the warm-up). */
  slopeSamples: number;
  soakSlopeMiBPerHour: number | null;
  /** The same fit over the heap in use (null when /metrics gave too few samples). */
  heapUsedSlopeMiBPerHour: number | null;
  rssMiB: { first: number | null; min: number | null; max: number | null; last: number | null };
  violations: { invariant: string; rollout: string; message: string; event: string }[];
  stepProblems: string[];
  wrongEndStates: string[];
  revisions: { promoted: number; aborted: number; blueGreen: number };
  gitops: { apps: number; revisions: number; drifts: number };
  /** Set when the operator exited during the soak (it must not). */
  operatorExit: string | null;
  /** AnalysisRuns left at the end, and the most any one Rollout owns (bounded by its run history limits). */
  analysisRuns: { total: number; maxPerRollout: number };
  /** Event objects left in the namespace at the end: Sluice's, and those of Kubernetes' own controllers. */
  eventObjects: { sluice: number; others: number; sluiceCount: number };
  observedEvents: number;
  operatorLog: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** How long the observer waits for every watch to deliver an event before replaying it in etcd order. */
const WATCH_LAG_MS = 10_000;

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const apply = async (objs: object[]): Promise<void> => {
    const r = await o.kubectl(['apply', '--server-side', '--field-manager=chaos-user', '-n', o.ns, '-f', '-'], objs.map((m) => stringify(m)).join('---\n'));
    if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
  };
  const names = workloads(o.healthy, o.failing, o.blueGreen);
  const version = new Map(names.map((n) => [n.name, 1]));
  const apps = o.apps > 0 ? new AppWorkload({ ns: o.ns, client: o.client, kubectl: o.kubectl, git: o.git, count: o.apps }) : undefined;
  const settled = (name: string): Promise<boolean> => rolloutSettled(o.client, o.ns, name);
  const observer = new StreamingObserver(o.client, o.ns);
  let operatorExit: string | null = null;
  let stopping = false;
  const op = await startOperator(o.kubeconfig, `soak-${o.ns}`, [`--namespace=${o.ns}`, '--log-level=warn'], {}, o.memoryLimitMiB === undefined ? {} : { memoryLimitMiB: o.memoryLimitMiB });
  void op.exited.then((code) => {
    if (!stopping) operatorExit = `exited with ${code}; see ${op.logFile}`;
  });
  const pid = op.child.pid;
  if (pid === undefined) throw new Error('the operator process has no pid');
  writeFileSync(o.samplesFile, '');
  const samples: RssSample[] = [];

  try {
    const promText = JSON.stringify(o.prometheusUrl);
    await apply([template('pass', 'vector(1)'), template('fail', 'vector(0)')].map((t) => JSON.parse(JSON.stringify(t).replace('"PROM"', promText)) as object));
    await apply(names.flatMap((n) => objects(n, 1)));
    await apps?.setUp();
    const deadline = Date.now() + 180_000;
    for (const n of names) while (!(await settled(n.name))) {
      if (Date.now() > deadline) throw new Error(`${n.name} did not settle at v1`);
      await sleep(500);
    }
    for (const a of apps?.names ?? []) while (!(await apps!.settled(a))) {
      if (Date.now() > deadline) throw new Error(`${a}: ${(await apps!.problems(a)).join('; ')}`);
      await sleep(500);
    }
    const heapLimit = await op.metric('sluice_nodejs_heap_size_limit_bytes');
    o.say(`soak: the operator's V8 heap limit is ${(heapLimit / 2 ** 20).toFixed(0)} MiB (${o.memoryLimitMiB === undefined ? 'no memory limit' : `in a ${o.memoryLimitMiB} MiB memory cgroup`})`);
    o.say(`soak: ${names.length} Rollouts and ${apps?.names.length ?? 0} Applications settled; ${o.minutes} min of work, RSS of pid ${pid} every ${o.sampleEveryS} s into ${o.samplesFile}`);

    const started = Date.now();
    const endAt = started + o.minutes * 60_000;
    const sampler = (async () => {
      for (let k = 0; ; k++) {
        const at = started + k * o.sampleEveryS * 1000;
        if (at > endAt || operatorExit !== null) return;
        await sleep(Math.max(0, at - Date.now()));
        const s: RssSample = { minute: Math.round(((Date.now() - started) / 60_000) * 1000) / 1000, rssMiB: Math.round(readRssMiB(pid) * 100) / 100, atIso: new Date().toISOString() };
        const heap = await op.metric('sluice_nodejs_heap_size_used_bytes').catch(() => 0);
        if (heap > 0) s.heapUsedMiB = Math.round((heap / 2 ** 20) * 100) / 100;
        samples.push(s);
        appendFileSync(o.samplesFile, `${JSON.stringify(s)}\n`);
        observer.drain(WATCH_LAG_MS);
        o.say(`soak: minute ${s.minute.toFixed(1)}, RSS ${s.rssMiB} MiB, heap used ${s.heapUsedMiB ?? 'n/a'} MiB, events replayed ${observer.replayed}, violations so far ${observer.violationsSoFar}`);
      }
    })();
    let round = 0;
    const going = (): boolean => Date.now() < endAt && operatorExit === null;
    while (going()) {
      await workRound({ names, version, settled, apply, apps, round: round++, going });
      await sleep(300);
    }
    await sampler;

    // Settle, then judge like the kill campaign: a passing Rollout promoted, a failing one aborted with no weight left.
    const settleDeadline = Date.now() + 180_000;
    const wrongEndStates: string[] = [];
    for (const n of names) {
      while (!(await settled(n.name)) && Date.now() < settleDeadline) await sleep(500);
      const s = (await o.client.get<RolloutObj>(R.rollout, o.ns, n.name)).status ?? {};
      const weight = n.blueGreen ? 0 : await routeWeight(o.client, o.ns, n);
      const ok = (n.failing ? s.abort === true && s.phase === 'Degraded' && s.stableRS !== s.currentPodHash : s.phase === 'Healthy' && s.stableRS === s.currentPodHash && s.abort !== true) && weight === 0;
      if (!ok) wrongEndStates.push(`${n.name} (${n.blueGreen ? 'blue-green' : n.router}, ${n.failing ? 'must end aborted' : 'must end promoted'}): phase ${s.phase}, abort ${s.abort}, stable ${s.stableRS}, current ${s.currentPodHash}, weight ${weight}`);
    }
    for (const a of apps?.names ?? []) {
      while (!(await apps!.settled(a)) && Date.now() < settleDeadline) await sleep(500);
      wrongEndStates.push(...(await apps!.problems(a)));
    }
    await sleep(WATCH_LAG_MS / 5); // the watches deliver the last writes
    const checked = await observer.finish();
    const gitops = (await apps?.stop()) ?? [];
    for (const h of checked.histories) {
      if (h.outcome === (h.rollout.startsWith('bad-') ? 'promoted' : 'aborted')) wrongEndStates.push(`${h.rollout} revision ${h.hash} was ${h.outcome}`);
    }
    const stepProblems = stepHistoryProblems(checked.histories, (name) => (names.some((n) => n.name === name) ? STEPS : undefined));
    const rss = samples.map((s) => s.rssMiB);
    const owners = new Map<string, number>();
    for (const run of (await o.client.list<KubeObject>(R.analysisRun, o.ns)).items) {
      const owner = run.metadata?.ownerReferences?.[0]?.name ?? '';
      owners.set(owner, (owners.get(owner) ?? 0) + 1);
    }
    const events = (await o.client.list<KubeObject & { source?: { component?: string }; count?: number }>(R.event, o.ns)).items;
    const ours = events.filter((e) => e.source?.component === 'sluice');
    const eventObjects = { sluice: ours.length, others: events.length - ours.length, sluiceCount: ours.reduce((n, e) => n + (e.count ?? 1), 0) };
    const fit = slopeMiBPerHour(samples, o.warmupMinutes);
    const heapFit = slopeMiBPerHour(samples.flatMap((s) => (s.heapUsedMiB === undefined ? [] : [{ ...s, rssMiB: s.heapUsedMiB }])), o.warmupMinutes);
    return {
      minutes: o.minutes,
      heapLimitMiB: Math.round(heapLimit / 2 ** 20),
      memoryLimitMiB: o.memoryLimitMiB ?? null,
      samples,
      warmupMinutes: o.warmupMinutes,
      slopeSamples: fit.used,
      soakSlopeMiBPerHour: fit.slope === null ? null : Math.round(fit.slope * 100) / 100,
      heapUsedSlopeMiBPerHour: heapFit.slope === null ? null : Math.round(heapFit.slope * 100) / 100,
      rssMiB: { first: rss[0] ?? null, min: rss.length > 0 ? Math.min(...rss) : null, max: rss.length > 0 ? Math.max(...rss) : null, last: rss.at(-1) ?? null },
      violations: [...checked.violations, ...gitops].map(({ invariant, rollout, message, event }) => ({ invariant, rollout, message, event })),
      stepProblems,
      wrongEndStates,
      revisions: { promoted: checked.histories.filter((h) => h.outcome === 'promoted').length, aborted: checked.histories.filter((h) => h.outcome === 'aborted').length, blueGreen: names.filter((n) => n.blueGreen).reduce((sum, n) => sum + (version.get(n.name) ?? 1) - 1, 0) },
      gitops: { apps: apps?.names.length ?? 0, revisions: apps?.revisions ?? 0, drifts: apps?.drifts ?? 0 },
      operatorExit,
      analysisRuns: { total: [...owners.values()].reduce((a, b) => a + b, 0), maxPerRollout: Math.max(0, ...owners.values()) },
      eventObjects,
      observedEvents: observer.replayed,
      operatorLog: op.logFile,
    };
  } finally {
    stopping = true;
    await observer.finish();
    await apps?.stop();
    op.kill('SIGKILL');
    await op.exited;
  }
}

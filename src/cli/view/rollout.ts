// The rollout view of `kubectl sluice get rollout` (and the demo): a snapshot rendered as text. Pure: the clock and
// the width are arguments, there is no colour and no escape sequence (the live view adds those on a terminal).
import { parseDuration } from '../../api/common/duration.ts';
import type { CanaryStep, Rollout } from '../../api/rollout/schema.ts';
import { weightAt } from '../../rollout/decide/canary.ts';
import { waitingText } from '../../rollout/decide/gates.ts';
import { revisionsOf } from '../../rollout/revision.ts';
import { POD_TEMPLATE_HASH, RUN_STEP_LABEL, type AnalysisRunView, type ReplicaSetView, type RolloutSnapshot } from './snapshot.ts';
import { table } from '../output.ts';
import { judgeLines, judgeSummary } from './judge.ts';

export { fetchRolloutSnapshot, snapshotOf, type RolloutSnapshot } from './snapshot.ts';

export interface RenderOptions {
  /** Milliseconds since the epoch: timed pauses count down against it. Without it they show their end time, so
   * the text changes only when the Rollout does (the plain-lines watch prints a frame per change). */
  now?: number;
  /** Columns of the bar (default 40). */
  barWidth?: number;
  /** How many AnalysisRuns to show, newest first (default 5). */
  maxRuns?: number;
  /** Measurements shown per metric, newest last (default 3). */
  lastMeasurements?: number;
}

export type ReplicaSetRole = 'stable' | 'canary' | 'active' | 'preview' | '';

/** The weight as a bar: `[██████░░░░░░] 50%`. */
export function weightBar(weight: number, width = 40): string {
  const w = Math.max(0, Math.min(100, weight));
  const filled = Math.round((w / 100) * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${w}%`;
}

/** One step in a line: "setWeight: 20", "pause: 30s", "pause (until promoted)", "analysis: successRate ≥ 99%". */
export function describeStep(s: CanaryStep): string {
  if (s.setWeight !== undefined) return `setWeight: ${s.setWeight}`;
  if (s.pause !== undefined) return s.pause.duration === undefined ? 'pause (until promoted)' : `pause: ${typeof s.pause.duration === 'number' ? `${s.pause.duration}s` : s.pause.duration}`;
  if (s.analysis !== undefined) {
    const a = s.analysis;
    const parts = [
      ...(a.templates ?? []).map((t) => t.templateName),
      ...(a.successRate !== undefined ? [`successRate ≥ ${a.successRate.min}%`] : []),
      ...(a.latency !== undefined ? [`latency ≤ ${a.latency.maxMs}ms`] : []),
    ];
    return `analysis: ${parts.join(', ')}`;
  }
  if (s.experiment !== undefined) {
    const x = s.experiment;
    const analyses = (x.analyses ?? []).map((a) => a.templateName);
    return `experiment: ${x.templates.map((t) => `${t.name} (${t.specRef})`).join(', ')}${x.duration !== undefined ? ` for ${typeof x.duration === 'number' ? `${x.duration}s` : x.duration}` : ''}${analyses.length > 0 ? `; analysis: ${analyses.join(', ')}` : ''}`;
  }
  if (s.setCanaryScale !== undefined) {
    const c = s.setCanaryScale;
    return `setCanaryScale: ${c.replicas !== undefined ? `${c.replicas} replicas` : c.weight !== undefined ? `weight ${c.weight}` : 'matchTrafficWeight'}`;
  }
  if (s.setHeaderRoute !== undefined) return `setHeaderRoute: ${s.setHeaderRoute.name}${(s.setHeaderRoute.match ?? []).length === 0 ? ' (remove)' : ''}`;
  if (s.setMirrorRoute !== undefined) return `setMirrorRoute: ${s.setMirrorRoute.name}${s.setMirrorRoute.percentage !== undefined ? ` ${s.setMirrorRoute.percentage}%` : ''}`;
  return '(empty step)';
}

export const hashOf = (rs: ReplicaSetView): string => rs.metadata.labels?.[POD_TEMPLATE_HASH] ?? '';

/** The role a ReplicaSet plays now, from the Rollout's status (blue-green: the selectors; canary: stable/current). */
export function roleOf(r: Rollout, hash: string): ReplicaSetRole {
  const s = r.status;
  if (r.spec.strategy?.blueGreen !== undefined) {
    if (hash === s?.blueGreen?.activeSelector) return 'active';
    if (hash === s?.blueGreen?.previewSelector) return 'preview';
    return hash === s?.stableRS ? 'stable' : '';
  }
  if (hash === s?.stableRS) return 'stable';
  return hash === s?.currentPodHash ? 'canary' : '';
}

const images = (rs: ReplicaSetView): string => (rs.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? '?').join(',');

/**
 * Revision numbers: the operator's rollout.argoproj.io/revision annotation on each ReplicaSet (stable when old ones
 * are deleted); one without it (made by an older operator) is numbered by its position by creation, oldest = 1.
 */
export function revisions(replicaSets: readonly ReplicaSetView[]): Map<string, number> {
  return revisionsOf(replicaSets);
}

function statusLine(r: Rollout): string {
  const s = r.status;
  const phase = s?.phase ?? 'Unknown';
  const mark = { Healthy: '✔', Progressing: '◌', Paused: '॥', Degraded: '✖', Unknown: '?' }[phase];
  const aborted = s?.abort === true ? ' (aborted)' : '';
  return `${mark} ${phase}${aborted}`;
}

function pauseNote(r: Rollout, step: CanaryStep, now: number | undefined): string {
  const cond = (r.status?.pauseConditions ?? [])[0];
  if (cond === undefined) return '';
  if (step.pause?.duration !== undefined && cond.startTime !== undefined) {
    const end = Date.parse(cond.startTime) + parseDuration(step.pause.duration);
    if (now === undefined) return ` (paused until ${new Date(end).toISOString().replace(/\.\d+Z$/, 'Z')})`;
    return ` (paused: ${Math.max(0, Math.ceil((end - now) / 1000))}s left)`;
  }
  return ` (paused: ${cond.reason})`;
}

function stepsSection(r: Rollout, now: number | undefined): string[] {
  const steps = r.spec.strategy?.canary?.steps ?? [];
  if (steps.length === 0) return [];
  const index = r.status?.currentStepIndex ?? 0;
  const digits = String(steps.length - 1).length;
  return [
    'Steps:',
    ...steps.map((s, i) => {
      const mark = i < index ? '✔' : i === index ? '▶' : ' ';
      const note = i === index ? pauseNote(r, s, now) : '';
      return `  ${mark} ${String(i).padStart(digits)}  ${describeStep(s)}${note}`;
    }),
  ];
}

function lastMeasurements(run: AnalysisRunView, n: number): string[] {
  return (run.status?.metricResults ?? []).flatMap((m) => {
    // A judged metric shows its evidence instead of a row of values.
    const judged = judgeSummary(m.measurements?.at(-1));
    if (judged !== undefined) return [`      ${m.name}: ${m.phase} (sequential judge)${m.message !== undefined && m.message !== '' ? `  ${m.message}` : ''}`, ...judgeLines(judged)];
    const ms = (m.measurements ?? []).slice(-n);
    const shown = ms.map((x) => `${x.value ?? '-'} ${x.phase === 'Successful' ? '✔' : x.phase === 'Failed' || x.phase === 'Error' ? '✖' : x.phase === 'Inconclusive' ? '?' : '…'}`);
    const counts = `${m.successful ?? 0}✔ ${m.failed ?? 0}✖${(m.inconclusive ?? 0) > 0 ? ` ${m.inconclusive}?` : ''}${(m.error ?? 0) > 0 ? ` ${m.error} errors` : ''}`;
    return `      ${m.name}: ${m.phase} (${counts})${shown.length > 0 ? `  last: ${shown.join(', ')}` : ''}${m.message !== undefined && m.message !== '' ? `  ${m.message}` : ''}`;
  });
}

/** The whole view as text, lines ending in "\n". */
export function renderRollout(snap: RolloutSnapshot, opts: RenderOptions): string {
  const r = snap.rollout;
  const s = r.status;
  const blueGreen = r.spec.strategy?.blueGreen !== undefined;
  const steps = r.spec.strategy?.canary?.steps ?? [];
  const index = s?.currentStepIndex ?? 0;
  const out: string[] = [];
  const field = (k: string, v: string): void => {
    out.push(`${`${k}:`.padEnd(15)}${v}`);
  };
  field('Name', r.metadata.name ?? '');
  field('Namespace', r.metadata.namespace ?? '');
  field('Status', statusLine(r));
  if (s?.message !== undefined && s.message !== '') field('Message', s.message);
  field('Strategy', blueGreen ? 'BlueGreen' : 'Canary');
  const byHash = new Map(snap.replicaSets.map((rs) => [hashOf(rs), rs]));
  const imageOf = (hash: string | undefined): string => (hash === undefined ? '' : (byHash.get(hash) === undefined ? '' : images(byHash.get(hash) as ReplicaSetView)));
  if (blueGreen) {
    const active = s?.blueGreen?.activeSelector;
    const preview = s?.blueGreen?.previewSelector;
    field('Active', active === undefined ? '-' : `${active}  ${imageOf(active)}`);
    field('Preview', preview === undefined || preview === active ? '-' : `${preview}  ${imageOf(preview)}`);
  } else {
    if (steps.length > 0) field('Step', `${Math.min(index, steps.length)}/${steps.length}${index >= steps.length ? ' (done)' : ''}`);
    const setWeight = weightAt(steps, index);
    const actual = s?.canary?.weights?.canary?.weight;
    field('SetWeight', String(setWeight));
    if (actual !== undefined) field('ActualWeight', String(actual));
    const extra = s?.canary?.weights?.additional ?? [];
    if (extra.length > 0) field('Experiment', extra.map((d) => `${d.serviceName ?? '?'} ${d.weight ?? 0}%`).join(', '));
    field('Canary', weightBar(actual ?? setWeight, opts.barWidth));
    const current = s?.currentPodHash;
    const stable = s?.stableRS;
    field('Images', [current !== undefined && current !== stable ? `${imageOf(current)} (canary)` : '', stable !== undefined ? `${imageOf(stable)} (stable)` : ''].filter((x) => x !== '').join(', ') || '-');
  }
  field('Replicas', `desired ${r.spec.replicas ?? 1}, current ${s?.replicas ?? 0}, updated ${s?.updatedReplicas ?? 0}, ready ${s?.readyReplicas ?? 0}, available ${s?.availableReplicas ?? 0}`);
  if (r.spec.paused === true) field('Paused', 'spec.paused (resume or promote to continue)');
  const gate = s?.gates?.waiting;
  if (gate !== undefined) field('Gate', `${waitingText(gate)}${gate.since !== undefined ? ` (since ${gate.since})` : ''}`);

  const stepLines = stepsSection(r, opts.now);
  if (stepLines.length > 0) out.push('', ...stepLines);

  if (snap.replicaSets.length > 0) {
    const rev = revisions(snap.replicaSets);
    const revOf = (rs: ReplicaSetView): number => rev.get(rs.metadata.name ?? '') ?? 0;
    const rows = [...snap.replicaSets].reverse().sort((a, b) => revOf(b) - revOf(a)).map((rs) => {
      const hash = hashOf(rs);
      return [
        String(rev.get(rs.metadata.name ?? '') ?? ''),
        rs.metadata.name ?? '',
        roleOf(r, hash) || '-',
        `${rs.status?.readyReplicas ?? 0}/${rs.spec?.replicas ?? 0}`,
        String(rs.status?.availableReplicas ?? 0),
        images(rs),
      ];
    });
    out.push('', 'ReplicaSets:', ...table(['revision', 'name', 'role', 'ready', 'available', 'images'], rows).trimEnd().split('\n').map((l) => `  ${l}`));
  }

  const runs = [...snap.analysisRuns].reverse().slice(0, opts.maxRuns ?? 5);
  if (runs.length > 0) {
    out.push('', 'AnalysisRuns:');
    for (const run of runs) {
      const step = run.metadata.labels?.[RUN_STEP_LABEL];
      const where = step === undefined ? '' : /^\d+$/.test(step) ? ` (step ${step})` : ` (${step})`;
      out.push(`  ${run.metadata.name ?? ''}${where}: ${run.status?.phase ?? 'Pending'}${run.spec?.terminate === true ? ' (terminated)' : ''}`);
      out.push(...lastMeasurements(run, opts.lastMeasurements ?? 3));
    }
  }
  return out.map((l) => `${l}\n`).join('');
}

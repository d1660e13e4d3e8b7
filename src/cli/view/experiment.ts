// The `get experiment` view: status, templates with their ReplicaSets' pods, the analysis runs. Pure.
import type { Experiment } from '../../api/experiment/schema.ts';
import { age, table } from '../output.ts';

export function renderExperiment(e: Experiment, now: number): string {
  const s = e.status;
  const lines = [
    `Name:          ${e.metadata.name ?? ''}`,
    `Namespace:     ${e.metadata.namespace ?? ''}`,
    `Status:        ${s?.phase ?? 'Pending'}${e.spec.terminate === true ? ' (terminated)' : ''}`,
    ...(s?.message !== undefined ? [`Message:       ${s.message}`] : []),
    `Duration:      ${e.spec.duration !== undefined ? String(e.spec.duration) : '(until its required analyses complete, or terminated)'}`,
    `Available at:  ${s?.availableAt !== undefined ? `${s.availableAt} (${age(s.availableAt, now)} ago)` : '-'}`,
    '',
    'Templates:',
  ];
  const templates = e.spec.templates.map((t) => {
    const ts = s?.templateStatuses?.find((x) => x.name === t.name);
    return [t.name, ts?.status ?? 'Pending', `${ts?.availableReplicas ?? 0}/${t.replicas ?? 1}`, ts?.replicaSetName ?? '-', ts?.podTemplateHash ?? '-', ts?.message ?? ''];
  });
  lines.push(indent(table(['name', 'status', 'available', 'replicaset', 'hash', 'message'], templates)));
  const analyses = e.spec.analyses ?? [];
  if (analyses.length > 0) {
    lines.push('Analyses:');
    const rows = analyses.map((a) => {
      const run = s?.analysisRuns?.find((x) => x.name === a.name);
      return [a.name, a.templateName, a.requiredForCompletion === true ? 'yes' : 'no', run?.analysisRun ?? '-', run?.phase ?? '-', run?.message ?? ''];
    });
    lines.push(indent(table(['name', 'template', 'required', 'analysisrun', 'phase', 'message'], rows)));
  }
  return `${lines.join('\n')}\n`;
}

/** One `list experiments` row. */
export function experimentRow(e: Experiment, now: number): string[] {
  const s = e.status;
  return [e.metadata.name ?? '', s?.phase ?? 'Pending', e.spec.duration !== undefined ? String(e.spec.duration) : '-', String(e.spec.templates.length), String(e.spec.analyses?.length ?? 0), age(e.metadata.creationTimestamp, now)];
}

const indent = (text: string): string => text.trimEnd().split('\n').map((l) => `  ${l}`).join('\n') + '\n';

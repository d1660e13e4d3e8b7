// One AnalysisRun from several templates, as Argo builds it for a Rollout step or an Experiment's analysis: the
// templates' metrics in order, their args (the first template to declare one gives its default).
import type { KubeObject } from '../kube/client.ts';

export type TemplateObject = KubeObject & { spec?: { metrics?: unknown[]; args?: { name: string; value?: string }[]; dryRun?: unknown[]; measurementRetention?: unknown[] } };

export interface TemplateRef {
  templateName: string;
  clusterScope?: boolean;
}

/** Thrown when a referenced template is not there; the message names its kind and name. */
export class TemplateNotFoundError extends Error {
  constructor(ref: TemplateRef) {
    super(`${ref.clusterScope === true ? 'ClusterAnalysisTemplate' : 'AnalysisTemplate'} "${ref.templateName}" not found`);
    this.name = 'TemplateNotFoundError';
  }
}

export function mergeTemplates(refs: readonly TemplateRef[], templates: readonly TemplateObject[], clusterTemplates: readonly TemplateObject[]): { metrics: unknown[]; args: Map<string, { name: string; value?: string }> } {
  const metrics: unknown[] = [];
  const args = new Map<string, { name: string; value?: string }>();
  for (const ref of refs) {
    const pool = ref.clusterScope === true ? clusterTemplates : templates;
    const t = pool.find((x) => x.metadata?.name === ref.templateName);
    if (t === undefined) throw new TemplateNotFoundError(ref);
    metrics.push(...(t.spec?.metrics ?? []));
    for (const a of t.spec?.args ?? []) if (!args.has(a.name)) args.set(a.name, a);
  }
  return { metrics, args };
}

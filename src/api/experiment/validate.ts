// Semantic rules of an Experiment a schema cannot express. Pure: errors name the field from the object root. The
// analyses' rules are shared with the Rollout's `experiment` step (validateExperimentAnalyses with its own path).
import { durationError } from '../common/duration.ts';
import { fieldPath, type SpecError } from '../common/errors.ts';
import { selectorMatches } from '../common/meta.ts';
import type { RolloutValidationContext } from '../rollout/validate.ts';
import type { Experiment } from './schema.ts';

/** The DNS-label part of a ReplicaSet name a template contributes (`<experiment>-<template>`). */
export const TEMPLATE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export type ContainerPort = { name?: string; containerPort?: number; protocol?: string };

/** The ports of the template's containers, as a Service exposes them (Argo's: one Service port per container port). */
export function containerPorts(template: unknown): ContainerPort[] {
  const containers = ((template as { spec?: { containers?: { ports?: ContainerPort[] }[] } } | undefined)?.spec?.containers ?? []);
  return containers.flatMap((c) => (c.ports ?? []).filter((p) => typeof p.containerPort === 'number'));
}

/** A Service name: a DNS-1035 label. */
export const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function validateExperiment(e: Experiment, ctx?: RolloutValidationContext): SpecError[] {
  const errors: SpecError[] = [];
  const templates = e.spec.templates;
  if (templates.length === 0) errors.push({ field: 'spec.templates', message: 'needs at least one template' });
  errors.push(...uniqueNames('spec.templates', templates.map((t) => t.name)));
  templates.forEach((t, i) => {
    const at = fieldPath('spec', 'templates', i);
    if (!TEMPLATE_NAME.test(t.name)) errors.push({ field: `${at}.name`, message: `must be a lowercase DNS label (it names the ReplicaSet), got "${t.name}"` });
    if (t.template === undefined) {
      errors.push({ field: `${at}.template`, message: 'required: the pod template this ReplicaSet runs' });
      return;
    }
    if (t.service !== undefined && containerPorts(t.template).length === 0) errors.push({ field: `${at}.service`, message: 'the template\'s containers declare no ports (spec.containers[].ports): its Service needs one' });
    if (t.service?.name !== undefined && !SERVICE_NAME.test(t.service.name)) errors.push({ field: `${at}.service.name`, message: `must be a lowercase DNS label (a Service name), got "${t.service.name}"` });
    const selector = t.selector;
    if (selector === undefined || (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0)) {
      errors.push({ field: `${at}.selector`, message: 'required and not empty: it selects the template\'s pods' });
    } else {
      const labels = t.template.metadata?.labels ?? {};
      if (!selectorMatches(selector, labels)) errors.push({ field: `${at}.selector`, message: `does not match ${at}.template.metadata.labels ${JSON.stringify(labels)}` });
    }
  });
  const dur = durationError('spec.duration', e.spec.duration);
  if (dur !== undefined) errors.push(dur);
  errors.push(...validateExperimentAnalyses('spec.analyses', e.spec.analyses, ctx));
  return errors;
}

/** Names, template references (when the cluster's templates are known) and uniqueness of an experiment's analyses. */
export function validateExperimentAnalyses(at: string, analyses: readonly { name?: string; templateName?: string; clusterScope?: boolean }[] | undefined, ctx?: RolloutValidationContext): SpecError[] {
  const errors: SpecError[] = [];
  const list = analyses ?? [];
  errors.push(...uniqueNames(at, list.map((a) => a.name ?? '')));
  list.forEach((a, j) => {
    const here = fieldPath(at, j);
    if (a.name === undefined || a.name === '') errors.push({ field: `${here}.name`, message: 'required: it names the analysis run' });
    if (a.templateName === undefined || a.templateName === '') {
      errors.push({ field: `${here}.templateName`, message: 'required' });
      return;
    }
    if (ctx === undefined) return;
    const known = a.clusterScope === true ? ctx.clusterAnalysisTemplates : ctx.analysisTemplates;
    if (!known.has(a.templateName)) {
      errors.push({ field: `${here}.templateName`, message: `${a.clusterScope === true ? 'ClusterAnalysisTemplate' : 'AnalysisTemplate'} "${a.templateName}" not found` });
    }
  });
  return errors;
}

function uniqueNames(at: string, names: readonly string[]): SpecError[] {
  const seen = new Set<string>();
  const errors: SpecError[] = [];
  names.forEach((n, i) => {
    if (n === '') return;
    if (seen.has(n)) errors.push({ field: `${fieldPath(at, i)}.name`, message: `duplicate name "${n}"` });
    seen.add(n);
  });
  return errors;
}

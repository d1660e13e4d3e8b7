// `kubectl sluice lint`: every YAML document of a set of files checked offline as the apiserver and the controllers
// would check it: the zod schema (shape and types), the fields the CRD would prune (unknown fields), and the semantic
// rules of src/api/*/validate.ts. Each finding names file:line:column and the field. Pure: files in, findings out.
import { validateAnalysisSpec } from '../api/analysis/validate.ts';
import type { AnalysisTemplateSpec } from '../api/analysis/schema.ts';
import type { Experiment } from '../api/experiment/schema.ts';
import { validateExperiment } from '../api/experiment/validate.ts';
import type { ApplicationSet } from '../api/applicationset/schema.ts';
import { validateApplicationSet } from '../api/applicationset/validate.ts';
import type { Application } from '../api/application/schema.ts';
import { validateApplication } from '../api/application/validate.ts';
import { zodErrors } from '../api/common/check.ts';
import type { SpecError } from '../api/common/errors.ts';
import { fieldPath } from '../api/common/errors.ts';
import { API_VERSION, GROUP } from '../api/crd/definitions.ts';
import type { Rollout } from '../api/rollout/schema.ts';
import { validateRollout, type RolloutValidationContext } from '../api/rollout/validate.ts';
import { referenceErrors } from './references.ts';
import { parseFieldPath, parseSource, type PathSegment, type SourceDocument } from './source.ts';
import { crdSchema, kindDefinition, pruneUnknown } from './unknown.ts';

export type Severity = 'error' | 'warning';

export interface Finding {
  file: string;
  line: number;
  column: number;
  /** The field's path from the object root (`spec.strategy.canary.steps[3].setWeight`); `(root)` for the object. */
  field: string;
  message: string;
  severity: Severity;
  /** The object, when the document is one: `Rollout/shop`. */
  object?: string;
}

export interface LintFile {
  path: string;
  text: string;
}

export interface LintResult {
  findings: Finding[];
  /** Sluice objects checked (Argo objects are checked as the Sluice kind they would become). */
  checked: number;
  /** Other objects (core kinds, Services, routes): the apiserver checks those; lint only parses them. */
  skipped: number;
}

/** What an offline check cannot see; printed with the results so that a clean lint is not read as more than it is. */
export const NOT_CHECKED_OFFLINE = [
  'objects that are not Sluice kinds (Deployments, Services, routes): the apiserver validates them',
  'the Services, Deployment (workloadRef), VirtualService, Ingress or HTTPRoute a Rollout names when they are not in the linted files (those that are, are checked against the Rollout)',
  'AnalysisTemplates and ClusterAnalysisTemplates that are not in the linted files (reported as warnings)',
  'pod templates: the apiserver validates them when the Rollout creates a ReplicaSet',
  "Secrets named by analysis args, and an Application's repository, revision and path",
] as const;

/** Argo's kinds that Sluice serves under its own group: lint checks them as Sluice objects and names the change. */
const ARGO_API = 'argoproj.io/v1alpha1';
const FLAGGER_GROUP = 'flagger.app';

interface Obj {
  doc: SourceDocument;
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
}

export function lint(files: readonly LintFile[]): LintResult {
  const findings: Finding[] = [];
  const objects: Obj[] = [];
  const others: SourceDocument[] = [];
  let skipped = 0;
  for (const f of files) {
    const parsed = parseSource(f.path, f.text);
    for (const e of parsed.errors) findings.push({ file: e.file, line: e.line, column: e.column, field: '(root)', message: `invalid YAML: ${e.message}`, severity: 'error' });
    for (const doc of parsed.documents) {
      const v = doc.value as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } } | null;
      const report = (path: PathSegment[], message: string): void => {
        findings.push({ file: doc.file, ...doc.locate(path), field: fieldPath('', ...path) || '(root)', message, severity: 'error' });
      };
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        report([], 'not a Kubernetes object (expected a mapping with apiVersion, kind and metadata)');
        continue;
      }
      if (typeof v.apiVersion !== 'string' || typeof v.kind !== 'string') {
        report(typeof v.apiVersion !== 'string' ? ['apiVersion'] : ['kind'], 'required');
        continue;
      }
      const group = v.apiVersion.includes('/') ? v.apiVersion.slice(0, v.apiVersion.indexOf('/')) : '';
      const sluiceKind = kindDefinition(v.kind);
      if (group === FLAGGER_GROUP) {
        report(['apiVersion'], `${v.apiVersion} ${v.kind} is Flagger's API, not Sluice's: \`kubectl sluice convert\` maps it to Sluice objects`);
        continue;
      }
      const argo = v.apiVersion === ARGO_API && sluiceKind !== undefined;
      if (group !== GROUP && !argo) {
        others.push(doc);
        skipped++;
        continue;
      }
      if (argo) report(['apiVersion'], `Argo's ${ARGO_API}: Sluice serves ${v.kind} as ${API_VERSION} (\`kubectl sluice convert\` rewrites it and reports the fields Sluice does not support)`);
      else if (v.apiVersion !== API_VERSION) report(['apiVersion'], `unknown version "${v.apiVersion}": Sluice serves ${API_VERSION}`);
      if (sluiceKind === undefined) {
        report(['kind'], `unknown kind "${v.kind}" in ${GROUP}`);
        continue;
      }
      const name = typeof v.metadata?.name === 'string' ? v.metadata.name : '';
      const namespace = typeof v.metadata?.namespace === 'string' ? v.metadata.namespace : '';
      if (name === '') report(['metadata', 'name'], 'required');
      objects.push({ doc, apiVersion: v.apiVersion, kind: v.kind, name, namespace });
    }
  }

  const ctx = templateContext(objects);
  const seen = new Map<string, Obj>();
  const relatedSeen = new Set<string>();
  for (const o of objects) {
    const def = kindDefinition(o.kind);
    if (def === undefined) continue;
    const add = (errors: readonly SpecError[], severity: Severity = 'error'): void => {
      for (const e of errors) findings.push(finding(o, e, severity));
    };
    const id = `${o.kind}/${def.scope === 'Namespaced' ? o.namespace : ''}/${o.name}`;
    const first = seen.get(id);
    if (first !== undefined && o.name !== '') {
      const p = first.doc.locate(['metadata', 'name']);
      add([{ field: 'metadata.name', message: `${o.kind} "${o.name}" is defined twice: also at ${first.doc.file}:${p.line}` }]);
    }
    seen.set(id, o);

    const raw = { ...(o.doc.value as Record<string, unknown>), apiVersion: API_VERSION };
    add(pruneUnknown(raw, crdSchema(def)).unknown.map((path) => ({
      field: fieldPath('', ...path),
      message: 'unknown field: the CRD prunes it, and kubectl apply (strict field validation) rejects it',
    })));
    const parsed = def.schema.safeParse(raw);
    if (!parsed.success) {
      add(zodErrors(parsed.error));
      continue;
    }
    const semantic = semanticErrors(o.kind, parsed.data, ctx(o.namespace));
    if (o.kind === 'Rollout') {
      const refs = referenceErrors(parsed.data as Rollout, related(others, o.namespace));
      semantic.push(...refs.errors);
      for (const r of refs.related) {
        const position = r.doc.locate(parseFieldPath(r.field));
        const key = `${r.doc.file}:${position.line}:${position.column}:${r.field}`;
        if (relatedSeen.has(key)) continue; // named by several Rollouts: reported once
        relatedSeen.add(key);
        findings.push({ file: r.doc.file, ...position, field: r.field, message: r.message, severity: 'error', object: objectName(r.doc.value) });
      }
    }
    add(semantic.filter((e) => !isMissingTemplate(e)));
    add(
      semantic.filter(isMissingTemplate).map((e) => ({ field: e.field, message: `${e.message} in the linted files: it must exist in the cluster (not checked offline)` })),
      'warning',
    );
  }
  findings.sort((a, b) => (a.file === b.file ? a.line - b.line || a.column - b.column : a.file < b.file ? -1 : 1));
  return { findings, checked: objects.length, skipped };
}

function objectName(value: unknown): string {
  const v = value as { kind?: unknown; metadata?: { name?: unknown } };
  return `${typeof v.kind === 'string' ? v.kind : ''}/${typeof v.metadata?.name === 'string' ? v.metadata.name : ''}`;
}

function finding(o: Obj, e: SpecError, severity: Severity): Finding {
  return { file: o.doc.file, ...o.doc.locate(parseFieldPath(e.field)), field: e.field, message: e.message, severity, object: `${o.kind}/${o.name}` };
}

function isMissingTemplate(e: SpecError): boolean {
  return e.field.endsWith('.templateName') && e.message.endsWith('not found');
}

function semanticErrors(kind: string, value: unknown, ctx: RolloutValidationContext): SpecError[] {
  switch (kind) {
    case 'Rollout':
      return validateRollout(value as Rollout, ctx);
    case 'Application':
      return validateApplication(value as Application);
    case 'Experiment':
      return validateExperiment(value as Experiment, ctx);
    case 'ApplicationSet':
      // Its Applications exist only once generated (clusters, a repository): the controller checks those.
      return validateApplicationSet(value as ApplicationSet);
    default: // AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun share their spec rules
      return validateAnalysisSpec((value as { spec: AnalysisTemplateSpec }).spec);
  }
}

/** Templates defined in the linted files count as present. An object without a namespace is applied to whatever
 * namespace kubectl targets, so it matches templates of any namespace (and the other way round). */
function templateContext(objects: readonly Obj[]): (namespace: string) => RolloutValidationContext {
  const cluster = new Set(objects.filter((o) => o.kind === 'ClusterAnalysisTemplate').map((o) => o.name));
  const templates = objects.filter((o) => o.kind === 'AnalysisTemplate');
  return (namespace) => ({
    clusterAnalysisTemplates: cluster,
    analysisTemplates: new Set(templates.filter((t) => t.namespace === '' || namespace === '' || t.namespace === namespace).map((t) => t.name)),
  });
}

/** Other objects of the linted files, found by API group, kind and name in the Rollout's namespace (or in none). */
function related(others: readonly SourceDocument[], namespace: string): Parameters<typeof referenceErrors>[1] {
  return {
    find: (group, kind, name) =>
      others.find((d) => {
        const v = d.value as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
        const api = typeof v.apiVersion === 'string' ? v.apiVersion : '';
        const g = api.includes('/') ? api.slice(0, api.indexOf('/')) : '';
        const ns = typeof v.metadata?.namespace === 'string' ? v.metadata.namespace : '';
        return g === group && v.kind === kind && v.metadata?.name === name && (ns === namespace || ns === '' || namespace === '');
      }),
  };
}

// `kubectl sluice convert`: Argo Rollouts, Argo CD, Flagger and Flux manifests → Sluice manifests, with every field that
// could not be mapped reported at file:line:column. Other objects (Deployments, Services, Sluice objects) pass
// through unchanged, so the output replaces the input files. Every converted object is checked with the lint library
// before it is printed: a conversion that would not validate is an error, never a silent bad manifest. Pure.
import { stringify } from 'yaml';
import { fieldPath } from '../api/common/errors.ts';
import { lint, type LintFile } from '../lint/lint.ts';
import { parseFieldPath, parseSource, type PathSegment, type SourceDocument } from '../lint/source.ts';
import { convertArgoApplication } from './argocd.ts';
import { convertArgoRollouts } from './argo-rollouts.ts';
import { Fields } from './fields.ts';
import { convertCanary, convertMetricTemplate } from './flagger.ts';
import { convertFluxKustomization, convertFluxSource, convertHelmRelease, FLUX_SOURCE_GROUP } from './flux.ts';
import type { ConvertContext, ConvertFinding, ConvertSeverity, Manifest, SourceIndex } from './types.ts';

export type { ConvertFinding, ConvertSeverity, Manifest };

export interface ConvertResult {
  /** In input order; each with the source it came from (`file:line`). */
  manifests: { manifest: Manifest; source: string }[];
  findings: ConvertFinding[];
}

/**
 * Written as YAML 1.1, which kubectl reads: a string that 1.1 would read as something else ("yes", "on", "0777")
 * is quoted, so a label value "yes" does not come back as a boolean.
 */
const STRINGIFY = { version: '1.1', lineWidth: 0 } as const;

const ARGO_ROLLOUTS_KINDS = new Set(['Rollout', 'AnalysisTemplate', 'ClusterAnalysisTemplate', 'AnalysisRun', 'Experiment']);

type Converter = (ctx: ConvertContext) => void;

function converterFor(apiVersion: string, kind: string): Converter | 'pass' | 'unsupported' {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  if (group === 'argoproj.io') {
    if (ARGO_ROLLOUTS_KINDS.has(kind)) return (ctx) => convertArgoRollouts(ctx, kind);
    if (kind === 'Application') return convertArgoApplication;
    return 'unsupported';
  }
  if (group === 'flagger.app') {
    if (kind === 'Canary') return convertCanary;
    if (kind === 'MetricTemplate') return convertMetricTemplate;
    return 'unsupported';
  }
  if (group === FLUX_SOURCE_GROUP) return kind === 'GitRepository' || kind === 'HelmRepository' || kind === 'OCIRepository' ? convertFluxSource : 'unsupported';
  if (group === 'kustomize.toolkit.fluxcd.io') return kind === 'Kustomization' ? convertFluxKustomization : 'unsupported';
  if (group === 'helm.toolkit.fluxcd.io') return kind === 'HelmRelease' ? convertHelmRelease : 'unsupported';
  return 'pass';
}

export function convert(files: readonly LintFile[]): ConvertResult {
  const findings: ConvertFinding[] = [];
  const docs: SourceDocument[] = [];
  for (const f of files) {
    const parsed = parseSource(f.path, f.text);
    for (const e of parsed.errors) findings.push({ file: e.file, line: e.line, column: e.column, field: '(root)', message: `invalid YAML: ${e.message}`, severity: 'error', object: '' });
    docs.push(...parsed.documents);
  }
  const index: SourceIndex = {
    find: (prefix, kind, namespace, name) =>
      docs.find((d) => {
        const v = d.value as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
        const ns = typeof v.metadata?.namespace === 'string' ? v.metadata.namespace : '';
        return typeof v.apiVersion === 'string' && v.apiVersion.startsWith(prefix) && v.kind === kind && v.metadata?.name === name && (ns === namespace || ns === '' || namespace === '');
      }),
  };

  const manifests: ConvertResult['manifests'] = [];
  // Passed-through documents by value, and those an emitted manifest replaces (dropped from the output at the end).
  const passed = new Map<unknown, SourceDocument>();
  const superseded = new Set<SourceDocument>();
  const origin = new Map<Manifest, { doc: SourceDocument; sourcePath: ((path: readonly PathSegment[]) => PathSegment[] | undefined) | undefined }>();
  for (const doc of docs) {
    const v = doc.value as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } } | null;
    const apiVersion = typeof v?.apiVersion === 'string' ? v.apiVersion : '';
    const kind = typeof v?.kind === 'string' ? v.kind : '';
    const object = `${kind}/${typeof v?.metadata?.name === 'string' ? v.metadata.name : ''}`;
    const start = doc.locate([]);
    const source = `${doc.file}:${start.line}`;
    const report = (path: readonly (string | number)[], severity: ConvertSeverity, message: string): void => {
      findings.push({ file: doc.file, ...doc.locate(path), field: fieldPath('', ...path) || '(root)', message, severity, object });
    };
    const how = converterFor(apiVersion, kind);
    if (how === 'pass') {
      manifests.push({ manifest: doc.value as Manifest, source });
      passed.set(doc.value, doc);
      continue;
    }
    if (how === 'unsupported') {
      report([], 'unmapped', `${apiVersion} ${kind} has no Sluice equivalent: left out`);
      continue;
    }
    const fields = new Fields(doc.value);
    fields.take('apiVersion');
    fields.take('kind');
    const emitted: Manifest[] = [];
    how({ doc, fields, index, emit: (m, sourcePath) => {
      emitted.push(m);
      origin.set(m, { doc, sourcePath });
    }, report, supersede: (d) => superseded.add(d) });
    for (const e of fields.mistyped) report(e.path, 'error', e.message);
    for (const path of fields.unread()) report(path, 'unmapped', 'not supported by Sluice: left out');
    for (const m of emitted) manifests.push({ manifest: m, source });
  }
  for (let i = manifests.length - 1; i >= 0; i--) {
    const d = passed.get(manifests[i]?.manifest);
    if (d !== undefined && superseded.has(d)) manifests.splice(i, 1);
  }

  // The self-check: what convert prints must pass lint, with the objects passed through beside it (so a generated
  // route or Service is checked against the Rollout); templates it did not write may live in the cluster.
  const checked = lint(manifests.map((m, i) => ({ path: String(i), text: stringify(m.manifest, STRINGIFY) })));
  for (const f of checked.findings) {
    if (f.severity !== 'error') continue;
    const m = manifests[Number(f.file)];
    const from = m === undefined ? undefined : origin.get(m.manifest);
    if (m === undefined || from === undefined) continue;
    // Where the converter kept the source's field paths (Argo's kinds), the finding points at the source field.
    const at = from.sourcePath?.(parseFieldPath(f.field));
    findings.push({ file: from.doc.file, ...from.doc.locate(at ?? []), field: at !== undefined ? fieldPath('', ...at) || '(root)' : f.field, message: `the converted ${m.manifest.kind} "${m.manifest.metadata.name}" does not validate: ${f.message}`, severity: 'error', object: `${m.manifest.kind}/${m.manifest.metadata.name}` });
  }
  findings.sort((a, b) => (a.file === b.file ? a.line - b.line || a.column - b.column : a.file < b.file ? -1 : 1));
  return { manifests, findings };
}

/** 0: everything mapped; 3: output produced, but some fields were left out (reported); 1: errors. */
export function convertExitCode(result: ConvertResult): 0 | 1 | 3 {
  if (result.findings.some((f) => f.severity === 'error')) return 1;
  return result.findings.some((f) => f.severity === 'unmapped') ? 3 : 0;
}

/** A multi-document YAML stream; each document says where it came from. */
export function toYaml(result: ConvertResult): string {
  return result.manifests.map((m) => `# from ${m.source}\n${stringify(m.manifest, STRINGIFY)}`).join('---\n');
}

export function formatConvertFinding(f: ConvertFinding): string {
  return `${f.file}:${f.line}:${f.column}: ${f.severity}: ${f.object === '' ? '' : `${f.object}: `}${f.field}: ${f.message}`;
}

// Semantic rules for an Application. Pure; see rollout/validate.ts for why.
import { durationError, parseDuration } from '../common/duration.ts';
import type { SpecError } from '../common/errors.ts';
import { fieldPath } from '../common/errors.ts';
import { parseIgnoreDifferences } from './ignore.ts';
import { sourceField, type Application, type ApplicationSource } from './schema.ts';

/** Retries beyond this are a loop, not a retry policy; -1 (unlimited) is the explicit way to ask for that. */
const MAX_RETRY_LIMIT = 100;
const MIN_POLL_MS = 10_000;

export function validateApplication(app: Application): SpecError[] {
  const errors: SpecError[] = [];
  const { destination, syncPolicy } = app.spec;
  errors.push(...validateSources(app.spec));

  // Which cluster a destination names is the cluster registry's to say (src/fleet): it knows the Secrets.
  if (destination.server !== undefined && destination.name !== undefined) {
    errors.push({ field: 'spec.destination.name', message: 'set either spec.destination.server or spec.destination.name, not both' });
  } else if (destination.server !== undefined && !/^https?:\/\/[^\s/]+/.test(destination.server)) {
    errors.push({ field: 'spec.destination.server', message: `must be an http(s) URL (or use spec.destination.name), got "${destination.server}"` });
  }

  (syncPolicy?.syncOptions ?? []).forEach((opt, i) => {
    if (!/^[A-Za-z][A-Za-z0-9]*=[^=\s]+$/.test(opt)) {
      errors.push({ field: fieldPath('spec.syncPolicy', 'syncOptions', i), message: `must be Key=Value (e.g. CreateNamespace=true), got "${opt}"` });
    }
  });

  const retry = syncPolicy?.retry;
  if (retry !== undefined) {
    const at = 'spec.syncPolicy.retry';
    if (retry.limit !== undefined && (retry.limit < -1 || retry.limit > MAX_RETRY_LIMIT)) {
      errors.push({ field: `${at}.limit`, message: `must be -1 (unlimited) or 0..${MAX_RETRY_LIMIT}, got ${retry.limit}` });
    }
    const b = retry.backoff;
    if (b !== undefined) {
      for (const key of ['duration', 'maxDuration'] as const) {
        const e = durationError(`${at}.backoff.${key}`, b[key]);
        if (e !== undefined) errors.push(e);
      }
      if (b.factor !== undefined && b.factor < 1) errors.push({ field: `${at}.backoff.factor`, message: `must be 1 or more, got ${b.factor}` });
      const first = safeMs(b.duration);
      const max = safeMs(b.maxDuration);
      if (first !== undefined && max !== undefined && max < first) {
        errors.push({ field: `${at}.backoff.maxDuration`, message: 'must not be shorter than backoff.duration' });
      }
    }
  }

  errors.push(...parseIgnoreDifferences(app.spec.ignoreDifferences).errors);

  const pollErr = durationError('spec.pollInterval', app.spec.pollInterval);
  if (pollErr !== undefined) errors.push(pollErr);
  else if (parseDuration(app.spec.pollInterval) < MIN_POLL_MS) {
    errors.push({ field: 'spec.pollInterval', message: `must be at least 10s (use a webhook for faster syncs), got "${app.spec.pollInterval}"` });
  }
  return errors;
}

/** Exactly one of spec.source and spec.sources; each source's fields; `ref` names unique and every `$ref` known. */
export function validateSources(spec: Pick<Application['spec'], 'source' | 'sources'>): SpecError[] {
  if (spec.source !== undefined && spec.sources !== undefined) return [{ field: 'spec.sources', message: 'set either spec.source or spec.sources, not both' }];
  if (spec.source === undefined && spec.sources === undefined) return [{ field: 'spec.source', message: 'required: set spec.source (or spec.sources for several sources)' }];
  if (spec.sources !== undefined && spec.sources.length === 0) return [{ field: 'spec.sources', message: 'must name at least one source' }];
  const list = spec.sources ?? [];
  const refs = new Set<string>();
  const errors: SpecError[] = [];
  list.forEach((s, i) => {
    if (s.ref === undefined) return;
    const at = `spec.sources[${i}].ref`;
    if (!/^[A-Za-z0-9_-]+$/.test(s.ref)) errors.push({ field: at, message: `must be letters, digits, '-' or '_', got "${s.ref}"` });
    else if (refs.has(s.ref)) errors.push({ field: at, message: `"${s.ref}" is the ref of an earlier source too` });
    else refs.add(s.ref);
    if (s.chart !== undefined) errors.push({ field: at, message: 'a ref source lends files from Git: it cannot be a chart from a Helm repository' });
  });
  const all = spec.source !== undefined ? [spec.source] : list;
  all.forEach((s, i) => errors.push(...validateSource(s, sourceField(spec, i), spec.sources === undefined ? undefined : refs)));
  return errors;
}

function validateSource(source: ApplicationSource, at: string, refs: Set<string> | undefined): SpecError[] {
  const errors: SpecError[] = [];
  // isomorphic-git speaks HTTP(S) only: no ssh://, git@host:, git:// or file paths.
  let url: URL | undefined;
  try {
    url = new URL(source.repoURL);
  } catch {
    url = undefined;
  }
  // A chart may also come from an OCI registry (oci://host/path), as Argo CD and Helm take it.
  const oci = source.chart !== undefined && url?.protocol === 'oci:';
  if (!oci && (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:'))) {
    errors.push({ field: `${at}.repoURL`, message: `must be an http(s) URL (Sluice clones over HTTPS only), got "${source.repoURL}"` });
  }
  if (source.path !== undefined) {
    const segments = source.path.split('/');
    if (source.path.startsWith('/')) errors.push({ field: `${at}.path`, message: `must be relative to the repository root, got "${source.path}"` });
    else if (segments.includes('..')) errors.push({ field: `${at}.path`, message: `must not contain "..", got "${source.path}"` });
  }
  if (refs === undefined && source.ref !== undefined) errors.push({ field: `${at}.ref`, message: 'ref names a source of spec.sources: use spec.sources' });
  errors.push(...validateHelm(source.helm, `${at}.helm`, refs));
  return errors;
}

function safeMs(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(value);
  } catch {
    return undefined;
  }
}

/** Helm's release name rule (a DNS label of at most 53 characters, so its derived names fit). */
const RELEASE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function validateHelm(helm: ApplicationSource['helm'], at: string, refs: Set<string> | undefined): SpecError[] {
  if (helm === undefined) return [];
  const errors: SpecError[] = [];
  const repoPath = (field: string, p: string, allowRef: boolean): void => {
    if (p.startsWith('$')) {
      const name = /^\$([^/]+)\/./.exec(p)?.[1];
      if (refs === undefined) errors.push({ field, message: `"${p}" names another source: that needs spec.sources` });
      else if (!allowRef) errors.push({ field, message: `"${p}": only valueFiles may name another source` });
      else if (name === undefined || !refs.has(name)) errors.push({ field, message: `"${p}" names no source of spec.sources with that ref (known: ${[...refs].join(', ') || 'none'})` });
    } else if (p.startsWith('/') || /^[a-z][a-z0-9+.-]*:\/\//i.test(p)) errors.push({ field, message: `must be a path inside the repository, relative to the chart, got "${p}"` });
  };
  if (helm.releaseName !== undefined && (helm.releaseName.length > 53 || !RELEASE_NAME.test(helm.releaseName))) {
    errors.push({ field: `${at}.releaseName`, message: `must be a lowercase DNS label of at most 53 characters, got "${helm.releaseName}"` });
  }
  (helm.valueFiles ?? []).forEach((f, i) => repoPath(fieldPath(at, 'valueFiles', i), f, true));
  (helm.fileParameters ?? []).forEach((p, i) => repoPath(`${fieldPath(at, 'fileParameters', i)}.path`, p.path, false));
  (helm.parameters ?? []).forEach((p, i) => {
    if (p.name.trim() === '') errors.push({ field: `${fieldPath(at, 'parameters', i)}.name`, message: 'must not be empty' });
  });
  if (helm.kubeVersion !== undefined && !/^v?\d+\.\d+(\.\d+)?$/.test(helm.kubeVersion)) {
    errors.push({ field: `${at}.kubeVersion`, message: `must be a Kubernetes version like 1.36.3, got "${helm.kubeVersion}"` });
  }
  return errors;
}

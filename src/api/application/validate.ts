// Semantic rules for an Application. Pure; see rollout/validate.ts for why.
import { durationError, parseDuration } from '../common/duration.ts';
import type { SpecError } from '../common/errors.ts';
import { fieldPath } from '../common/errors.ts';
import { parseIgnoreDifferences } from './ignore.ts';
import { IN_CLUSTER_NAME, IN_CLUSTER_SERVER, type Application } from './schema.ts';

/** Retries beyond this are a loop, not a retry policy; -1 (unlimited) is the explicit way to ask for that. */
const MAX_RETRY_LIMIT = 100;
const MIN_POLL_MS = 10_000;

export function validateApplication(app: Application): SpecError[] {
  const errors: SpecError[] = [];
  const { source, destination, syncPolicy } = app.spec;

  // isomorphic-git speaks HTTP(S) only: no ssh://, git@host:, git:// or file paths.
  let url: URL | undefined;
  try {
    url = new URL(source.repoURL);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    errors.push({ field: 'spec.source.repoURL', message: `must be an http(s) URL (Sluice clones over HTTPS only), got "${source.repoURL}"` });
  }
  if (source.path !== undefined) {
    const segments = source.path.split('/');
    if (source.path.startsWith('/')) errors.push({ field: 'spec.source.path', message: `must be relative to the repository root, got "${source.path}"` });
    else if (segments.includes('..')) errors.push({ field: 'spec.source.path', message: `must not contain "..", got "${source.path}"` });
  }

  errors.push(...validateHelm(source.helm));

  if (destination.server !== undefined && destination.server.replace(/\/+$/, '') !== IN_CLUSTER_SERVER) {
    errors.push({
      field: 'spec.destination.server',
      message: `Sluice deploys only into the cluster it runs in: use ${IN_CLUSTER_SERVER} or omit it, got "${destination.server}"`,
    });
  }
  if (destination.name !== undefined && destination.name !== IN_CLUSTER_NAME) {
    errors.push({ field: 'spec.destination.name', message: `Sluice deploys only into the cluster it runs in: use "${IN_CLUSTER_NAME}" or omit it, got "${destination.name}"` });
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

function validateHelm(helm: Application['spec']['source']['helm']): SpecError[] {
  if (helm === undefined) return [];
  const at = 'spec.source.helm';
  const errors: SpecError[] = [];
  const repoPath = (field: string, p: string): void => {
    if (p.startsWith('$')) errors.push({ field, message: `"${p}" names another source; several sources are not supported yet` });
    else if (p.startsWith('/') || /^[a-z][a-z0-9+.-]*:\/\//i.test(p)) errors.push({ field, message: `must be a path inside the repository, relative to the chart, got "${p}"` });
  };
  if (helm.releaseName !== undefined && (helm.releaseName.length > 53 || !RELEASE_NAME.test(helm.releaseName))) {
    errors.push({ field: `${at}.releaseName`, message: `must be a lowercase DNS label of at most 53 characters, got "${helm.releaseName}"` });
  }
  (helm.valueFiles ?? []).forEach((f, i) => repoPath(fieldPath(at, 'valueFiles', i), f));
  (helm.fileParameters ?? []).forEach((p, i) => repoPath(`${fieldPath(at, 'fileParameters', i)}.path`, p.path));
  (helm.parameters ?? []).forEach((p, i) => {
    if (p.name.trim() === '') errors.push({ field: `${fieldPath(at, 'parameters', i)}.name`, message: 'must not be empty' });
  });
  if (helm.kubeVersion !== undefined && !/^v?\d+\.\d+(\.\d+)?$/.test(helm.kubeVersion)) {
    errors.push({ field: `${at}.kubeVersion`, message: `must be a Kubernetes version like 1.36.3, got "${helm.kubeVersion}"` });
  }
  return errors;
}

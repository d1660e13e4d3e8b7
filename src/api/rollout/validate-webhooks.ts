// spec.strategy.canary.webhooks: rules the schema cannot say, each naming the field.
import { durationError } from '../common/duration.ts';
import { fieldPath, type SpecError } from '../common/errors.ts';
import type { RolloutWebhook } from './schema.ts';

export function webhookErrors(base: string, hooks: readonly RolloutWebhook[] | undefined): SpecError[] {
  const errors: SpecError[] = [];
  const seen = new Set<string>();
  (hooks ?? []).forEach((h, i) => {
    const at = fieldPath(base, 'webhooks', i);
    if (h.name === '') errors.push({ field: `${at}.name`, message: 'required' });
    else if (seen.has(h.name)) errors.push({ field: `${at}.name`, message: `"${h.name}" is the name of an earlier webhook: names must be unique` });
    seen.add(h.name);
    const urlError = httpUrlError(h.url);
    if (urlError !== undefined) errors.push({ field: `${at}.url`, message: urlError });
    for (const key of ['timeout', 'interval'] as const) {
      const e = durationError(`${at}.${key}`, h[key]);
      if (e !== undefined) errors.push(e);
    }
  });
  return errors;
}

function httpUrlError(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `must be an http(s) URL, got "${raw}"`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be an http(s) URL, got "${raw}"`;
  return undefined;
}

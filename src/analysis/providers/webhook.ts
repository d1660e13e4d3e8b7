// The webhook provider: Flagger's webhook as a check. It POSTs Flagger's JSON payload (name, namespace, phase,
// checksum, metadata) and passes on 2xx; a 4xx is the hook saying no (Failed). Network errors, timeouts and 5xx
// answers are retried `retries` times; then they are the provider's error (an Error measurement, as for any
// provider, which consecutiveErrorLimit turns into a failed run).
import type { Metric } from '../../api/analysis/schema.ts';
import { parseDuration } from '../../api/common/duration.ts';
import type { Observation } from '../decide/judge.ts';
import { ProviderError, type MeasureContext, type MetricProvider } from './provider.ts';

const DEFAULT_TIMEOUT_MS = 10_000;
/** What is kept of an answer for the measurement's message. */
const MAX_MESSAGE = 200;

/** Flagger's webhook payload. */
export interface WebhookPayload {
  name: string;
  namespace: string;
  phase: string;
  checksum: string;
  metadata: Record<string, string>;
}

export class WebhookProvider implements MetricProvider {
  readonly type = 'webhook';

  async measure(metric: Metric, signal: AbortSignal, context?: MeasureContext): Promise<Observation> {
    const spec = metric.provider.webhook;
    if (spec === undefined) throw new ProviderError(this.type, 'config', `metric "${metric.name}" has no webhook provider`);
    let url: URL;
    try {
      url = new URL(spec.url);
    } catch {
      throw new ProviderError(this.type, 'config', `provider.webhook.url is not a URL: "${spec.url}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ProviderError(this.type, 'config', `provider.webhook.url must be http(s), got ${url.protocol}`);
    let timeoutMs = DEFAULT_TIMEOUT_MS;
    try {
      if (spec.timeout !== undefined) timeoutMs = parseDuration(spec.timeout);
    } catch (err) {
      throw new ProviderError(this.type, 'config', `provider.webhook.timeout: ${err instanceof Error ? err.message : String(err)}`);
    }
    const run = context?.run;
    const payload: WebhookPayload = { name: run?.rollout ?? run?.name ?? metric.name, namespace: run?.namespace ?? '', phase: 'Progressing', checksum: run?.checksum ?? '', metadata: spec.metadata ?? {} };
    const attempts = (spec.retries ?? 0) + 1;
    let last: ProviderError | undefined;
    for (let i = 0; i < attempts; i++) {
      if (signal.aborted) throw new ProviderError(this.type, 'aborted', 'the measurement was aborted');
      const out = await this.post(url, payload, timeoutMs, signal);
      if (!(out instanceof ProviderError)) return out;
      if (out.reason === 'aborted') throw out;
      last = out;
    }
    const tries = attempts > 1 ? ` (after ${attempts} attempts)` : '';
    throw new ProviderError(this.type, last?.reason ?? 'network', `${last?.message.replace(/^webhook: /, '') ?? 'no answer'}${tries}`, last?.status);
  }

  /** One POST: a verdict when the hook answered 2xx or 4xx; a ProviderError worth retrying otherwise. */
  private async post(url: URL, payload: WebhookPayload, timeoutMs: number, signal: AbortSignal): Promise<Observation | ProviderError> {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload), signal: AbortSignal.any([signal, timeout]), redirect: 'error' });
      const text = (await res.text()).slice(0, MAX_MESSAGE);
      if (res.status >= 200 && res.status < 300) return { kind: 'verdict', judgement: { phase: 'Successful', value: String(res.status) }, display: String(res.status) };
      if (res.status >= 400 && res.status < 500) return { kind: 'verdict', judgement: { phase: 'Failed', value: String(res.status), message: `the webhook answered HTTP ${res.status}${text !== '' ? `: ${text}` : ''}` }, display: String(res.status) };
      return new ProviderError(this.type, 'http', `HTTP ${res.status}${text !== '' ? `: ${text}` : ''}`, res.status);
    } catch (err) {
      if (signal.aborted) return new ProviderError(this.type, 'aborted', 'the measurement was aborted');
      if (timeout.aborted) return new ProviderError(this.type, 'timeout', `no answer within ${timeoutMs} ms`);
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      return new ProviderError(this.type, 'network', cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err)));
    }
  }
}

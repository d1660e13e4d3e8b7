// The webhook provider: Flagger's webhook as a check. It POSTs Flagger's JSON payload (name, namespace, phase,
// checksum, metadata) and passes on 2xx; a 4xx is the hook saying no (Failed). Network errors, timeouts and 5xx
// answers are retried `retries` times; then they are the provider's error (an Error measurement, as for any
// provider, which consecutiveErrorLimit turns into a failed run).
import type { Metric } from '../../api/analysis/schema.ts';
import { parseDuration } from '../../api/common/duration.ts';
import { failureText, postWebhook, webhookUrl, type WebhookPayload } from '../../webhooks/post.ts';
import type { Observation } from '../decide/judge.ts';
import { ProviderError, type MeasureContext, type MetricProvider } from './provider.ts';

export type { WebhookPayload } from '../../webhooks/post.ts';

const DEFAULT_TIMEOUT_MS = 10_000;

export class WebhookProvider implements MetricProvider {
  readonly type = 'webhook';

  async measure(metric: Metric, signal: AbortSignal, context?: MeasureContext): Promise<Observation> {
    const spec = metric.provider.webhook;
    if (spec === undefined) throw new ProviderError(this.type, 'config', `metric "${metric.name}" has no webhook provider`);
    const url = webhookUrl(spec.url);
    if (typeof url === 'string') throw new ProviderError(this.type, 'config', `provider.webhook.url ${url}`);
    let timeoutMs = DEFAULT_TIMEOUT_MS;
    try {
      if (spec.timeout !== undefined) timeoutMs = parseDuration(spec.timeout);
    } catch (err) {
      throw new ProviderError(this.type, 'config', `provider.webhook.timeout: ${err instanceof Error ? err.message : String(err)}`);
    }
    const run = context?.run;
    const payload: WebhookPayload = { name: run?.rollout ?? run?.name ?? metric.name, namespace: run?.namespace ?? '', phase: 'Progressing', checksum: run?.checksum ?? '', metadata: spec.metadata ?? {} };
    const out = await postWebhook(url, payload, { timeoutMs, retries: spec.retries ?? 0, signal });
    if (out.kind === 'failure') {
      if (out.reason === 'aborted') throw new ProviderError(this.type, 'aborted', 'the measurement was aborted');
      throw new ProviderError(this.type, out.reason, failureText(out), out.status);
    }
    const value = String(out.status);
    if (out.ok) return { kind: 'verdict', judgement: { phase: 'Successful', value }, display: value };
    return { kind: 'verdict', judgement: { phase: 'Failed', value, message: `the webhook answered HTTP ${out.status}${out.text !== '' ? `: ${out.text}` : ''}` }, display: value };
  }
}

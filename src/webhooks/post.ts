// Flagger's webhook call, shared by the webhook metric provider and the Rollout's webhook gates: a POST of Flagger's
// JSON payload with a per-attempt timeout. A 2xx or 4xx is the hook's answer; network errors, timeouts and 5xx
// answers are worth another attempt, up to `retries` more.

/** Flagger's webhook payload. */
export interface WebhookPayload {
  name: string;
  namespace: string;
  phase: string;
  checksum: string;
  metadata: Record<string, string>;
}

export type WebhookFailure = 'timeout' | 'network' | 'http' | 'aborted';

export type WebhookOutcome =
  /** The hook answered (2xx or 4xx): `ok` on 2xx. */
  | { kind: 'answer'; ok: boolean; status: number; text: string }
  /** No answer worth keeping after every attempt. */
  | { kind: 'failure'; reason: WebhookFailure; message: string; status?: number; attempts: number };

/** What is kept of an answer for a message. */
const MAX_TEXT = 200;

export interface PostOptions {
  timeoutMs: number;
  retries: number;
  signal: AbortSignal;
}

export async function postWebhook(url: URL, payload: WebhookPayload, opts: PostOptions): Promise<WebhookOutcome> {
  const attempts = opts.retries + 1;
  let last: WebhookOutcome | undefined;
  for (let i = 0; i < attempts; i++) {
    if (opts.signal.aborted) return { kind: 'failure', reason: 'aborted', message: 'aborted', attempts: i };
    const out = await postOnce(url, payload, opts.timeoutMs, opts.signal);
    if (out.kind === 'answer' || out.reason === 'aborted') return out;
    last = { ...out, attempts: i + 1 };
  }
  return last ?? { kind: 'failure', reason: 'network', message: 'no answer', attempts };
}

/** Why a failure happened, in a line: "no answer within 500 ms (after 3 attempts)". */
export function failureText(f: Extract<WebhookOutcome, { kind: 'failure' }>): string {
  return `${f.message}${f.attempts > 1 ? ` (after ${f.attempts} attempts)` : ''}`;
}

async function postOnce(url: URL, payload: WebhookPayload, timeoutMs: number, signal: AbortSignal): Promise<WebhookOutcome> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload), signal: AbortSignal.any([signal, timeout]), redirect: 'error' });
    const text = (await res.text()).slice(0, MAX_TEXT);
    if (res.status >= 200 && res.status < 300) return { kind: 'answer', ok: true, status: res.status, text };
    if (res.status >= 400 && res.status < 500) return { kind: 'answer', ok: false, status: res.status, text };
    return { kind: 'failure', reason: 'http', message: `HTTP ${res.status}${text !== '' ? `: ${text}` : ''}`, status: res.status, attempts: 1 };
  } catch (err) {
    if (signal.aborted) return { kind: 'failure', reason: 'aborted', message: 'aborted', attempts: 1 };
    if (timeout.aborted) return { kind: 'failure', reason: 'timeout', message: `no answer within ${timeoutMs} ms`, attempts: 1 };
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { kind: 'failure', reason: 'network', message: cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err)), attempts: 1 };
  }
}

/** A webhook URL as the calls need it, or the reason it is not one (for an error naming the field). */
export function webhookUrl(raw: string): URL | string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `not a URL: "${raw}"`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `must be an http(s) URL, got ${url.protocol}`;
  return url;
}

// The HTTP call every webhook-style service makes, with the classification the delivery queue needs.
import { DeliveryError } from './port.ts';

const TIMEOUT_MS = 10_000;

/** Retry-After as seconds or an HTTP date, in milliseconds. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const s = Number(header);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export interface HttpRequest {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

/** Sends one request; a 2xx resolves with the body, anything else throws DeliveryError (never echoing credentials). */
export async function httpSend(req: HttpRequest, signal?: AbortSignal): Promise<string> {
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    throw new DeliveryError('the service URL is not a valid URL', false);
  }
  // Only the origin: a webhook URL's path is often its secret (Slack, Teams, Discord).
  const where = `${req.method ?? 'POST'} ${url.origin}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: req.method ?? 'POST',
      headers: { 'content-type': 'application/json', ...req.headers },
      body: req.body,
      signal: signal === undefined ? AbortSignal.timeout(TIMEOUT_MS) : AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)]),
    });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
    throw new DeliveryError(`${where}: ${cause}`, true);
  }
  const text = await res.text().catch(() => '');
  if (res.ok) return text;
  const detail = `${where}: HTTP ${res.status}${text !== '' ? ` ${text.slice(0, 200)}` : ''}`;
  if (res.status === 429 || res.status >= 500 || res.status === 408) throw new DeliveryError(detail, true, retryAfterMs(res.headers.get('retry-after')));
  throw new DeliveryError(detail, false);
}

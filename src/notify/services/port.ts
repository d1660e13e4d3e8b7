// The one port every notification service implements, and the one error it throws.

/** A rendered notification: the template tree with every string rendered (message, email.subject, slack.blocks, ...). */
export type Rendered = { readonly [key: string]: unknown };

export interface Destination {
  /** The subscription's recipient: a channel, an address, a named webhook; '' when the service needs none. */
  recipient: string;
}

export interface NotificationService {
  readonly type: string;
  /** Delivers once; throws DeliveryError. Resolves false when the notification has nothing for this service. */
  send(n: Rendered, to: Destination, signal?: AbortSignal): Promise<boolean>;
}

export class DeliveryError extends Error {
  /** Worth trying again (a 5xx, a 429, a network error), as opposed to a refusal that will not change. */
  readonly retryable: boolean;
  /** The receiver's Retry-After, when it gave one. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryable: boolean, retryAfterMs?: number) {
    super(message);
    this.name = 'DeliveryError';
    this.retryable = retryable;
    this.retryAfterMs = retryAfterMs;
  }
}

/** A field of the rendered notification, as a string (undefined when absent or empty). */
export function field(n: Rendered, ...path: string[]): string | undefined {
  let v: unknown = n;
  for (const p of path) v = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)[p] : undefined;
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

/** A field holding JSON (Slack's attachments/blocks, a Teams card): parsed, or a clear error naming it. */
export function jsonField(n: Rendered, ...path: string[]): unknown {
  const s = field(n, ...path);
  if (s === undefined) return undefined;
  try {
    return JSON.parse(s);
  } catch (err) {
    throw new DeliveryError(`${path.join('.')} is not valid JSON after rendering: ${err instanceof Error ? err.message : String(err)}`, false);
  }
}

// Every failure that crosses the kube/ boundary is one of these: callers branch on `kind`, never on HTTP details.

export type KubeErrorKind =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'Gone'
  | 'Forbidden'
  | 'Unauthorized'
  | 'TooManyRequests'
  | 'Timeout'
  | 'ServerError'
  | 'Network'
  | 'BadRequest'
  | 'Other';

export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  readonly kind: KubeErrorKind;
  readonly status: number;
  readonly reason: string | undefined;
  /** Seconds the server asked us to wait (429/503 Retry-After, or status details). */
  readonly retryAfterSeconds: number | undefined;
  readonly causes: { field?: string; message?: string }[];

  constructor(init: { kind: KubeErrorKind; status: number; reason?: string; message: string; retryAfterSeconds?: number; causes?: { field?: string; message?: string }[]; cause?: unknown }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.status = init.status;
    this.reason = init.reason;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.causes = init.causes ?? [];
  }

  /** Worth retrying with backoff: the request may succeed later unchanged. */
  get transient(): boolean {
    return ['Conflict', 'TooManyRequests', 'Timeout', 'ServerError', 'Network', 'Gone'].includes(this.kind);
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof KubeApiError && e.kind === 'NotFound';
export const isConflict = (e: unknown): boolean => e instanceof KubeApiError && (e.kind === 'Conflict' || e.kind === 'AlreadyExists');
export const isGone = (e: unknown): boolean => e instanceof KubeApiError && e.kind === 'Gone';

interface StatusBody {
  kind?: string;
  reason?: string;
  message?: string;
  code?: number;
  details?: { retryAfterSeconds?: number; causes?: { field?: string; message?: string }[] };
}

function kindOf(status: number, reason: string | undefined): KubeErrorKind {
  switch (status) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 409:
      return reason === 'AlreadyExists' ? 'AlreadyExists' : 'Conflict';
    case 410:
      return 'Gone';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    case 504:
      return 'Timeout';
    default:
      return status >= 500 ? 'ServerError' : 'Other';
  }
}

/** Maps an apiserver response (status code + body text, a metav1.Status when it is JSON) to a typed error. */
export function errorFromResponse(status: number, bodyText: string, retryAfterHeader?: string | null): KubeApiError {
  let body: StatusBody = {};
  try {
    body = JSON.parse(bodyText) as StatusBody;
  } catch {
    // not JSON: keep the text as the message
  }
  const headerRetry = retryAfterHeader !== null && retryAfterHeader !== undefined && /^\d+$/.test(retryAfterHeader) ? Number(retryAfterHeader) : undefined;
  return new KubeApiError({
    kind: kindOf(status, body.reason),
    status,
    reason: body.reason,
    message: body.message ?? (bodyText.slice(0, 500) || `HTTP ${status}`),
    retryAfterSeconds: body.details?.retryAfterSeconds ?? headerRetry,
    causes: body.details?.causes,
  });
}

export function networkError(err: unknown, what: string): KubeApiError {
  const msg = err instanceof Error ? err.message : String(err);
  const timeout = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
  return new KubeApiError({ kind: timeout ? 'Timeout' : 'Network', status: 0, message: `${what}: ${msg}`, cause: err });
}

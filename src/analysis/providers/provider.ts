// The metric-provider port. A provider takes one metric (args already substituted) and returns what it observed;
// judging the observation against the conditions is decide/judge.ts's job, so every provider is judged the same way.
import type { Measurement, Metric } from '../../api/analysis/schema.ts';
import type { Observation } from '../decide/judge.ts';

export type ProviderErrorReason = 'config' | 'timeout' | 'network' | 'http' | 'invalid-response' | 'aborted';

/** Why a measurement could not be taken. The measurement becomes Error (retried; see consecutiveErrorLimit). */
export class ProviderError extends Error {
  readonly provider: string;
  readonly reason: ProviderErrorReason;
  readonly status: number | undefined;

  constructor(provider: string, reason: ProviderErrorReason, message: string, status?: number) {
    super(`${provider}: ${message}`);
    this.name = 'ProviderError';
    this.provider = provider;
    this.reason = reason;
    this.status = status;
  }
}

/** What a provider may know besides the metric: the metric's previous measurement (for look-to-look state). */
export interface MeasureContext {
  previous?: Measurement | undefined;
  /** Milliseconds since the epoch, the controller's clock. */
  nowMs: number;
  /** The AnalysisRun measured: a provider that creates objects (the job provider) has them owned by it. */
  run?: { name: string; namespace: string; uid: string; rollout?: string | undefined; checksum?: string | undefined } | undefined;
  /** The metric's measurement under way, when this look resumes it (see Observation 'running'). */
  inProgress?: Measurement | undefined;
  /** The 1-based number of this measurement of the metric, stable until it is recorded (names what it creates). */
  attempt?: number | undefined;
}

export interface MetricProvider {
  /** The key of `metric.provider` this implementation serves ('prometheus', 'web'). */
  readonly type: string;
  /**
   * Takes one measurement. Resolves with an Observation (a value, or explicitly no data); rejects only with
   * ProviderError. `signal` aborts it (shutdown, lost leadership); each provider also enforces its own timeout.
   */
  measure(metric: Metric, signal: AbortSignal, context?: MeasureContext): Promise<Observation>;
  /**
   * For providers whose measurements stay under way: true when a look now would find one finished (read from a
   * cache, no request), so the controller resumes it at once instead of at its resumeAt.
   */
  finished?(inProgress: Measurement, namespace: string): boolean;
  /** Ends a measurement under way because its run ended (the job provider deletes the Job). Idempotent. */
  terminate?(inProgress: Measurement, namespace: string, signal: AbortSignal): Promise<void>;
}

/** Picks the provider a metric names; a metric naming none (or one this build lacks) is a config error. */
export function providerFor(metric: Metric, providers: readonly MetricProvider[]): MetricProvider {
  const keys = Object.entries(metric.provider).filter(([, v]) => v !== undefined).map(([k]) => k);
  const p = providers.find((x) => keys.includes(x.type));
  if (p === undefined) throw new ProviderError(keys.join(',') || 'none', 'config', `no provider for ${keys.length === 0 ? 'a metric without provider' : keys.join(', ')} (supported: ${providers.map((x) => x.type).join(', ')})`);
  return p;
}

/** Turns a header list into a record, refusing duplicates the way a person would not expect them merged. */
export function headerRecord(provider: string, headers: readonly { key: string; value: string }[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of headers ?? []) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h.key)) throw new ProviderError(provider, 'config', `invalid header name "${h.key}"`);
    if (/[\r\n]/.test(h.value)) throw new ProviderError(provider, 'config', `header "${h.key}" has a line break in its value`);
    out[h.key] = h.value;
  }
  return out;
}

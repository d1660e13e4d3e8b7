// The Prometheus provider: one instant query through prometheus-query. The driver parses samples with parseFloat,
// which reads "+Inf" and "-Inf" as NaN, and throws plain objects; so this adapter keeps the raw response body
// (responseInterceptor), validates it with zod and parses the special values itself, and maps thrown objects to
// ProviderError. Cancellation goes through axios' `signal` (the driver has no AbortSignal of its own).
import { PrometheusDriver } from 'prometheus-query';
import { z } from 'zod';
import type { Metric } from '../../api/analysis/schema.ts';
import { formatValue, type Observation } from '../decide/judge.ts';
import { headerRecord, ProviderError, type MetricProvider } from './provider.ts';

const DEFAULT_TIMEOUT_SECONDS = 10;

const sample = z.tuple([z.number(), z.string()]);
const responseSchema = z.object({
  status: z.literal('success'),
  data: z.discriminatedUnion('resultType', [
    z.object({ resultType: z.literal('vector'), result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: sample })) }),
    z.object({ resultType: z.literal('scalar'), result: sample }),
    z.object({ resultType: z.literal('matrix'), result: z.array(z.unknown()) }),
    z.object({ resultType: z.literal('string'), result: z.unknown() }),
  ]),
  warnings: z.array(z.string()).optional(),
});

/** Prometheus' float spelling (Go's strconv.FormatFloat): "+Inf", "-Inf", "NaN" or a decimal. */
export function parseSampleValue(s: string): number {
  if (s === '+Inf' || s === 'Inf') return Number.POSITIVE_INFINITY;
  if (s === '-Inf') return Number.NEGATIVE_INFINITY;
  if (s === 'NaN') return Number.NaN;
  const n = Number(s);
  if (s.trim() === '' || Number.isNaN(n)) throw new Error(`not a sample value: ${JSON.stringify(s)}`);
  return n;
}

/** An instant-query body as an observation: a vector is an array of numbers, a scalar a number (as in Argo). */
export function observe(body: unknown): Observation {
  const parsed = responseSchema.safeParse(body);
  if (!parsed.success) throw new ProviderError('prometheus', 'invalid-response', `unexpected response: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const data = parsed.data.data;
  let values: number[];
  try {
    if (data.resultType === 'vector') values = data.result.map((s) => parseSampleValue(s.value[1]));
    else if (data.resultType === 'scalar') values = [parseSampleValue(data.result[1])];
    else throw new ProviderError('prometheus', 'invalid-response', `a ${data.resultType} result cannot be judged; the query must return a vector or a scalar`);
  } catch (err) {
    if (err instanceof ProviderError) throw err;
    throw new ProviderError('prometheus', 'invalid-response', err instanceof Error ? err.message : String(err));
  }
  const result = data.resultType === 'scalar' ? (values[0] as number) : values;
  const display = formatValue(result);
  // No data is distinct from a value: an empty vector, or nothing but NaN (0/0 from a rate over no traffic).
  if (values.length === 0) return { kind: 'missing', reason: 'empty vector', display };
  if (values.every((v) => Number.isNaN(v))) return { kind: 'missing', reason: 'NaN', display, result };
  return { kind: 'value', result, display };
}

type DriverError = { errorType?: string; error?: string; httpStatus?: number; code?: string };

/** Where and how to query: the prometheus provider's fields (the judge provider has the same). */
export interface PrometheusTarget {
  address?: string | undefined;
  timeout?: number | undefined;
  headers?: readonly { key: string; value: string }[] | undefined;
}

/** One instant query; resolves with the raw response body (validated by the caller), rejects with ProviderError. */
export async function instantQuery(provider: string, target: PrometheusTarget, query: string, signal: AbortSignal): Promise<unknown> {
  if (target.address === undefined || target.address === '') throw new ProviderError(provider, 'config', `provider.${provider}.address is required`);
  let endpoint: URL;
  try {
    endpoint = new URL(target.address);
  } catch {
    throw new ProviderError(provider, 'config', `provider.${provider}.address is not a URL: "${target.address}"`);
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') throw new ProviderError(provider, 'config', `provider.${provider}.address must be http(s), got ${endpoint.protocol}`);
  const timeoutMs = (target.timeout !== undefined && target.timeout > 0 ? target.timeout : DEFAULT_TIMEOUT_SECONDS) * 1000;
  if (signal.aborted) throw new ProviderError(provider, 'aborted', 'aborted before the query');

  let raw: unknown;
  const driver = new PrometheusDriver({
    endpoint: target.address.replace(/\/+$/, ''),
    baseURL: '/api/v1/',
    headers: headerRecord(provider, target.headers),
    timeout: timeoutMs,
    requestInterceptor: {
      onFulfilled: (config) => {
        config.signal = signal;
        return config;
      },
    },
    responseInterceptor: {
      onFulfilled: (res) => {
        raw = res.data;
        return res;
      },
    },
  });
  try {
    // The evaluation timeout tells Prometheus to give up too, so a slow query does not keep running there.
    await driver.instantQuery(query, new Date(), `${Math.ceil(timeoutMs / 1000)}s`);
  } catch (err) {
    throw mapError(provider, err, signal, timeoutMs);
  }
  return raw;
}

/** An instant query that must answer a vector: its series with their labels and values. */
export async function instantVector(provider: string, target: PrometheusTarget, query: string, signal: AbortSignal): Promise<{ labels: Record<string, string>; value: number }[]> {
  const parsed = responseSchema.safeParse(await instantQuery(provider, target, query, signal));
  if (!parsed.success) throw new ProviderError(provider, 'invalid-response', `unexpected response: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const data = parsed.data.data;
  if (data.resultType !== 'vector') throw new ProviderError(provider, 'invalid-response', `expected a vector, got a ${data.resultType}`);
  try {
    return data.result.map((s) => ({ labels: s.metric, value: parseSampleValue(s.value[1]) }));
  } catch (err) {
    throw new ProviderError(provider, 'invalid-response', err instanceof Error ? err.message : String(err));
  }
}

export class PrometheusProvider implements MetricProvider {
  readonly type = 'prometheus';

  async measure(metric: Metric, signal: AbortSignal): Promise<Observation> {
    const spec = metric.provider.prometheus;
    if (spec === undefined) throw new ProviderError(this.type, 'config', `metric "${metric.name}" has no prometheus provider`);
    return observe(await instantQuery(this.type, spec, spec.query, signal));
  }
}

function mapError(provider: string, err: unknown, signal: AbortSignal, timeoutMs: number): ProviderError {
  if (err instanceof ProviderError) return err;
  if (signal.aborted) return new ProviderError(provider, 'aborted', 'the measurement was aborted');
  const e = (typeof err === 'object' && err !== null ? err : { error: String(err) }) as DriverError;
  switch (e.errorType) {
    case 'timeout_error':
      return new ProviderError(provider, 'timeout', `no answer within ${timeoutMs} ms`);
    case 'http_error':
      return new ProviderError(provider, 'http', `HTTP ${e.httpStatus ?? '?'}: ${e.error ?? 'error'}`, e.httpStatus);
    case 'network_error':
    case 'ssl_error':
      return new ProviderError(provider, 'network', e.error ?? e.code ?? 'network error');
    case 'client_error':
      return new ProviderError(provider, 'invalid-response', e.error ?? 'unexpected response');
    default:
      // The driver converts axios failures itself; anything else is a bug in the response (e.g. QueryResult parsing).
      return new ProviderError(provider, 'invalid-response', err instanceof Error ? err.message : (e.error ?? String(err)));
  }
}

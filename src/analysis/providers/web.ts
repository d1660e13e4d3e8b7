// The web provider: an HTTP request whose JSON answer (or the part a jsonPath selects) is the result. Uses fetch
// (undici) with a timeout and the caller's AbortSignal; the body is validated as JSON with zod before it is judged.
import { z } from 'zod';
import type { Metric } from '../../api/analysis/schema.ts';
import { formatValue, type Observation } from '../decide/judge.ts';
import type { Value } from '../expressions/evaluate.ts';
import { headerRecord, ProviderError, type MetricProvider } from './provider.ts';

const DEFAULT_TIMEOUT_SECONDS = 10;
/** Answers larger than this are refused: a metric endpoint returns a few numbers, not a download. */
const MAX_BODY_BYTES = 1 << 20;

const jsonSchema = z.json();

type Step = { key: string } | { index: number };

/**
 * Argo's jsonPath subset that metric endpoints use: `{$.data.ok}`, `$.items[0].value`, `$['a b']`. The braces and
 * the leading `$` are optional. Returns the steps, or throws ProviderError('config') naming the path.
 */
export function parseJsonPath(path: string): Step[] {
  let p = path.trim();
  if (p.startsWith('{') && p.endsWith('}')) p = p.slice(1, -1).trim();
  if (p.startsWith('$')) p = p.slice(1);
  const steps: Step[] = [];
  const re = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[(?:'([^']*)'|"([^"]*)")\]/y;
  while (re.lastIndex < p.length) {
    const at = re.lastIndex;
    const m = re.exec(p);
    if (m === null) throw new ProviderError('web', 'config', `jsonPath "${path}": cannot read "${p.slice(at)}" (supported: .key, [n], ['key'])`);
    if (m[1] !== undefined) steps.push({ key: m[1] });
    else if (m[2] !== undefined) steps.push({ index: Number(m[2]) });
    else steps.push({ key: (m[3] ?? m[4]) as string });
  }
  return steps;
}

export function selectJsonPath(data: Value, steps: readonly Step[]): Value {
  let cur: Value = data;
  for (const s of steps) {
    if ('index' in s) cur = Array.isArray(cur) ? (cur[s.index] as Value) : undefined;
    else cur = typeof cur === 'object' && cur !== null && !Array.isArray(cur) && Object.hasOwn(cur, s.key) ? (cur as Record<string, Value>)[s.key] : undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

export class WebProvider implements MetricProvider {
  readonly type = 'web';

  async measure(metric: Metric, signal: AbortSignal): Promise<Observation> {
    const spec = metric.provider.web;
    if (spec === undefined) throw new ProviderError(this.type, 'config', `metric "${metric.name}" has no web provider`);
    let url: URL;
    try {
      url = new URL(spec.url);
    } catch {
      throw new ProviderError(this.type, 'config', `provider.web.url is not a URL: "${spec.url}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ProviderError(this.type, 'config', `provider.web.url must be http(s), got ${url.protocol}`);
    const steps = spec.jsonPath === undefined ? [] : parseJsonPath(spec.jsonPath);
    const timeoutMs = (spec.timeoutSeconds !== undefined && spec.timeoutSeconds > 0 ? spec.timeoutSeconds : DEFAULT_TIMEOUT_SECONDS) * 1000;
    const method = spec.method ?? 'GET';
    const headers = headerRecord(this.type, spec.headers);
    if (spec.body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
    const timeout = AbortSignal.timeout(timeoutMs);
    let text: string;
    try {
      const res = await fetch(url, { method, headers, body: method === 'GET' ? undefined : spec.body, signal: AbortSignal.any([signal, timeout]), redirect: 'error' });
      const declared = Number(res.headers.get('content-length') ?? '0');
      if (declared > MAX_BODY_BYTES) throw new ProviderError(this.type, 'invalid-response', `the answer is ${declared} bytes, more than ${MAX_BODY_BYTES}`);
      text = await res.text();
      if (!res.ok) throw new ProviderError(this.type, 'http', `HTTP ${res.status}: ${text.slice(0, 200)}`, res.status);
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      if (signal.aborted) throw new ProviderError(this.type, 'aborted', 'the measurement was aborted');
      if (timeout.aborted) throw new ProviderError(this.type, 'timeout', `no answer within ${timeoutMs} ms`);
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ProviderError(this.type, 'network', cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err)));
    }
    if (text.length > MAX_BODY_BYTES) throw new ProviderError(this.type, 'invalid-response', `the answer is more than ${MAX_BODY_BYTES} bytes`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ProviderError(this.type, 'invalid-response', `the answer is not JSON: ${text.slice(0, 80)}`);
    }
    const json = jsonSchema.safeParse(parsed);
    if (!json.success) throw new ProviderError(this.type, 'invalid-response', 'the answer is not plain JSON');
    const result = selectJsonPath(json.data, steps);
    const display = formatValue(result);
    if (result === undefined || result === null) return { kind: 'missing', reason: spec.jsonPath === undefined ? 'null answer' : `nothing at ${spec.jsonPath}`, display };
    if (Array.isArray(result) && result.length === 0) return { kind: 'missing', reason: 'empty array', display };
    return { kind: 'value', result, display };
  }
}

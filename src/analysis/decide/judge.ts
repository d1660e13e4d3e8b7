// One measurement's phase from what a provider observed and the metric's conditions. Pure.
import type { AnalysisPhase } from '../../api/analysis/schema.ts';
import { Condition, ExpressionError, type Value } from '../expressions/evaluate.ts';
import type { MissingDataPolicy } from './plan.ts';

/** What a provider saw: data for the conditions, or nothing to judge (an empty vector, null, only NaN). */
export type Observation =
  | { kind: 'value'; result: Value; display: string }
  /** `result` is kept when there was something (only NaN), so a condition that tests isNaN can judge it. */
  | { kind: 'missing'; reason: string; display: string; result?: Value }
  /** A provider that judges by itself (the sequential judge): its verdict is the measurement, conditions unused. */
  | { kind: 'verdict'; judgement: Judgement; display: string }
  /**
   * A measurement still under way (a Job running): nothing to judge yet. `metadata` is what the provider needs to
   * pick it up again (the Job's name); it is looked at again after `resumeAfterMs` at the latest.
   */
  | { kind: 'running'; display: string; metadata: Record<string, string>; resumeAfterMs: number };

export interface Judgement {
  /** Running: a look that decided nothing yet (the judge accumulating evidence); counts toward no verdict. */
  phase: Exclude<AnalysisPhase, 'Pending'>;
  value: string;
  message?: string;
  /** Argo's measurement metadata (string values): what a self-judging provider wants kept with the measurement. */
  metadata?: Record<string, string>;
  /** A no-data measurement under the `ignore` policy: counts toward `count`, toward no verdict. */
  ignored?: boolean;
  /** Set on a measurement still under way (phase Running): it counts toward nothing until it finishes. */
  resumeAfterMs?: number;
}

/**
 * Measurement truth table (first row that applies wins):
 *
 * | observation                    | failureCondition | successCondition | phase        |
 * |--------------------------------|------------------|------------------|--------------|
 * | NaN only, a condition uses isNaN | judged as a value (the condition states the NaN policy) | | |
 * | missing, policy fail           | -                | -                | Failed       |
 * | missing, policy inconclusive   | -                | -                | Inconclusive |
 * | missing, policy ignore         | -                | -                | Inconclusive, ignored (no counter) |
 * | value, a condition errs        | error            | or error         | Error        |
 * | value                          | true             | any              | Failed       |
 * | value                          | unset            | true             | Successful   |
 * | value                          | unset            | false            | Failed       |
 * | value                          | false            | true             | Successful   |
 * | value                          | false            | false            | Inconclusive |
 * | value                          | false            | unset            | Successful   |
 * | value                          | unset            | unset            | Inconclusive |
 *
 * The last row is stricter than Argo (which passes a metric with no conditions): nothing judged the value, so it is
 * not a success (invariant 8).
 */
export function judge(conditions: { successCondition?: string | undefined; failureCondition?: string | undefined }, obs: Observation, missingData: MissingDataPolicy): Judgement {
  if (obs.kind === 'verdict') return obs.judgement;
  if (obs.kind === 'running') return { phase: 'Running', value: obs.display, metadata: obs.metadata, resumeAfterMs: obs.resumeAfterMs };
  // An Argo condition such as `isNaN(result[0]) || result[0] < 0.9` says what NaN means; honour it.
  const testsNaN = [conditions.successCondition, conditions.failureCondition].some((c) => c !== undefined && /\bisNaN\s*\(/.test(c));
  if (obs.kind === 'missing' && obs.result !== undefined && testsNaN) return judge(conditions, { kind: 'value', result: obs.result, display: obs.display }, missingData);
  if (obs.kind === 'missing') {
    const message = `no data (${obs.reason}); missing-data policy: ${missingData}`;
    if (missingData === 'fail') return { phase: 'Failed', value: obs.display, message };
    if (missingData === 'ignore') return { phase: 'Inconclusive', value: obs.display, message, ignored: true };
    return { phase: 'Inconclusive', value: obs.display, message };
  }
  const { successCondition: success, failureCondition: failure } = conditions;
  let failed: boolean | undefined;
  let passed: boolean | undefined;
  try {
    failed = failure === undefined ? undefined : Condition.parse(failure).test(obs.result);
    passed = success === undefined ? undefined : Condition.parse(success).test(obs.result);
  } catch (err) {
    if (err instanceof ExpressionError) {
      const which = failed === undefined && failure !== undefined ? 'failureCondition' : 'successCondition';
      return { phase: 'Error', value: obs.display, message: `${which}: ${err.message}` };
    }
    throw err;
  }
  if (failed === true) return { phase: 'Failed', value: obs.display, message: `failureCondition "${failure}" is true` };
  if (passed === true) return { phase: 'Successful', value: obs.display };
  if (passed === false && failed === undefined) return { phase: 'Failed', value: obs.display, message: `successCondition "${success}" is false` };
  if (passed === false) return { phase: 'Inconclusive', value: obs.display, message: 'neither successCondition nor failureCondition is true' };
  if (failed === false) return { phase: 'Successful', value: obs.display };
  return { phase: 'Inconclusive', value: obs.display, message: 'the metric has no successCondition or failureCondition' };
}

/** How a number reads in status: Prometheus' spelling of the special values, since JSON has none. */
export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

/** A result as it reads in a measurement's `value` (e.g. `[0.97]`), bounded so status stays small. */
export function formatValue(v: Value, max = 256): string {
  const out = format(v);
  return out.length > max ? `${out.slice(0, max - 3)}...` : out;
}

function format(v: Value): string {
  if (typeof v === 'number') return formatNumber(v);
  if (v === undefined || v === null) return 'nil';
  if (Array.isArray(v)) return `[${v.map((x) => format(x as Value)).join(',')}]`;
  return JSON.stringify(v);
}

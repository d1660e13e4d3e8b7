// Argo-style durations: Go duration strings ("250ms", "1h30m"), and plain integers meaning seconds, given either
// as a number (pause: {duration: 60}) or a string ("60"). Argo accepts both forms, so Sluice does too.
import { z } from 'zod';
import { intOrStringHint } from './crd-hints.ts';

/** Thrown by parseDuration; `value` is the offending input, so callers can name it in a SpecError. */
export class DurationError extends Error {
  readonly value: unknown;
  constructor(value: unknown, reason: string) {
    super(`invalid duration ${JSON.stringify(value) ?? String(value)}: ${reason}`);
    this.name = 'DurationError';
    this.value = value;
  }
}

// Sub-millisecond units divide (1500us is exactly 1.5 ms, which multiplying by 0.001 would not give).
const UNIT_MS: Readonly<Record<string, (n: number) => number>> = {
  ns: (n) => n / 1e6,
  us: (n) => n / 1000,
  µs: (n) => n / 1000,
  ms: (n) => n,
  s: (n) => n * 1000,
  m: (n) => n * 60_000,
  h: (n) => n * 3_600_000,
};

const PART = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/** Milliseconds in a duration. Integers (number or digit string) are seconds; negative values are rejected. */
export function parseDuration(x: unknown): number {
  if (typeof x === 'number') {
    if (!Number.isInteger(x) || x < 0) throw new DurationError(x, 'a number must be a non-negative integer of seconds');
    return x * 1000;
  }
  if (typeof x !== 'string') throw new DurationError(x, 'expected a string like "30s" or an integer of seconds');
  if (/^\d+$/.test(x)) return Number(x) * 1000;
  if (x === '') throw new DurationError(x, 'empty');
  let ms = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < x.length) {
    const at = PART.lastIndex;
    const m = PART.exec(x);
    if (m === null) throw new DurationError(x, `unexpected "${x.slice(at)}" (units: ns, us, ms, s, m, h)`);
    ms += (UNIT_MS[m[2] as string] as (n: number) => number)(Number(m[1]));
  }
  if (!Number.isFinite(ms)) throw new DurationError(x, 'too large');
  return ms;
}

/** Formats milliseconds as the shortest Go-style string (e.g. 5_400_000 → "1h30m"); 0 → "0s". */
export function formatDuration(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0) throw new DurationError(ms, 'formatDuration needs non-negative integer milliseconds');
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

/** The schema only checks the shape (number or string); validate.ts reports unparsable values with their path. */
export const durationSchema = z
  .union([z.int().min(0), z.string()])
  .meta({ ...intOrStringHint, description: 'Duration: "30s", "5m", "1h30m", "250ms", or an integer of seconds.' });

export type Duration = z.infer<typeof durationSchema>;

/** The SpecError for a duration that does not parse, or undefined when it parses (or is absent). */
export function durationError(field: string, value: unknown): { field: string; message: string } | undefined {
  if (value === undefined) return undefined;
  try {
    parseDuration(value);
    return undefined;
  } catch (err) {
    if (err instanceof DurationError) return { field, message: err.message };
    throw err;
  }
}

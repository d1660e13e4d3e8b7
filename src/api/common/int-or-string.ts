// Kubernetes IntOrString: maxSurge "25%" or 1, AnalysisTemplate count 5 or "{{args.count}}".
import { z } from 'zod';
import { intOrStringHint } from './crd-hints.ts';

export const intOrStringSchema = z.union([z.int(), z.string()]).meta(intOrStringHint);

export type IntOrString = z.infer<typeof intOrStringSchema>;

/** Resolves an int-or-string against a total the way Kubernetes does for maxSurge: "25%" of 10 → 3 (rounding up
 * when `roundUp`, down otherwise). Returns undefined for strings that are neither integers nor percentages. */
export function resolveIntOrPercent(value: IntOrString, total: number, roundUp: boolean): number | undefined {
  if (typeof value === 'number') return value;
  const pct = /^(\d+)%$/.exec(value);
  if (pct !== null) {
    const exact = (Number(pct[1]) * total) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  }
  if (/^-?\d+$/.test(value)) return Number(value);
  return undefined;
}

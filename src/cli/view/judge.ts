// The sequential judge in the rollout view: per metric, the counts and the ratio, then a bar toward "abort" and one
// toward "pass" (each the evidence's log-progress toward its threshold), the realized traffic share against the
// configured one, and the exposure still needed. Reads the summary the judge keeps in its newest measurement.
import { z } from 'zod';
import type { Measurement } from '../../api/analysis/schema.ts';

const gauge = z.object({ evidence: z.number(), threshold: z.number(), progress: z.number() });
const arm = z.object({ requests: z.number(), bad: z.number() });
const num = z.number().nullable();
export const lookSummarySchema = z.object({
  state: z.enum(['abort', 'pass', 'continue', 'inconclusive', 'guard']),
  abort: gauge,
  pass: gauge,
  ratio: z.object({ estimate: num, lower: num, upper: num }),
  totals: z.object({ canary: arm, stable: arm }),
  share: z.object({ realized: num, configured: z.number().optional(), mismatch: z.boolean() }),
  needed: z.object({ canaryRequests: z.number(), reason: z.string() }).optional(),
  edgeMs: z.number().optional(),
  guard: z.object({ evidence: z.number(), threshold: z.number(), rate: num, bound: z.number() }).optional(),
});
export type LookSummaryView = z.infer<typeof lookSummarySchema>;

/** The judge's summary in a measurement, or undefined when it is not a judge's (or is unreadable). */
export function judgeSummary(m: Measurement | undefined): LookSummaryView | undefined {
  const raw = m?.metadata?.summary;
  if (raw === undefined) return undefined;
  try {
    const parsed = lookSummarySchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** `[█████░░░░░] 52%`: a share of the way to a threshold. */
export function progressBar(progress: number, width = 16): string {
  const p = Math.max(0, Math.min(1, Number.isFinite(progress) ? progress : 0));
  const filled = Math.round(p * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${Math.round(p * 100)}%`;
}

const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);
const times = (x: number | null): string => (x === null ? '?' : x >= 100 ? `${x.toFixed(0)}×` : `${x.toPrecision(2)}×`);

/** The lines of one judged metric, indented to sit under its metric line. */
export function judgeLines(s: LookSummaryView, indent = '        '): string[] {
  const { canary: c, stable: st } = s.totals;
  const share = `share ${pct(s.share.realized)}${s.share.configured !== undefined ? ` of ${pct(s.share.configured)} set` : ''}${s.share.mismatch ? ' (MISMATCH: the realized split is not the configured one)' : ''}`;
  const lines = [
    `${indent}canary ${c.bad}/${c.requests} bad, stable ${st.bad}/${st.requests}; canary/stable ${times(s.ratio.estimate)} [${times(s.ratio.lower)}, ${times(s.ratio.upper)}]${s.edgeMs !== undefined ? `; slower than ${s.edgeMs} ms is bad` : ''}`,
    `${indent}abort ${progressBar(s.abort.progress)}  pass ${progressBar(s.pass.progress)}  ${share}`,
  ];
  if (s.guard !== undefined) lines.push(`${indent}guard: canary rate ${pct(s.guard.rate)} against ${pct(s.guard.bound)} (evidence ${s.guard.evidence.toPrecision(2)} of ${s.guard.threshold.toFixed(0)})`);
  if (s.needed !== undefined && s.state === 'continue') lines.push(`${indent}${s.needed.reason}`);
  return lines;
}

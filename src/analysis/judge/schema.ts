// The evidence as read back from an AnalysisRun's status: a boundary, so parsed with zod (a corrupted or foreign
// object is refused, naming the path, rather than silently judged).
import { z } from 'zod';
import type { Evidence } from './evidence.ts';

const count = z.number().finite().nonnegative();
const arm = z.object({ requests: count, bad: count });
const batch = z.object({ canary: arm, stable: arm });
const logs = z.array(z.number().finite());

export const EvidenceSchema = z.object({
  v: z.literal(1),
  logAbort: logs,
  logPass: logs,
  totals: batch,
  batches: z.number().int().nonnegative(),
  last: batch.optional(),
  logLik: logs,
  peak: z.object({ abort: z.number().finite(), pass: z.number().finite() }),
  grid: z.object({ tolerance: z.number().finite(), maxRatio: z.number().finite() }),
  srm: z
    .object({
      configured: z.number().gt(0).lt(1),
      canary: count,
      requests: count,
      low: logs,
      high: logs,
      peak: z.number().finite(),
    })
    .optional(),
});

/** Parses stored evidence; throws a ZodError naming the path of the first problem. */
export function parseEvidence(x: unknown): Evidence {
  const e: Evidence = EvidenceSchema.parse(x);
  return e;
}

// What an AnalysisRun means to the Rollout that owns it: the plug between the analysis controller and the canary
// engine. Pure. Argo's mapping (rollout/analysis.go): Failed or Error aborts, Inconclusive pauses for a person,
// Successful lets the step complete; anything else waits.
import type { AnalysisRunStatus } from '../api/analysis/schema.ts';

export type RunOutcome =
  | { action: 'wait' }
  | { action: 'continue' }
  | { action: 'pause'; message: string }
  | { action: 'abort'; message: string };

export function runOutcome(status: AnalysisRunStatus | undefined): RunOutcome {
  const phase = status?.phase;
  const why = status?.message !== undefined && status.message !== '' ? `: ${status.message}` : '';
  switch (phase) {
    case 'Successful':
      return { action: 'continue' };
    case 'Failed':
    case 'Error':
      return { action: 'abort', message: `analysis run ${phase.toLowerCase()}${why}` };
    case 'Inconclusive':
      return { action: 'pause', message: `analysis run inconclusive${why}` };
    default:
      return { action: 'wait' };
  }
}

/** The merge patch that ends a run (promotion, abort, rollout completed); the controller finishes it at once. */
export const TERMINATE_PATCH = { spec: { terminate: true } } as const;

// Errors as the plugin reports them on stderr.
import { KubeApiError } from '../kube/errors.ts';

/** A named object that is not there: exit 1 with kubectl's wording. */
export class ObjectNotFound extends Error {
  override readonly name = 'ObjectNotFound';
}

/** The message for stderr: an API error with its field causes, one per line. */
export function errorMessage(err: unknown): string {
  if (err instanceof KubeApiError) {
    const causes = err.causes.map((c) => `\n  ${c.field ?? ''}${c.field !== undefined ? ': ' : ''}${c.message ?? ''}`).join('');
    return `${err.message}${causes}`;
  }
  return err instanceof Error ? err.message : String(err);
}

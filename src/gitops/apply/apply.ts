// Server-side apply of one planned object with field manager `sluice`, never forcing over fields that belong to
// another manager (see conflicts.ts). Used for the real apply and, with dryRun, for drift detection: the same
// conflict handling makes both see the same declared fields.
import type { KubeClient, KubeObject } from '../../kube/client.ts';
import { KubeApiError } from '../../kube/errors.ts';
import type { ResourceType } from '../../kube/resource.ts';
import { classifyConflicts, type FieldConflict, type ManagedFieldsEntry } from './conflicts.ts';
import { withoutFields } from './fieldpath.ts';

export const SYNC_FIELD_MANAGER = 'sluice';

export interface ApplyOutcome {
  object: KubeObject;
  /** Fields Git declares that another manager keeps (not reverted). */
  respected: FieldConflict[];
  /** Fields taken back from an imperative edit. */
  overridden: FieldConflict[];
}

export class ApplyError extends Error {
  override readonly name = 'ApplyError';
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
  }
}

const MAX_ROUNDS = 3;

/**
 * Will this apply fail again unchanged? Besides the non-transient kinds, the apiserver answers a manifest that does
 * not fit the kind's schema (a boolean where a string belongs) with a 500 "failed to create typed patch object":
 * retrying that with backoff would never succeed, so it is the manifest's fault, reported like a 422.
 */
export function isPermanentApplyError(err: unknown): boolean {
  if (!(err instanceof KubeApiError)) return err instanceof ApplyError;
  if (!err.transient) return true;
  return err.kind === 'ServerError' && /failed to create typed patch object|field not declared in schema/.test(err.message);
}

export async function applyManifest(client: KubeClient, rt: ResourceType, manifest: KubeObject, opts: { dryRun: boolean }): Promise<ApplyOutcome> {
  let body = manifest;
  let force = false;
  const respected: FieldConflict[] = [];
  const overridden: FieldConflict[] = [];
  for (let round = 0; ; round++) {
    try {
      const object = await client.apply<KubeObject>(rt, body, SYNC_FIELD_MANAGER, { dryRun: opts.dryRun, force });
      return { object, respected, overridden };
    } catch (err) {
      if (!(err instanceof KubeApiError) || err.kind !== 'Conflict' || err.causes.length === 0 || round >= MAX_ROUNDS) throw err;
      // Conflicts are rare: reading the live managedFields to attribute them costs one GET only then.
      const live = await client.get<KubeObject>(rt, manifest.metadata?.namespace, manifest.metadata?.name ?? '');
      const entries = (live.metadata?.managedFields ?? []) as ManagedFieldsEntry[];
      const conflicts = classifyConflicts(err.causes, entries);
      const keep = conflicts.filter((c) => c.action === 'respect');
      const take = conflicts.filter((c) => c.action === 'override');
      const stripped = withoutFields(body, keep.map((c) => c.field));
      if (stripped.missing.length > 0) throw new ApplyError(`conflict on fields Sluice cannot leave out: ${stripped.missing.join(', ')}`, err);
      body = stripped.manifest;
      respected.push(...keep);
      overridden.push(...take);
      // Force only when every remaining conflict is an imperative edit: respected fields are no longer declared, so
      // force cannot touch them.
      force = force || take.length > 0;
    }
  }
}

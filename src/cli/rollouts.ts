// What the rollout verbs share: reading a Rollout, the field manager their patches carry, and whether an object is
// managed by a Sluice Application (its next sync would undo a spec edit Git declares).
import { rolloutSchema, type Rollout } from '../api/rollout/schema.ts';
import { TRACKING_ANNOTATION } from '../gitops/plan/plan.ts';
import type { KubeObject } from '../kube/client.ts';
import { KubeApiError } from '../kube/errors.ts';
import { R } from '../kube/resource.ts';
import type { CommandContext } from './command.ts';
import { ObjectNotFound } from './errors.ts';
import { parseWith } from './view/snapshot.ts';

/** The field manager of every write the plugin makes (visible in managedFields). */
export const CLI_FIELD_MANAGER = 'kubectl-sluice';

/** The Application ("<ns>/<name>") whose tracking annotation the object carries, if any. */
export function managingApp(obj: KubeObject): string | undefined {
  const id = obj.metadata?.annotations?.[TRACKING_ANNOTATION];
  const i = id?.indexOf(':') ?? -1;
  return id === undefined || i <= 0 ? undefined : id.slice(0, i);
}

/** Re-throws a NotFound as kubectl says it. */
export function notFound(err: unknown, kind: string, name: string, namespace: string): never {
  if (err instanceof KubeApiError && err.kind === 'NotFound') throw new ObjectNotFound(`${kind.toLowerCase()}s.sluice.dev "${name}" not found in namespace "${namespace}"`);
  throw err;
}

export async function readRollout(ctx: CommandContext, name: string): Promise<{ raw: KubeObject; rollout: Rollout }> {
  let raw: KubeObject;
  try {
    raw = await ctx.client().get<KubeObject>(R.rollout, ctx.namespace, name);
  } catch (err) {
    notFound(err, 'Rollout', name, ctx.namespace);
  }
  return { raw, rollout: parseWith(rolloutSchema, `Rollout ${ctx.namespace}/${name}`, raw) };
}

/** JSON merge patch of the Rollout's status subresource, as Argo's plugin sends it. */
export function patchRolloutStatus(ctx: CommandContext, name: string, status: Record<string, unknown>): Promise<KubeObject> {
  return ctx.client().mergePatch<KubeObject>(R.rollout, ctx.namespace, name, { status }, { subresource: 'status', fieldManager: CLI_FIELD_MANAGER });
}

/** JSON merge patch of the Rollout's spec. */
export function patchRolloutSpec(ctx: CommandContext, name: string, spec: Record<string, unknown>): Promise<KubeObject> {
  return ctx.client().mergePatch<KubeObject>(R.rollout, ctx.namespace, name, { spec }, { fieldManager: CLI_FIELD_MANAGER });
}

/** A warning on stderr when a spec edit lands on a Git-managed object: the Application's next sync takes it back. */
export function warnIfGitManaged(ctx: CommandContext, obj: KubeObject, what: string): void {
  const app = managingApp(obj);
  if (app === undefined) return;
  ctx.err.write(
    `warning: ${obj.kind ?? 'object'} ${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''} is managed by the Sluice Application ${app}: ` +
      `its next sync will undo ${what}. Change it in Git to keep it.\n`,
  );
}

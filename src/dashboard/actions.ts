// The dashboard's buttons run the plugin's own verbs (src/cli/commands), with the viewer's client: the same reads,
// the same patches (src/cli/patches.ts), the same annotations, so a click and `kubectl sluice VERB` cannot differ.
import { appRefresh, appSync } from '../cli/commands/app.ts';
import { appDiff } from '../cli/commands/app-diff.ts';
import { abort, pause, promote, restart, resume, retry, undo } from '../cli/commands/rollout-actions.ts';
import { ExitCode, UsageError, type Command, type CommandContext } from '../cli/command.ts';
import { ObjectNotFound } from '../cli/errors.ts';
import type { KubeClient } from '../kube/client.ts';
import { KubeApiError } from '../kube/errors.ts';

/** Each button: the verb it runs and the arguments after the object's name. */
export const ROLLOUT_ACTIONS: Record<string, { command: Command; args: (q: URLSearchParams) => string[] }> = {
  promote: { command: promote, args: () => [] },
  'promote-full': { command: promote, args: () => ['--full'] },
  abort: { command: abort, args: () => [] },
  retry: { command: retry, args: () => [] },
  pause: { command: pause, args: () => [] },
  resume: { command: resume, args: () => [] },
  restart: { command: restart, args: () => [] },
  undo: { command: undo, args: (q) => (q.get('revision') !== null ? ['--to-revision', q.get('revision') ?? ''] : []) },
};

export const APP_ACTIONS: Record<string, { command: Command; args: (q: URLSearchParams) => string[] }> = {
  sync: { command: appSync, args: () => ['--async'] },
  'sync-prune': { command: appSync, args: () => ['--async', '--prune'] },
  refresh: { command: appRefresh, args: () => [] },
};

export interface VerbResult {
  /** The HTTP status to answer with. */
  status: number;
  /** What the verb printed (its message), or the error. */
  message: string;
  /** What it wrote on stdout, for verbs whose output is data (app diff -o json). */
  out: string;
}

/** The HTTP status for an error a verb threw. */
export function statusOf(err: unknown): number {
  if (err instanceof KubeApiError) {
    if (err.kind === 'Forbidden') return 403;
    if (err.kind === 'Unauthorized') return 401;
    if (err.kind === 'NotFound') return 404;
    if (err.kind === 'Conflict') return 409;
    if (err.kind === 'Invalid' || err.kind === 'BadRequest') return 422;
    return 502;
  }
  if (err instanceof ObjectNotFound) return 404;
  if (err instanceof UsageError) return 400;
  return 500;
}

/** Runs one verb on `name` in `namespace` as the viewer; never throws. */
export async function runVerb(command: Command, client: KubeClient, namespace: string, name: string, args: string[], signal: AbortSignal, output: CommandContext['output'] = 'table'): Promise<VerbResult> {
  let out = '';
  let err = '';
  const ctx: CommandContext = {
    client: () => client,
    namespace,
    allNamespaces: false,
    output,
    out: { write: (s: string) => void (out += s) },
    err: { write: (s: string) => void (err += s) },
    cwd: '/',
    signal,
  };
  try {
    const code = await command.run(ctx, [name, ...args]);
    const message = `${out}${err}`.trim();
    return { status: code === ExitCode.ok ? 200 : 500, message: code === ExitCode.ok ? message : err.trim() || `${command.name} failed`, out };
  } catch (e) {
    return { status: statusOf(e), message: e instanceof Error ? e.message : String(e), out: '' };
  }
}

export const diffCommand = appDiff;

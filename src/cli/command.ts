// The contract every `kubectl sluice` verb implements, and the context the dispatcher hands it.
//
// For engineers adding a verb (lint, convert, …):
//   1. Write src/cli/commands/<verb>.ts exporting a `Command` (name, summary, usage, run).
//   2. Add two lines to src/cli/commands/index.ts: the import, and the entry in `commands`.
// The dispatcher (src/cli/main.ts) has already taken the global flags (-n/--namespace, -A/--all-namespaces, --context,
// --kubeconfig, -o/--output, -h/--help) out of argv, and the command words ("lint", "app sync", …) too: `run` gets
// only what is left (its own flags and positionals, in order). `--help` never reaches `run`: the dispatcher prints
// `usage` plus the global flags. Parse your own flags with `parseCommandArgs` from src/cli/args.ts (throws UsageError,
// which the dispatcher prints on stderr with exit code 64). Write results with ctx.out, diagnostics with ctx.err, and
// return an exit code from `ExitCode` (or 2 for a timeout in `status`). Do not call process.exit or touch process.*:
// unit tests run commands with in-memory writers.
import type { KubeClient } from '../kube/client.ts';

export type OutputFormat = 'table' | 'json' | 'yaml';

/** Where a command writes: process.stdout/stderr in the executable, a buffer in unit tests. */
export interface Writer {
  write(text: string): void;
  /** True on a terminal: the live views redraw in place only then. */
  readonly isTTY?: boolean;
  /** Terminal width when known. */
  readonly columns?: number;
  /** Terminal height when known. */
  readonly rows?: number;
}

export interface CommandContext {
  /** The API client for the chosen --kubeconfig/--context; created on first call (lint and convert never call it). */
  client(): KubeClient;
  /** -n/--namespace, else the kubeconfig context's namespace, else "default". */
  readonly namespace: string;
  /** -A/--all-namespaces was given (only the list verbs honour it). */
  readonly allNamespaces: boolean;
  /** -o/--output; "table" when not given. */
  readonly output: OutputFormat;
  readonly out: Writer;
  readonly err: Writer;
  /** The directory relative paths in arguments are resolved against. */
  readonly cwd: string;
  /** Aborted on SIGINT/SIGTERM: long-running verbs (status, get --watch) stop and return; ctx.client()'s requests
   * are tied to it, so a verb waiting on the apiserver fails at once (the dispatcher then returns 130). */
  readonly signal: AbortSignal;
}

export interface Command {
  /** The command words, space separated: "promote", "app sync", "get rollout", "set image". */
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: string;
  /** The verb's help text: synopsis, flags, examples. The dispatcher appends the global flags. */
  readonly usage: string;
  /** True for verbs that never touch the cluster (lint, convert, version): the kube client library (slow to load)
   * is then not loaded at all, and ctx.client() throws. */
  readonly offline?: boolean;
  /** Runs the verb with the arguments left after the global flags and the command words; resolves to the exit code. */
  run(ctx: CommandContext, argv: readonly string[]): Promise<number>;
}

/** Exit codes shared by every verb. `status` also returns 2 when its --timeout passes. */
export const ExitCode = {
  ok: 0,
  /** The API refused, the object is missing, a rollout is Degraded/aborted, a lint found errors, … */
  failed: 1,
  timeout: 2,
  /** convert: output written, but some fields have no Sluice equivalent and were left out (listed on stderr). */
  fieldsLeftOut: 3,
  /** Bad flags or arguments (sysexits EX_USAGE). */
  usage: 64,
  /** Stopped by SIGINT/SIGTERM, whatever the verb was doing (128 + SIGINT, as shells report it). */
  interrupted: 130,
} as const;

/** Thrown for bad flags/arguments; the dispatcher prints the message and the verb's synopsis on stderr, exit 64. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

// The dispatcher of `kubectl sluice`: global flags, the verb from the registry, help, errors on stderr, exit codes.
// `dispatch` does no process I/O of its own (the executable's entry, src/cli/bin.ts, wires process.* in).
import { extractGlobals, type GlobalFlags } from './args.ts';
import { ExitCode, UsageError, type Command, type CommandContext, type Writer } from './command.ts';
import { commands as registry } from './commands/index.ts';
import { errorMessage } from './errors.ts';

export const globalFlagsHelp = `Global flags:
  -n, --namespace NAME    the namespace (default: the context's, else "default")
  -A, --all-namespaces    list across all namespaces (list verbs)
      --context NAME      the kubeconfig context to use
      --kubeconfig PATH   the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
      --cluster NAME      act in a remote cluster: its cluster Secret's name or server, read with the kubeconfig's
                          credentials from --cluster-namespace (default: $SLUICE_CLUSTER_SECRET_NAMESPACE, else
                          sluice-system); "in-cluster" is the kubeconfig's own cluster
  -o, --output FORMAT     table (default), json or yaml
  -h, --help              help for a verb
`;

const exitCodesHelp = `Exit codes: 0 success, 1 failure (API error, not found, rollout degraded or aborted, lint errors),
2 timeout (status, app sync), 3 convert: some fields could not be mapped (listed on stderr), 64 bad flags or
arguments, 130 interrupted (Ctrl-C or SIGTERM).
`;

/** The verb whose words start argv, the longest name winning ("app sync" over a hypothetical "app"). */
export function findCommand(commands: readonly Command[], argv: readonly string[]): { command: Command; rest: string[] } | undefined {
  let best: Command | undefined;
  for (const c of commands) {
    const words = c.name.split(' ');
    if (words.every((w, i) => argv[i] === w) && (best === undefined || words.length > best.name.split(' ').length)) best = c;
  }
  return best === undefined ? undefined : { command: best, rest: argv.slice(best.name.split(' ').length) };
}

/** The top-level help, or a group's ("app", "get", "set") when `prefix` is given. */
export function overview(commands: readonly Command[], prefix: string[] = []): string {
  const shown = commands.filter((c) => prefix.every((w, i) => c.name.split(' ')[i] === w));
  const width = Math.max(...shown.map((c) => c.name.length));
  return [
    prefix.length === 0 ? 'kubectl sluice: steer Sluice Rollouts and Applications.\n\n' : '',
    'Usage:\n  kubectl sluice COMMAND [flags]\n\nCommands:\n',
    ...shown.map((c) => `  ${c.name.padEnd(width)}   ${c.summary}\n`),
    '\n',
    globalFlagsHelp,
    '\n',
    exitCodesHelp,
    '\nRun "kubectl sluice COMMAND --help" for a command\'s flags.\n',
  ].join('');
}

export interface DispatchIO {
  out: Writer;
  err: Writer;
  cwd: string;
  signal: AbortSignal;
}

function offlineAccess(verb: string): { client: CommandContext['client']; namespace: () => string } {
  return {
    client: () => {
      throw new Error(`${verb} is an offline verb (Command.offline): it has no cluster access`);
    },
    namespace: () => 'default',
  };
}

/** Runs one invocation; resolves to the process exit code. */
export async function dispatch(argv: readonly string[], io: DispatchIO, commands: readonly Command[] = registry): Promise<number> {
  let globals: GlobalFlags;
  let rest: string[];
  // Completion gets the words as typed: a half-typed "-n" or "--help" is what it completes, not a flag to act on.
  const completing = argv[0] === '__complete' ? commands.find((c) => c.name === '__complete') : undefined;
  if (completing !== undefined) return completing.run({ ...offlineAccess('__complete'), namespace: 'default', allNamespaces: false, output: 'table', out: io.out, err: io.err, cwd: io.cwd, signal: io.signal }, argv.slice(1));
  try {
    ({ globals, rest } = extractGlobals(argv));
  } catch (err) {
    io.err.write(`error: ${errorMessage(err)}\n`);
    return ExitCode.usage;
  }
  const found = findCommand(commands, rest);
  if (found === undefined) {
    const group = rest.filter((a) => !a.startsWith('-'));
    const groupCommands = commands.filter((c) => c.name.split(' ')[0] === group[0] && c.name.includes(' '));
    if (rest.length === 0 || (groupCommands.length > 0 && group.length === 1 && globals.help)) {
      (rest.length === 0 && !globals.help ? io.err : io.out).write(overview(commands, groupCommands.length > 0 ? [group[0] ?? ''] : []));
      return rest.length === 0 && !globals.help ? ExitCode.usage : ExitCode.ok;
    }
    if (groupCommands.length > 0) {
      io.err.write(`error: "${rest.join(' ')}": expected one of: ${groupCommands.map((c) => c.name).join(', ')}\n`);
    } else {
      io.err.write(`error: unknown command "${rest[0] ?? ''}"\nRun "kubectl sluice --help" for the list of commands.\n`);
    }
    return ExitCode.usage;
  }
  const { command } = found;
  if (globals.help) {
    io.out.write(`${command.usage}\n${globalFlagsHelp}`);
    return ExitCode.ok;
  }
  let access: { client: CommandContext['client']; namespace: () => string };
  try {
    // Loaded only for verbs that talk to the cluster: @kubernetes/client-node alone takes most of a second.
    access = command.offline === true ? offlineAccess(command.name) : globals.cluster !== undefined ? await (await import('./cluster.ts')).clusterAccess(globals, globals.cluster, io.signal) : (await import('./kubeconfig.ts')).kubeAccess(globals, io.signal);
  } catch (err) {
    io.err.write(`error: ${errorMessage(err)}\n`);
    return ExitCode.failed;
  }
  const ctx: CommandContext = {
    client: access.client,
    get namespace() {
      return access.namespace();
    },
    allNamespaces: globals.allNamespaces,
    output: globals.output,
    out: io.out,
    err: io.err,
    cwd: io.cwd,
    signal: io.signal,
  };
  try {
    return await command.run(ctx, found.rest);
  } catch (err) {
    // Ctrl-C/SIGTERM aborted a request in flight (the cluster client ties every request to the signal): the
    // failure is the interruption, not an error to report.
    if (io.signal.aborted) return ExitCode.interrupted;
    if (err instanceof UsageError) {
      io.err.write(`error: ${err.message}\nSee "kubectl sluice ${command.name} --help".\n`);
      return ExitCode.usage;
    }
    io.err.write(`error: ${errorMessage(err)}\n`);
    return ExitCode.failed;
  }
}

// `kubectl sluice completion bash|zsh`: shell completion of verbs and flags. The candidates come from the verb registry
// (names) and each verb's usage text (its flags), so a new verb completes without touching this file.
// Two ways in: the script this verb prints completes `kubectl-sluice …` typed directly; kubectl (1.26+) completes
// `kubectl sluice …` by running the executable `kubectl_complete-sluice` (bin/) that answers in cobra's protocol
// (one candidate a line, then ":<directive>"), which calls the hidden `__complete` verb below.
import { UsageError, ExitCode, type Command } from '../command.ts';
import { positionalArgs, parseCommandArgs } from '../args.ts';

const GLOBAL_FLAGS = ['--namespace', '--all-namespaces', '--context', '--kubeconfig', '--cluster', '--cluster-namespace', '--output', '--help'];
/** Flags whose value is one of a fixed list. */
const FLAG_VALUES: Record<string, readonly string[]> = { '--output': ['table', 'json', 'yaml'], '-o': ['table', 'json', 'yaml'] };
/** cobra's ShellCompDirectiveNoFileComp: the shell offers no file names besides the candidates. */
const NO_FILE_COMPLETION = 4;

/** The long flags a verb's usage text lists ("--full", "--to-revision"). Pure. */
export function flagsOf(c: Command): string[] {
  return [...new Set([...c.usage.matchAll(/(?:^|[\s,[])(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1] ?? ''))].filter((f) => f !== '');
}

/**
 * The candidates for the last word of `words` (the words after "sluice", the last one being typed, possibly ""). Pure.
 * Verb words first; after a complete verb its flags and the global ones; after a flag with fixed values, the values.
 */
export function complete(commands: readonly Command[], words: readonly string[]): string[] {
  const typed = words.at(-1) ?? '';
  const before = words.slice(0, -1).filter((w) => !w.startsWith('-'));
  const previous = words.at(-2);
  if (previous !== undefined && FLAG_VALUES[previous] !== undefined) return FLAG_VALUES[previous].filter((v) => v.startsWith(typed));
  const visible = commands.filter((c) => !c.name.startsWith('__'));
  const verb = visible.filter((c) => c.name.split(' ').every((w, i) => before[i] === w)).sort((a, b) => b.name.length - a.name.length)[0];
  if (typed.startsWith('-')) return [...new Set([...(verb === undefined ? [] : flagsOf(verb)), ...GLOBAL_FLAGS])].filter((f) => f.startsWith(typed));
  if (verb !== undefined) return [];
  // The next word of every verb whose earlier words match what is typed so far.
  const next = visible.flatMap((c) => {
    const parts = c.name.split(' ');
    return parts.length > before.length && before.every((w, i) => parts[i] === w) ? [parts[before.length] ?? ''] : [];
  });
  return [...new Set(next)].filter((w) => w.startsWith(typed)).sort();
}

const BASH = `# bash completion for kubectl-sluice: source <(kubectl sluice completion bash)
# (kubectl 1.26+ completes "kubectl sluice ..." itself through kubectl_complete-sluice, in the plugin's bin/.)
_kubectl_sluice() {
  local IFS=$'\\n'
  local out
  out=$(kubectl-sluice __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return
  COMPREPLY=( $(printf '%s\\n' "$out" | grep -v '^:') )
}
complete -F _kubectl_sluice kubectl-sluice
`;

const ZSH = `#compdef kubectl-sluice
# zsh completion for kubectl-sluice: source <(kubectl sluice completion zsh)
_kubectl_sluice() {
  local -a candidates
  candidates=("\${(@f)$(kubectl-sluice __complete "\${(@)words[2,CURRENT]}" 2>/dev/null | grep -v '^:')}")
  compadd -- "\${candidates[@]}"
}
if (( $+functions[compdef] )); then compdef _kubectl_sluice kubectl-sluice; fi
`;

export function completionCommands(registry: () => readonly Command[]): Command[] {
  const completion: Command = {
    name: 'completion',
    summary: 'Print a shell completion script (bash or zsh)',
    offline: true,
    usage: `Print a shell completion script for kubectl-sluice.

Usage:
  kubectl sluice completion bash|zsh

Examples:
  source <(kubectl sluice completion bash)      # bash, this shell
  source <(kubectl sluice completion zsh)       # zsh, this shell

kubectl itself (1.26+) completes "kubectl sluice ..." by running kubectl_complete-sluice, which is in the plugin's
bin/ directory beside kubectl-sluice: with that directory on PATH, "kubectl sluice <TAB>" completes too.
`,
    run(ctx, argv) {
      const [shell] = positionalArgs(parseCommandArgs(argv, {}).positionals, ['shell']);
      if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(`SHELL: "${shell}" is not one of bash, zsh`);
      ctx.out.write(shell === 'bash' ? BASH : ZSH);
      return Promise.resolve(ExitCode.ok);
    },
  };
  const hidden: Command = {
    name: '__complete',
    summary: '(internal) completion candidates, in cobra\'s protocol',
    offline: true,
    usage: 'Usage:\n  kubectl sluice __complete WORD... (the last word is the one being typed)\n',
    run(ctx, argv) {
      for (const c of complete(registry(), argv.length === 0 ? [''] : argv)) ctx.out.write(`${c}\n`);
      ctx.out.write(`:${NO_FILE_COMPLETION}\n`);
      return Promise.resolve(ExitCode.ok);
    },
  };
  return [completion, hidden];
}

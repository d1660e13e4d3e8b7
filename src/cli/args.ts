// Argument parsing: the global kubectl-style flags taken out of argv wherever they appear, then each verb's own flags
// parsed strictly with node:util parseArgs. Pure: no I/O.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { UsageError, type OutputFormat } from './command.ts';

export interface GlobalFlags {
  namespace?: string;
  allNamespaces: boolean;
  context?: string;
  kubeconfig?: string;
  /** A remote cluster by its cluster Secret's name (or server URL): the verb acts there. */
  cluster?: string;
  /** Where the cluster Secrets live (the operator's namespace). */
  clusterNamespace?: string;
  output: OutputFormat;
  help: boolean;
}

const valued: Record<string, keyof GlobalFlags> = {
  '-n': 'namespace',
  '--namespace': 'namespace',
  '--context': 'context',
  '--kubeconfig': 'kubeconfig',
  '--cluster': 'cluster',
  '--cluster-namespace': 'clusterNamespace',
  '-o': 'output',
  '--output': 'output',
};
const shortValued: Record<string, keyof GlobalFlags> = { '-n': 'namespace', '-o': 'output' };

const outputs: readonly OutputFormat[] = ['table', 'json', 'yaml'];

function parseOutput(v: string): OutputFormat {
  const o = v === 'wide' ? 'table' : v;
  if (!(outputs as readonly string[]).includes(o)) throw new UsageError(`-o/--output: "${v}" is not one of ${outputs.join(', ')}`);
  return o as OutputFormat;
}

/**
 * Takes the global flags out of argv (anywhere before a "--"): `-n ns`, `-nns`, `--namespace=ns`, `-A`, `--context`,
 * `--kubeconfig`, `--cluster`, `--cluster-namespace`, `-o json`, `-ojson`, `-h`, `--help`. Returns them and the rest in order.
 */
export function extractGlobals(argv: readonly string[]): { globals: GlobalFlags; rest: string[] } {
  const g: GlobalFlags = { allNamespaces: false, output: 'table', help: false };
  const rest: string[] = [];
  const set = (key: keyof GlobalFlags, flag: string, v: string | undefined): void => {
    if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
    if (key === 'output') g.output = parseOutput(v);
    else if (key === 'namespace' || key === 'context' || key === 'kubeconfig' || key === 'cluster' || key === 'clusterNamespace') g[key] = v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '-A' || a === '--all-namespaces') g.allNamespaces = true;
    else if (a === '-h' || a === '--help') g.help = true;
    else if (valued[a] !== undefined) {
      set(valued[a], a, argv[i + 1]);
      i++;
    } else if (a.startsWith('--') && a.includes('=') && valued[a.slice(0, a.indexOf('='))] !== undefined) {
      const flag = a.slice(0, a.indexOf('='));
      set(valued[flag] as keyof GlobalFlags, flag, a.slice(a.indexOf('=') + 1));
    } else if (a.length > 2 && !a.startsWith('--') && shortValued[a.slice(0, 2)] !== undefined) {
      set(shortValued[a.slice(0, 2)] as keyof GlobalFlags, a.slice(0, 2), a.slice(2).replace(/^=/, ''));
    } else rest.push(a);
  }
  return { globals: g, rest };
}

/** Parses a verb's own flags strictly; unknown flags and missing values become UsageErrors naming the flag. */
export function parseCommandArgs<O extends ParseArgsOptionsConfig>(argv: readonly string[], options: O) {
  try {
    return parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (err) {
    // node's messages name the flag ("Unknown option '--x'", "Option '--timeout <value>' argument missing").
    throw new UsageError(err instanceof Error ? err.message.replace(/\. To specify a positional argument.*$/s, '') : String(err));
  }
}

/** Exactly the named positionals, in order, else a UsageError naming the missing or extra ones. */
export function positionalArgs<const N extends readonly string[]>(positionals: readonly string[], names: N): { [K in keyof N]: string } {
  if (positionals.length < names.length) throw new UsageError(`missing ${names.slice(positionals.length).map((n) => n.toUpperCase()).join(' ')}`);
  if (positionals.length > names.length) throw new UsageError(`unexpected argument${positionals.length - names.length > 1 ? 's' : ''}: ${positionals.slice(names.length).join(' ')}`);
  return positionals.slice(0, names.length) as { [K in keyof N]: string };
}

/** Durations as kubectl takes them: "90s", "5m", "1h30m", "250ms", or a bare number of seconds. */
export function parseDuration(flag: string, v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(v)) !== null) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    consumed = re.lastIndex;
  }
  if (consumed !== v.length || v === '') throw new UsageError(`${flag}: "${v}" is not a duration (e.g. 90s, 5m, 1h30m)`);
  return total;
}

/** A non-negative integer flag value. */
export function parseCount(flag: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`${flag}: "${v}" is not a whole number`);
  return Number(v);
}

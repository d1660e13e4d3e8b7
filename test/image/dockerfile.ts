// Reads what a Dockerfile builds from: its stages, each stage's WORKDIR, COPY and RUN instructions, and the
// .dockerignore rules that decide which context files a COPY sees. Pure: the image check (image.int.test.ts) uses
// it to copy exactly what the Dockerfile copies, without a Docker engine. Only what our Dockerfile needs is
// supported; anything else is an error naming Dockerfile:line, so the check can never silently copy too little.
import { posix } from 'node:path';
import picomatch from 'picomatch';

export interface Copy {
  line: number;
  /** The stage (name or index) copied from; undefined for the build context. */
  from?: string;
  sources: string[];
  /** Absolute, resolved against the stage's WORKDIR. */
  dest: string;
  /** The destination names a directory (ends with `/`, or several sources). */
  destIsDir: boolean;
}

export interface Stage {
  line: number;
  base: string;
  name?: string;
  /** The WORKDIR in force at the end of the stage ('/' when none). */
  workdir: string;
  copies: Copy[];
  runs: { line: number; command: string }[];
  env: Record<string, string>;
  /** The last USER. */
  user?: string;
  labels: Record<string, string>;
}

export class DockerfileError extends Error {
  override readonly name = 'DockerfileError';
}

/** Instructions with their first line number: comments dropped, `\` continuations joined. */
function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let current: { line: number; text: string } | undefined;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#') || (trimmed === '' && current === undefined)) return;
    const continued = trimmed.endsWith('\\');
    const part = continued ? trimmed.slice(0, -1).trim() : trimmed;
    if (current === undefined) current = { line: i + 1, text: part };
    else if (part !== '') current.text += ` ${part}`;
    if (!continued) {
      out.push(current);
      current = undefined;
    }
  });
  if (current !== undefined) out.push(current);
  return out;
}

/** ENV's and LABEL's `K=V K2="V 2"` form (the legacy `ENV K V` form too). */
function parseEnv(args: string, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!args.includes('=')) {
    const [k, ...v] = args.split(/\s+/);
    if (k === undefined || v.length === 0) throw new DockerfileError(`${where}: ENV needs a value`);
    out[k] = v.join(' ');
    return out;
  }
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_.-]*)=("([^"]*)"|(\S*))/g)) out[m[1] ?? ''] = m[3] ?? m[4] ?? '';
  return out;
}

export function parseDockerfile(text: string, file = 'Dockerfile'): Stage[] {
  const stages: Stage[] = [];
  for (const { line, text: instr } of logicalLines(text)) {
    const where = `${file}:${line}`;
    const m = /^(\S+)\s*(.*)$/.exec(instr);
    const keyword = (m?.[1] ?? '').toUpperCase();
    const args = m?.[2] ?? '';
    if (keyword === 'FROM') {
      const words = args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const base = words[0];
      if (base === undefined || base === '') throw new DockerfileError(`${where}: FROM needs an image`);
      const name = words[1]?.toUpperCase() === 'AS' ? words[2] : undefined;
      stages.push({ line, base, name, workdir: '/', copies: [], runs: [], env: {}, labels: {} });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (keyword === 'ARG') continue;
      throw new DockerfileError(`${where}: ${keyword} before the first FROM`);
    }
    switch (keyword) {
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir, args.trim());
        break;
      case 'RUN':
        stage.runs.push({ line, command: args });
        break;
      case 'ENV':
        Object.assign(stage.env, parseEnv(args, where));
        break;
      case 'LABEL':
        Object.assign(stage.labels, parseEnv(args, where));
        break;
      case 'USER':
        stage.user = args.trim();
        break;
      case 'ADD':
        throw new DockerfileError(`${where}: ADD is not supported by the image check; use COPY`);
      case 'COPY': {
        let rest = args.trim();
        let from: string | undefined;
        for (;;) {
          const flag = /^--([a-z]+)(?:=(\S+))?\s+/.exec(rest);
          if (flag === null) break;
          if (flag[1] === 'from') from = flag[2];
          else if (!['chown', 'chmod', 'link'].includes(flag[1] ?? '')) throw new DockerfileError(`${where}: COPY --${flag[1]} is not supported by the image check`);
          rest = rest.slice(flag[0].length);
        }
        const words = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
        if (words.some((w) => w.includes('$'))) throw new DockerfileError(`${where}: COPY with variables is not supported by the image check`);
        if (words.length < 2) throw new DockerfileError(`${where}: COPY needs a source and a destination`);
        const rawDest = words.at(-1) ?? '';
        const sources = words.slice(0, -1);
        stage.copies.push({ line, from, sources, dest: posix.resolve(stage.workdir, rawDest), destIsDir: rawDest.endsWith('/') || sources.length > 1 });
        break;
      }
      default:
        break; // ARG, EXPOSE, ENTRYPOINT, CMD: nothing to copy
    }
  }
  if (stages.length === 0) throw new DockerfileError(`${file}: no FROM`);
  return stages;
}

export interface IgnoreRule {
  negate: boolean;
  matches: (path: string) => boolean;
}

/** .dockerignore: one pattern a line, `!` re-includes, the last rule that matches a path (or a parent) decides. */
export function parseDockerignore(text: string): IgnoreRule[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+|\/+$/g, '');
      return { negate, matches: picomatch(pattern, { dot: true }) };
    });
}

export function isIgnored(rules: IgnoreRule[], path: string): boolean {
  const parts = path.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const r of rules) if (prefixes.some((p) => r.matches(p))) ignored = !r.negate;
  return ignored;
}

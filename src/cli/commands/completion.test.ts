import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Writer } from '../command.ts';
import { dispatch } from '../main.ts';
import { complete, flagsOf } from './completion.ts';
import { commands } from './index.ts';

const buffer = (): Writer & { text: string } => {
  const b = { text: '', write: (s: string) => void (b.text += s) };
  return b;
};
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = buffer();
  const err = buffer();
  const code = await dispatch(argv, { out, err, cwd: '/', signal: new AbortController().signal });
  return { code, out: out.text, err: err.text };
}

describe('shell completion', () => {
  it('completes verb words from the registry, group words after a group, and nothing hidden', () => {
    expect(complete(commands, [''])).toEqual(expect.arrayContaining(['promote', 'app', 'get', 'completion', 'abort']));
    expect(complete(commands, [''])).not.toContain('__complete');
    expect(complete(commands, ['pro'])).toEqual(['promote']);
    expect(complete(commands, ['app', ''])).toEqual(['diff', 'get', 'list', 'refresh', 'sync']);
    expect(complete(commands, ['app', 's'])).toEqual(['sync']);
  });

  it("completes a verb's own flags (from its usage) and the global ones, and the values of -o", () => {
    const promote = commands.find((c) => c.name === 'promote');
    expect(promote === undefined ? [] : flagsOf(promote)).toEqual(['--full']);
    expect(complete(commands, ['promote', 'web', '--f'])).toEqual(['--full']);
    expect(complete(commands, ['app', 'sync', 'web', '--p'])).toEqual(['--prune']);
    expect(complete(commands, ['undo', 'web', '--'])).toEqual(expect.arrayContaining(['--to-revision', '--namespace', '--context']));
    expect(complete(commands, ['list', '-o', 'y'])).toEqual(['yaml']);
    expect(complete(commands, ['promote', 'web', ''])).toEqual([]);
  });

  it('answers __complete in cobra\'s protocol with the words as typed (a half-typed -n is not a flag error)', async () => {
    expect(await run(['__complete', 'app', 'r'])).toEqual({ code: 0, out: 'refresh\n:4\n', err: '' });
    expect(await run(['__complete', 'get', 'rollout', 'web', '-n'])).toEqual({ code: 0, out: ':4\n', err: '' });
    expect(await run(['__complete', 'get', 'rollout', 'web', '--he'])).toEqual({ code: 0, out: '--help\n:4\n', err: '' });
  });

  it('prints bash and zsh scripts that a real bash loads and uses; other shells are a usage error', async () => {
    const bash = await run(['completion', 'bash']);
    expect(bash.code).toBe(0);
    expect((await run(['completion', 'zsh'])).out).toContain('compdef _kubectl_sluice kubectl-sluice');
    expect(await run(['completion', 'fish'])).toMatchObject({ code: 64, err: expect.stringContaining('"fish" is not one of bash, zsh') });
    // The bash function, run as bash runs it on <TAB>, with kubectl-sluice being this checkout's launcher.
    const bin = join(import.meta.dirname, '..', '..', '..', 'bin');
    const script = `${bash.out}\nCOMP_WORDS=(kubectl-sluice app sy); COMP_CWORD=2; _kubectl_sluice; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const { NODE_OPTIONS: _jest, ...env } = process.env;
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...env, PATH: `${bin}:${join(process.execPath, '..')}:${process.env.PATH ?? ''}` } });
    expect({ out: r.stdout, status: r.status }).toEqual({ out: 'sync\n', status: 0 });
  });
});

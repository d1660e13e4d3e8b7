import { describe, expect, it } from '@jest/globals';
import { ExitCode, UsageError, type Command, type Writer } from './command.ts';
import { dispatch, findCommand } from './main.ts';
import { fitToScreen, frameUpdate } from './view/live.ts';

const buffer = (isTTY = false): Writer & { text: string } => {
  const b = { text: '', isTTY, write: (s: string) => void (b.text += s) };
  return b;
};

const echo = (name: string, offline = true): Command => ({
  name,
  summary: `the ${name} verb`,
  usage: `Usage:\n  kubectl sluice ${name}\n`,
  offline,
  run: (ctx, argv) => {
    if (argv.includes('bad')) throw new UsageError('bad argument');
    if (argv.includes('boom')) throw new Error('it broke');
    ctx.out.write(`${name}:${argv.join(',')}:${ctx.output}\n`);
    return Promise.resolve(ExitCode.ok);
  },
});
const commands = [echo('app get'), echo('app sync'), echo('version')];

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = buffer();
  const err = buffer();
  const code = await dispatch(argv, { out, err, cwd: '/', signal: new AbortController().signal }, commands);
  return { code, out: out.text, err: err.text };
}

describe('dispatcher', () => {
  it('finds multi-word verbs and hands them the rest', () => {
    expect(findCommand(commands, ['app', 'sync', 'web'])?.rest).toEqual(['web']);
    expect(findCommand(commands, ['app'])).toBeUndefined();
  });

  it('runs a verb with the global flags taken out', async () => {
    expect(await run(['app', 'get', 'web', '-o', 'yaml'])).toEqual({ code: 0, out: 'app get:web:yaml\n', err: '' });
  });

  it('prints help on stdout with exit 0, for a verb, a group and the whole plugin', async () => {
    expect(await run(['app', 'sync', '--help'])).toMatchObject({ code: 0, out: expect.stringContaining('kubectl sluice app sync') });
    const group = await run(['app', '--help']);
    expect(group.out).toContain('app get');
    expect(group.out).not.toContain('version');
    expect((await run(['--help'])).out).toContain('version');
  });

  it('puts errors on stderr with meaningful exit codes', async () => {
    expect(await run([])).toMatchObject({ code: 64, out: '', err: expect.stringContaining('Commands:') });
    expect(await run(['app'])).toMatchObject({ code: 64, err: 'error: "app": expected one of: app get, app sync\n' });
    expect(await run(['nope'])).toMatchObject({ code: 64, err: expect.stringContaining('unknown command "nope"') });
    expect(await run(['version', 'bad'])).toEqual({ code: 64, out: '', err: 'error: bad argument\nSee "kubectl sluice version --help".\n' });
    expect(await run(['version', 'boom'])).toEqual({ code: 1, out: '', err: 'error: it broke\n' });
  });
});

describe('live view frames', () => {
  it('as plain lines: only changed frames, separated by a blank line, no escapes', () => {
    expect(frameUpdate(undefined, 'a\nb\n', false)).toBe('a\nb\n');
    expect(frameUpdate('a\nb\n', 'a\nb\n', false)).toBe('');
    expect(frameUpdate('a\nb\n', 'a\nc\n', false)).toBe('\na\nc\n');
  });

  it('on a terminal: hides the cursor, then moves up over the last frame and clears below; lines fit the width', () => {
    expect(frameUpdate(undefined, 'a\nb\n', true)).toBe('\u001b[?25la\nb\n');
    expect(frameUpdate('a\nb\n', 'x\n', true)).toBe('\u001b[2F\u001b[Jx\n');
    expect(frameUpdate(undefined, 'abcdef\n', true, 4)).toBe('\u001b[?25labc\n');
  });

  it('cuts a frame to the terminal: no wrapped line, no more lines than the screen has (the demo uses it too)', () => {
    const frame = 'a\nb\nc\nd\ne\nf\n';
    expect(fitToScreen(frame, 10, undefined)).toBe(frame);
    expect(fitToScreen(frame, 5, undefined)).toBe('a\nb\nc\n… 3 more lines (a taller terminal shows them)\n');
    expect(fitToScreen(`${'x'.repeat(30)}\nshort\n`, undefined, 20)).toBe(`${'x'.repeat(18)}…\nshort\n`);
    expect(frameUpdate(undefined, frame, true, undefined, 5)).toBe('\u001b[?25la\nb\nc\n… 3 more lines (a taller terminal shows them)\n');
  });
});

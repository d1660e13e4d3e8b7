// The FILE|DIR… [-R] arguments lint and convert share: parsed, read, and every unreadable entry named on stderr.
import { parseCommandArgs } from '../args.ts';
import { UsageError, type CommandContext } from '../command.ts';
import { formatFileProblem, InputError, readManifestFiles, type ManifestFiles } from '../../lint/files.ts';

/** The files named, read; undefined when none could be read (the reason is already on stderr). */
export async function readManifestArgs(ctx: CommandContext, argv: readonly string[]): Promise<ManifestFiles | undefined> {
  const { values, positionals } = parseCommandArgs(argv, { recursive: { type: 'boolean', short: 'R' } });
  if (positionals.length === 0) throw new UsageError('missing FILE');
  let input: ManifestFiles;
  try {
    input = await readManifestFiles(ctx.cwd, positionals, values.recursive === true);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    ctx.err.write(`error: ${err.message}\n`);
    return undefined;
  }
  // A directory entry that could not be read is named here; the other files are still used.
  for (const p of input.problems) ctx.err.write(`${formatFileProblem(p)}\n`);
  return input;
}

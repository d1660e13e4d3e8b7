// The files `kubectl sluice lint` and `convert` read: each FILE argument, or the YAML/JSON files of a directory
// (its subdirectories too with -R), in a stable order. Paths are shown as the user wrote them. A named FILE that
// cannot be read stops the command; inside a directory, an entry that cannot be read (a broken symlink, no
// permission) is reported by path and the other files are still read.
import type { Stats } from 'node:fs';
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { LintFile } from './lint.ts';

const MANIFEST = /\.(ya?ml|json)$/i;

export class InputError extends Error {
  override readonly name = 'InputError';
}

/** A directory entry that was not read: a warning when there is nothing to read (a broken symlink), else an error. */
export interface FileProblem {
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

export interface ManifestFiles {
  files: LintFile[];
  problems: FileProblem[];
}

export function formatFileProblem(p: FileProblem): string {
  return `${p.severity}: ${p.path}: ${p.message}`;
}

const reason = (err: unknown): string => {
  const code = (err as { code?: unknown }).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ELOOP') return 'too many levels of symbolic links';
  return err instanceof Error ? err.message : String(err);
};

export async function readManifestFiles(cwd: string, paths: readonly string[], recursive: boolean): Promise<ManifestFiles> {
  const files: LintFile[] = [];
  const problems: FileProblem[] = [];
  /** Directories already read (by real path): a symlink back up the tree is not followed round again. */
  const dirs = new Set<string>();
  /** Why an entry of a directory was not read: a broken symlink (nothing to read) is a warning, the rest errors. */
  const skip = async (shown: string, abs: string, err: unknown): Promise<void> => {
    const broken = (err as { code?: unknown }).code === 'ENOENT' && (await lstat(abs).catch(() => undefined))?.isSymbolicLink() === true;
    problems.push(broken ? { path: shown, message: 'broken symlink, skipped', severity: 'warning' } : { path: shown, message: `${reason(err)}, skipped`, severity: 'error' });
  };
  const visit = async (shown: string, top: boolean): Promise<void> => {
    const abs = resolve(cwd, shown);
    let s: Stats;
    try {
      s = await stat(abs);
    } catch (err) {
      if (top) throw new InputError(`${shown}: ${(err as { code?: unknown }).code === 'ENOENT' ? 'no such file or directory' : reason(err)}`);
      return skip(shown, abs, err);
    }
    if (s.isDirectory()) {
      if (!top && !recursive) return;
      const real = await realpath(abs);
      if (dirs.has(real)) return;
      dirs.add(real);
      let entries: string[];
      try {
        entries = (await readdir(abs)).sort();
      } catch (err) {
        if (top) throw new InputError(`${shown}: ${reason(err)}`);
        return skip(shown, abs, err);
      }
      for (const e of entries) {
        const child = join(shown, e);
        const childInfo = await stat(resolve(cwd, child)).catch(() => undefined);
        // A directory, a manifest, or an entry that cannot be stat'ed but is named like a manifest (reported).
        if (childInfo?.isDirectory() === true || MANIFEST.test(e)) await visit(child, false);
      }
      return;
    }
    try {
      files.push({ path: shown, text: await readFile(abs, 'utf8') });
    } catch (err) {
      if (top) throw new InputError(`${shown}: ${reason(err)}`);
      await skip(shown, abs, err);
    }
  };
  for (const p of paths) await visit(p, true);
  return { files, problems };
}

// The files `kubectl sluice lint` and `convert` read: each FILE argument, or the YAML/JSON files of a directory
// (its subdirectories too with -R), in a stable order. Paths are shown as the user wrote them.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { LintFile } from './lint.ts';

const MANIFEST = /\.(ya?ml|json)$/i;

export class InputError extends Error {
  override readonly name = 'InputError';
}

export async function readManifestFiles(cwd: string, paths: readonly string[], recursive: boolean): Promise<LintFile[]> {
  const out: LintFile[] = [];
  const visit = async (shown: string, top: boolean): Promise<void> => {
    const abs = resolve(cwd, shown);
    const info = await stat(abs).catch(() => undefined);
    if (info === undefined) throw new InputError(`${shown}: no such file or directory`);
    if (info.isDirectory()) {
      if (!top && !recursive) return;
      const entries = (await readdir(abs)).sort();
      for (const e of entries) {
        const child = join(shown, e);
        const s = await stat(resolve(cwd, child));
        if (s.isDirectory()) await visit(child, false);
        else if (MANIFEST.test(e)) await visit(child, false);
      }
      return;
    }
    out.push({ path: shown, text: await readFile(abs, 'utf8') });
  };
  for (const p of paths) await visit(p, true);
  return out;
}

import { describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatFileProblem, InputError, readManifestFiles } from './files.ts';

describe('readManifestFiles', () => {
  it('skips a broken symlink in a directory with a warning naming it, and reads the other files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-files-'));
    try {
      await writeFile(join(dir, 'a.yaml'), 'kind: A\n');
      await symlink(join(dir, 'gone.yaml'), join(dir, 'b.yaml'));
      await writeFile(join(dir, 'c.yaml'), 'kind: C\n');
      const res = await readManifestFiles(dir, ['.'], false);
      expect(res.files.map((f) => f.path)).toEqual(['a.yaml', 'c.yaml']);
      expect(res.problems.map(formatFileProblem)).toEqual(['warning: b.yaml: broken symlink, skipped']);
      // Named on the command line, the same link stops the command with the path.
      await expect(readManifestFiles(dir, ['b.yaml'], false)).rejects.toEqual(new InputError('b.yaml: no such file or directory'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads a directory linked back up the tree once with -R, and names an entry that cannot be read as an error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-files-'));
    try {
      await mkdir(join(dir, 'sub'));
      await writeFile(join(dir, 'sub', 'a.yaml'), 'kind: A\n');
      await symlink(dir, join(dir, 'sub', 'loop'));
      await symlink(join(dir, 'loop.yaml'), join(dir, 'loop.yaml')); // a link to itself: ELOOP, not a broken link
      const res = await readManifestFiles(dir, ['.'], true);
      expect(res.files.map((f) => f.path)).toEqual(['sub/a.yaml']);
      expect(res.problems.map(formatFileProblem)).toEqual(['error: loop.yaml: too many levels of symbolic links, skipped']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

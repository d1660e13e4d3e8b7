// bin/kubectl-sluice picks the code it runs: the TypeScript sources in a checkout, the compiled dist/ when installed
// under node_modules (where Node does not strip types). Checked on copies of the launcher with marker entry points.
// (The real `npm pack` + `npm install -g` of the package is described in the README; it runs dist/cli/bin.js.)
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLUGIN_DIR } from '../../test/support/plugin.ts';

function layout(root: string, parts: { src: boolean; dist: boolean }): Promise<void[]> {
  const writes: Promise<void>[] = [];
  const put = async (path: string, text: string): Promise<void> => {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), text);
  };
  writes.push((async () => {
    await mkdir(join(root, 'bin'), { recursive: true });
    await copyFile(join(PLUGIN_DIR, 'kubectl-sluice'), join(root, 'bin', 'kubectl-sluice'));
  })());
  writes.push(put('package.json', '{"type":"module"}'));
  if (parts.src) writes.push(put('src/cli/bin.ts', "const from: string = 'src';\nprocess.stdout.write(from);\n"));
  if (parts.dist) writes.push(put('dist/cli/bin.js', "process.stdout.write('dist');\n"));
  return Promise.all(writes);
}

const launch = (root: string, nodeFlags: string[] = []): Promise<{ stdout: string; stderr: string; code: number }> =>
  new Promise((resolve) => {
    execFile(process.execPath, [...nodeFlags, join(root, 'bin', 'kubectl-sluice'), 'version'], (err, stdout, stderr) => resolve({ stdout, stderr, code: err === null ? 0 : Number(err.code ?? 1) }));
  });

describe('bin/kubectl-sluice', () => {
  it('runs the sources in a checkout, dist/ under node_modules, and says what to do when neither is there', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'sluice-launcher-'));
    try {
      const checkout = join(tmp, 'checkout');
      const installed = join(tmp, 'prefix', 'lib', 'node_modules', 'sluice');
      const unbuilt = join(tmp, 'prefix2', 'node_modules', 'sluice');
      await layout(checkout, { src: true, dist: true });
      await layout(installed, { src: true, dist: true });
      await layout(unbuilt, { src: true, dist: false });
      expect(await launch(checkout)).toEqual({ stdout: 'src', stderr: '', code: 0 });
      expect(await launch(installed)).toEqual({ stdout: 'dist', stderr: '', code: 0 });
      const missing = await launch(unbuilt);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('dist/cli/bin.js is missing: run "npm run build"');
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('hands itself over to the checkout\'s own Node (node_modules/.bin/node) when the Node running it is older than 22.19', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'sluice-launcher-'));
    try {
      const checkout = join(tmp, 'checkout');
      await layout(checkout, { src: true, dist: false });
      // An "old" Node: this one, told by a preload to report 20.1.0 (the flag is not passed on to the child).
      const old = join(tmp, 'old-node.mjs');
      await writeFile(old, "Object.defineProperty(process.versions, 'node', { value: '20.1.0' });\n");
      const refused = await launch(checkout, ['--import', old]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('needs Node.js 22.19 or newer');
      expect(refused.stderr).toContain('"npm install"');
      await mkdir(join(checkout, 'node_modules', '.bin'), { recursive: true });
      await symlink(process.execPath, join(checkout, 'node_modules', '.bin', 'node'));
      expect(await launch(checkout, ['--import', old])).toEqual({ stdout: 'src', stderr: '', code: 0 });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('passes the exit code of the verb through the hand-over', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'sluice-launcher-'));
    try {
      const checkout = join(tmp, 'checkout');
      await layout(checkout, { src: false, dist: false });
      await writeFile(join(checkout, 'old-node.mjs'), "Object.defineProperty(process.versions, 'node', { value: '22.18.0' });\n");
      await mkdir(join(checkout, 'src', 'cli'), { recursive: true });
      await writeFile(join(checkout, 'src', 'cli', 'bin.ts'), "process.stderr.write(process.argv.slice(2).join(' '));\nprocess.exitCode = 64;\n");
      await mkdir(join(checkout, 'node_modules', '.bin'), { recursive: true });
      await symlink(process.execPath, join(checkout, 'node_modules', '.bin', 'node'));
      expect(await launch(checkout, ['--import', join(checkout, 'old-node.mjs')])).toEqual({ stdout: '', stderr: 'version', code: 64 });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});

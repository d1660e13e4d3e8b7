#!/usr/bin/env node
// Fails when `npm install` would rewrite package-lock.json: a clean clone must stay clean after the README's install,
// and `npm ci` (which .ci/run uses) refuses a lock that is out of sync with package.json. The install is resolved in a
// scratch copy (`--package-lock-only`: no node_modules touched, nothing run), so this checkout's lock is never changed.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'sluice-lock-'));
try {
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(root, f), join(scratch, f));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: scratch,
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    console.error(`npm install --package-lock-only failed (exit ${r.status ?? r.signal}):\n${r.stderr}`);
    process.exit(1);
  }
  const before = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const after = JSON.parse(readFileSync(join(scratch, 'package-lock.json'), 'utf8'));
  const changed = lockChanges(before.packages ?? {}, after.packages ?? {});
  const sameText = readFileSync(join(root, 'package-lock.json'), 'utf8') === readFileSync(join(scratch, 'package-lock.json'), 'utf8');
  if (changed.length > 0 || !sameText) {
    console.error('package-lock.json is not what `npm install` writes; run `npm install` and commit the lock it produces.');
    for (const c of changed.slice(0, 20)) console.error(`  ${c}`);
    if (changed.length > 20) console.error(`  ... and ${changed.length - 20} more`);
    if (changed.length === 0) console.error('  (same packages; the formatting or top-level fields differ)');
    process.exit(1);
  }
  console.error('package-lock.json is what `npm install` writes.');
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

/** Packages added, removed or changed between two lock files' `packages` maps, one line each. */
function lockChanges(before, after) {
  const out = [];
  for (const k of Object.keys(after)) {
    if (!(k in before)) out.push(`added ${k || '(root)'} ${after[k].version ?? ''}`);
    else if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) out.push(`changed ${k || '(root)'}`);
  }
  for (const k of Object.keys(before)) if (!(k in after)) out.push(`removed ${k || '(root)'}`);
  return out;
}

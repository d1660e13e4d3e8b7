// `npm run gen`: writes crds/<plural>.sluice.dev.yaml from the zod schemas in src/api and removes generated files
// for kinds that no longer exist. crds/README.md and other hand-written files are left alone.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CRD_FILE_SUFFIX, renderCrdFiles } from '../src/api/crd/render.ts';

export function writeCrds(dir: string): string[] {
  const files = renderCrdFiles();
  const wanted = new Set(files.map((f) => f.name));
  for (const name of readdirSync(dir)) {
    if (name.endsWith(CRD_FILE_SUFFIX) && !wanted.has(name)) rmSync(join(dir, name));
  }
  for (const f of files) writeFileSync(join(dir, f.name), f.content);
  return files.map((f) => f.name);
}

if (import.meta.main) {
  const dir = join(import.meta.dirname, '..', 'crds');
  for (const name of writeCrds(dir)) console.log(`wrote crds/${name}`);
}

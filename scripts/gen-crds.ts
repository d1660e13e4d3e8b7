// `npm run gen`: writes crds/<plural>.sluice.dev.yaml from the zod schemas in src/api and removes generated files
// for kinds that no longer exist. crds/README.md and other hand-written files are left alone. The Helm chart gets
// the same files (charts/sluice/files/crds, installed as templates so upgrades update them).
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
  for (const dir of ['crds', 'charts/sluice/files/crds']) {
    for (const name of writeCrds(join(import.meta.dirname, '..', dir))) console.log(`wrote ${dir}/${name}`);
  }
}

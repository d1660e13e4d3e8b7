// crds/ is generated; this fails whenever a schema change was not followed by `npm run gen`.
import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CRD_FILE_SUFFIX, renderCrdFiles } from './render.ts';

const CRD_DIR = join(import.meta.dirname, '..', '..', '..', 'crds');
const STALE = 'crds/ is out of date with the zod schemas in src/api: run `npm run gen` and commit the result';

describe('crds/', () => {
  const generated = renderCrdFiles();

  it('holds exactly the generated files', () => {
    const onDisk = readdirSync(CRD_DIR).filter((f) => f.endsWith(CRD_FILE_SUFFIX)).sort();
    const expected = generated.map((f) => f.name).sort();
    if (onDisk.join('\n') !== expected.join('\n')) throw new Error(`${STALE}\n  on disk: ${onDisk.join(', ')}\n  expected: ${expected.join(', ')}`);
    expect(onDisk).toEqual(expected);
  });

  it.each(generated.map((f) => [f.name, f.content] as const))('%s matches what the schemas generate', (name, content) => {
    const onDisk = readFileSync(join(CRD_DIR, name), 'utf8');
    if (onDisk !== content) throw new Error(`${STALE} (${name} differs)`);
  });

  it('is deterministic and marked as generated', () => {
    expect(renderCrdFiles()).toEqual(generated);
    for (const f of generated) expect(f.content.startsWith('# Generated from src/api by `npm run gen`')).toBe(true);
  });
});

// The chart installs the CRDs from its own copies (a chart must be self-contained); `npm run gen` writes them next to
// crds/. This fails when a schema changed and the copies were not regenerated.
import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CRD_FILE_SUFFIX, renderCrdFiles } from '../../src/api/crd/render.ts';

const CHART_CRDS = join(import.meta.dirname, '..', '..', 'charts', 'sluice', 'files', 'crds');
const STALE = 'charts/sluice/files/crds is out of date with the zod schemas in src/api: run `npm run gen` and commit the result';

describe('charts/sluice/files/crds', () => {
  const generated = renderCrdFiles();

  it('holds exactly the generated CRDs, byte for byte', () => {
    const onDisk = readdirSync(CHART_CRDS).sort();
    expect(onDisk.every((f) => f.endsWith(CRD_FILE_SUFFIX))).toBe(true);
    if (onDisk.join() !== generated.map((f) => f.name).sort().join()) throw new Error(`${STALE} (files: ${onDisk.join(', ')})`);
    for (const f of generated) {
      if (readFileSync(join(CHART_CRDS, f.name), 'utf8') !== f.content) throw new Error(`${STALE} (${f.name} differs)`);
    }
  });
});

// The examples users copy must stay valid: parsed by the schemas and passing the semantic checks.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { validateAnalysisSpec } from '../api/analysis/validate.ts';
import { analysisTemplateSchema } from '../api/analysis/schema.ts';
import { checkRollout } from './spec.ts';

const dir = join(import.meta.dirname, '..', '..', 'examples', 'rollouts');
const docs = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => ({ file: f, doc: d.toJS() as { kind: string; metadata: { name: string } } })));

describe('examples/rollouts', () => {
  const templates = new Set(docs.filter((d) => d.doc.kind === 'AnalysisTemplate').map((d) => d.doc.metadata.name));

  it.each(docs.filter((d) => d.doc.kind === 'Rollout').map((d) => [d.file, d.doc] as const))('%s: the Rollout is valid', (_file, doc) => {
    const c = checkRollout(doc, { analysisTemplates: templates, clusterAnalysisTemplates: new Set() });
    expect(c.ok ? [] : c.errors).toEqual([]);
  });

  it.each(docs.filter((d) => d.doc.kind === 'AnalysisTemplate').map((d) => [d.file, d.doc] as const))('%s: the AnalysisTemplate is valid', (_file, doc) => {
    const t = analysisTemplateSchema.parse(doc);
    expect(validateAnalysisSpec(t.spec)).toEqual([]);
  });
});

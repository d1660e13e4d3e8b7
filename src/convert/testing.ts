// Helpers of the convert tests (not a test file): run convert on fixtures or inline YAML and read its findings.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { lint } from '../lint/lint.ts';
import { convert, toYaml, type ConvertResult, type Manifest } from './convert.ts';

export const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'convert');
export const fixture = (name: string): { path: string; text: string } => ({ path: name, text: readFileSync(join(FIXTURES, name), 'utf8') });
export const run = (...files: { path: string; text: string }[]): ConvertResult => convert(files);
export const inline = (text: string): ConvertResult => convert([{ path: 'in.yaml', text }]);
/** `line field` of each finding of a severity. */
export const findings = (r: ConvertResult, severity: string): string[] => r.findings.filter((f) => f.severity === severity).map((f) => `${f.line} ${f.field}`);
/** `line field: message` of each error. */
export const errorsOf = (r: ConvertResult): string[] => r.findings.filter((f) => f.severity === 'error').map((f) => `${f.line} ${f.field}: ${f.message}`);
export const find = (r: ConvertResult, kind: string, name: string): Manifest => {
  const m = r.manifests.find((x) => x.manifest.kind === kind && x.manifest.metadata.name === name)?.manifest;
  if (m === undefined) throw new Error(`no ${kind}/${name} in ${r.manifests.map((x) => `${x.manifest.kind}/${x.manifest.metadata.name}`).join(', ')}`);
  return m;
};
/** What `kubectl sluice convert` prints, read back: every document, and what lint says about it. */
export const printed = (r: ConvertResult): { docs: unknown[]; errors: string[] } => {
  const text = toYaml(r);
  return { docs: parseAllDocuments(text).map((d) => d.toJS() as unknown), errors: lint([{ path: 'out.yaml', text }]).findings.filter((f) => f.severity === 'error').map((f) => `${f.field}: ${f.message}`) };
};

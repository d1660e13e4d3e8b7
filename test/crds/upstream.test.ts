import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { selectCrds, UpstreamCrdError } from './upstream.ts';

const crd = (name: string) => `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: ${name}\nspec:\n  group: x\n`;

describe('selectCrds', () => {
  it('keeps only the CRDs asked for, as complete documents, skipping other kinds and empty documents', () => {
    const text = ['# a comment\n', crd('a.example.io'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b.example.io}\n', crd('c.example.io'), ''].join('---\n');
    const docs = selectCrds(text, 'f.yaml', (n) => n !== 'a.example.io');
    expect(docs).toHaveLength(1);
    expect(parse(docs[0] ?? '')).toEqual({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'c.example.io' }, spec: { group: 'x' } });
  });

  it('names the file when the YAML is broken', () => {
    expect(() => selectCrds('a: [', 'mod/crds.yaml', () => true)).toThrow(UpstreamCrdError);
    expect(() => selectCrds('a: [', 'mod/crds.yaml', () => true)).toThrow(/^mod\/crds\.yaml: /);
  });
});

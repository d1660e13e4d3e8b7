import { describe, expect, it } from '@jest/globals';
import { parse, parseAllDocuments } from 'yaml';
import { renderKubeconfig } from './kubeconfig.ts';
import { renderNodes } from './nodes.ts';
import { KWOK_NODE_ANNOTATION } from './layout.ts';

describe('kubeconfig', () => {
  it('names one cluster, user and context, and references the certificate files', () => {
    const kc = parse(renderKubeconfig({ server: 'https://127.0.0.1:6443', caCertPath: '/p/ca.crt', clientCertPath: '/p/a.crt', clientKeyPath: '/p/a.key' })) as Record<string, unknown>;
    expect(kc).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'sluice-test', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority': '/p/ca.crt' } }],
      users: [{ name: 'admin', user: { 'client-certificate': '/p/a.crt', 'client-key': '/p/a.key' } }],
      contexts: [{ name: 'sluice-test', context: { cluster: 'sluice-test', user: 'admin' } }],
      'current-context': 'sluice-test',
    });
  });
});

describe('kwok nodes', () => {
  it('renders the requested number of annotated nodes with distinct names', () => {
    const docs = parseAllDocuments(renderNodes(3)).map((d) => d.toJS() as { kind: string; metadata: { name: string; annotations: Record<string, string> } });
    expect(docs.map((d) => d.metadata.name)).toEqual(['kwok-node-0', 'kwok-node-1', 'kwok-node-2']);
    for (const d of docs) {
      expect(d.kind).toBe('Node');
      expect(d.metadata.annotations[KWOK_NODE_ANNOTATION]).toBe('fake');
    }
  });

  it.each([0, -1, 1.5])('rejects %p nodes', (n) => {
    expect(() => renderNodes(n)).toThrow(/positive integer/);
  });
});

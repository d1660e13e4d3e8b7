import { stringify } from 'yaml';
import { KWOK_NODE_ANNOTATION } from './layout.ts';

/** Fake Nodes that kwok manages (by annotation): kwok fills their status, so they turn Ready without a kubelet. */
export function renderNodes(count: number): string {
  if (!Number.isInteger(count) || count < 1) throw new Error(`node count must be a positive integer, got ${count}`);
  const docs = [];
  for (let i = 0; i < count; i++) {
    const name = `kwok-node-${i}`;
    docs.push(
      stringify({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: {
            type: 'kwok',
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            'topology.kubernetes.io/zone': `zone-${i % 3}`,
          },
        },
      }),
    );
  }
  return docs.join('---\n');
}

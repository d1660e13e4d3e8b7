import { describe, expect, it } from '@jest/globals';
import { ParsedFileCache } from './cache.ts';
import { render, type RawFile } from './render.ts';
import { RenderError } from './yaml.ts';

const enc = new TextEncoder();
const cm = (name: string, v: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  v: "${v}"\n`;
const file = (path: string, text: string, oid: string): RawFile => ({ path, content: enc.encode(text), oid });
const source = { repoURL: 'https://example.com/r.git' } as Parameters<typeof render>[0]['source'];
const readRepo = (): Promise<RawFile[]> => Promise.reject(new Error('not a kustomization'));

describe('directory render with the per-file parse cache', () => {
  const files = [file('a.yaml', cm('a', '1'), 'oa1'), file('b.yaml', cm('b', '1'), 'ob1'), file('README.md', '# hi', 'oreadme'), file('sub/c.yaml', cm('c', '1'), 'oc1')];

  it('renders exactly what the uncached path renders', async () => {
    const plain = await render({ source, path: 'apps', files, readRepo });
    const cached = await render({ source, path: 'apps', files, readRepo, parsed: new ParsedFileCache().pin('apps/').parsed });
    expect(cached).toEqual(plain);
    expect(plain.manifests.map((m) => m.source)).toEqual(['apps/a.yaml:1', 'apps/b.yaml:1']);
  });

  it('parses only the files whose blob changed, and skips reading the known ones', async () => {
    const cache = new ParsedFileCache();
    const first = cache.pin('');
    await render({ source, path: '', files, readRepo, parsed: first.parsed });
    const second = cache.pin('');
    // What the source does: a known blob is not read (content empty, skipped) but its size still counts.
    const next = [file('a.yaml', cm('a', '2'), 'oa2'), file('b.yaml', cm('b', '1'), 'ob1')].map((f) => {
      const size = second.known(f.oid!, f.path);
      return size === undefined ? f : { ...f, content: new Uint8Array(0), skipped: true };
    });
    expect(next.map((f) => f.skipped === true)).toEqual([false, true]);
    expect(second.known('ob1', 'b.yaml')).toBe(enc.encode(cm('b', '1')).byteLength);
    const out = await render({ source, path: '', files: next, readRepo, parsed: second.parsed });
    expect(out.manifests.map((m) => (m.manifest as { data?: { v?: string } }).data?.v)).toEqual(['2', '1']);
    // The same blob under another path is another entry (its manifests name the path).
    expect(second.known('ob1', 'renamed.yaml')).toBeUndefined();
  });

  it('reports a syntax error with file and line and caches nothing for it', async () => {
    const cache = new ParsedFileCache();
    const bad = [file('x.yaml', 'apiVersion: v1\nkind: [\n', 'obad')];
    await expect(render({ source, path: '', files: bad, readRepo, parsed: cache.pin('').parsed })).rejects.toThrow(RenderError);
    expect(cache.pin('').known('obad', 'x.yaml')).toBeUndefined();
  });
});

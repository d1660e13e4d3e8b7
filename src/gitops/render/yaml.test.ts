import { describe, expect, it } from '@jest/globals';
import { kustomizeImage, remoteBase } from './kustomize.ts';
import { parseManifests, RenderError, renderDirectory, selectFiles } from './yaml.ts';

const cm = (name: string, extra = ''): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}`;

describe('plain YAML render', () => {
  it('reads multi-document files, skips empty documents and flattens Lists', () => {
    const text = `# leading comment\n---\n${cm('a')}---\n---\n# only a comment\n---\napiVersion: v1\nkind: List\nitems:\n- ${cm('b').replaceAll('\n', '\n  ').trimEnd()}\n`;
    const out = parseManifests(text, 'apps/x.yaml');
    expect(out.map((m) => m.manifest.metadata.name)).toEqual(['a', 'b']);
    expect(out[0]?.source).toBe('apps/x.yaml:3');
  });

  it('reads values as kubectl (YAML 1.1) does: yes/on are booleans, octal, timestamps stay strings', () => {
    const [m] = parseManifests(cm('a', 'data:\n  flag: yes\n  sw: on\n  quoted: "yes"\n  mode: 0755\n  when: 2026-01-01\n'), 'f.yaml');
    expect(m?.manifest.data).toEqual({ flag: true, sw: true, quoted: 'yes', mode: 493, when: '2026-01-01' });
  });

  it('names the file and line of a syntax error', () => {
    const text = `${cm('a')}---\n${cm('b')}data:\n  k: [unclosed\n`;
    const err = (() => {
      try {
        parseManifests(text, 'apps/broken.yaml');
      } catch (e) {
        return e;
      }
    })() as RenderError;
    expect(err).toBeInstanceOf(RenderError);
    expect(err.file).toBe('apps/broken.yaml');
    expect(err.line).toBeGreaterThanOrEqual(10);
    expect(err.message).toMatch(/^apps\/broken\.yaml:1\d: /);
  });

  it('refuses duplicate keys and documents that are not objects, with their line', () => {
    expect(() => parseManifests(cm('a', 'data:\n  k: 1\n  k: 2\n'), 'd.yaml')).toThrow(/d\.yaml:\d+: .*[Uu]nique|d\.yaml:\d+: .*duplicate/i);
    expect(() => parseManifests(`${cm('a')}---\nkind: ConfigMap\nmetadata: {name: x}\n`, 'n.yaml')).toThrow(/^n\.yaml:6: not a Kubernetes object: apiVersion/);
  });

  it('selects YAML files: top level unless recurse, include and exclude globs', () => {
    const files = ['a.yaml', 'b.yml', 'c.json', 'README.md', 'sub/d.yaml', 'sub/skip-e.yaml'].map((path) => ({ path }));
    expect(selectFiles(files, {}).map((f) => f.path)).toEqual(['a.yaml', 'b.yml', 'c.json']);
    expect(selectFiles(files, { recurse: true, exclude: 'skip-*' }).map((f) => f.path)).toEqual(['a.yaml', 'b.yml', 'c.json', 'sub/d.yaml']);
    expect(selectFiles(files, { recurse: true, include: '{*.yml,sub/*}' }).map((f) => f.path)).toEqual(['b.yml', 'sub/d.yaml', 'sub/skip-e.yaml']);
  });

  it('prefixes the source path in messages', () => {
    const out = renderDirectory([{ path: 'x.yaml', text: cm('a') }], {}, 'apps/web');
    expect(out[0]?.source).toBe('apps/web/x.yaml:1');
  });
});

describe('kustomize helpers', () => {
  it('converts Argo CD image overrides', () => {
    expect(kustomizeImage('nginx:1.27')).toEqual({ name: 'nginx', newTag: '1.27' });
    expect(kustomizeImage('nginx=registry:5000/web:2')).toEqual({ name: 'nginx', newName: 'registry:5000/web', newTag: '2' });
    expect(kustomizeImage('web@sha256:abc')).toEqual({ name: 'web', digest: 'sha256:abc' });
  });
  it('finds remote bases', () => {
    expect(remoteBase('resources:\n- ../base\n- https://github.com/x/y//z\n')).toBe('https://github.com/x/y//z');
    expect(remoteBase('resources:\n- ../base\n')).toBeUndefined();
  });
});

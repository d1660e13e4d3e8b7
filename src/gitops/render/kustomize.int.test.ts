// `kubectl kustomize` (the control plane's own kubectl) on a repository tree with a base outside the path.
import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { renderKustomize } from './kustomize.ts';
import { render } from './render.ts';
import { RenderError } from './yaml.ts';

process.env.SLUICE_KUBECTL = join(process.env.SLUICE_TEST_BIN_DIR ?? '', 'kubectl');

const files = [
  { path: 'base/kustomization.yaml', text: 'resources:\n- cm.yaml\n' },
  { path: 'base/cm.yaml', text: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: "1"\n' },
  { path: 'overlays/prod/kustomization.yaml', text: 'resources:\n- ../../base\nnamespace: prod\n' },
];

describe('kustomize render', () => {
  it('builds an overlay whose base is elsewhere in the repository, with the Application overrides', async () => {
    const out = await renderKustomize(files, 'overlays/prod', { namePrefix: 'x-', commonLabels: { team: 'web' } });
    expect(out).toHaveLength(1);
    expect(out[0]?.manifest.metadata).toMatchObject({ name: 'x-settings', namespace: 'prod', labels: { team: 'web' } });
  });

  it('names file and line of a syntax error, and reports what kustomize refuses', async () => {
    const broken = [...files, { path: 'overlays/prod/patch.yaml', text: 'a: [1\n' }];
    await expect(renderKustomize(broken, 'overlays/prod')).rejects.toThrow(/^overlays\/prod\/patch\.yaml:\d+: /);
    const missing = [{ path: 'k/kustomization.yaml', text: 'resources:\n- nope.yaml\n' }];
    const err = await renderKustomize(missing, 'k').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RenderError);
    expect((err as Error).message).toMatch(/^k\/kustomization\.yaml: kustomize: .*nope\.yaml/);
  });

  it('is chosen by render() when the path holds a kustomization, reading the whole repository for its bases', async () => {
    const enc = (t: string): Uint8Array => new TextEncoder().encode(t);
    const repo = files.map((f) => ({ path: f.path, content: enc(f.text) }));
    const underPath = repo.filter((f) => f.path.startsWith('overlays/prod/')).map((f) => ({ ...f, path: f.path.slice('overlays/prod/'.length) }));
    let repoReads = 0;
    const out = await render({
      source: { repoURL: 'https://x/y.git', kustomize: { images: [] } },
      path: 'overlays/prod',
      files: underPath,
      readRepo: () => {
        repoReads++;
        return Promise.resolve(repo);
      },
    });
    expect(out.tool).toBe('kustomize');
    expect(repoReads).toBe(1);
    expect(out.manifests.map((m) => `${m.manifest.metadata.namespace}/${m.manifest.metadata.name}`)).toEqual(['prod/settings']);
    const plain = await render({ source: { repoURL: 'https://x/y.git' }, path: 'base', files: [{ path: 'cm.yaml', content: enc(files[1]!.text) }], readRepo: () => Promise.reject(new Error('not needed')) });
    expect(plain.tool).toBe('directory');
  });
});

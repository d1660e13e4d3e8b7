// `helm template` (the helm built with the control plane) on a chart inside a repository tree: values files,
// inline values, parameters, file parameters, the cluster's versions, hooks kept for the sync, and errors with
// the template and line Helm names.
import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { renderHelm } from './helm.ts';
import { webChart } from '../../../test/support/helm-chart.ts';
import { render } from './render.ts';
import { RenderError } from './yaml.ts';

process.env.SLUICE_HELM = join(process.env.SLUICE_TEST_BIN_DIR ?? '', 'helm');

const repo = (files: Record<string, string>): { path: string; content: Uint8Array }[] => Object.entries(files).map(([path, text]) => ({ path, content: Buffer.from(text) }));
const ctx = { releaseName: 'shop', namespace: 'prod', kubeVersion: 'v1.36.3', apiVersions: ['v1', 'apps/v1', 'sluice.dev/v1alpha1'] };

describe('helm render', () => {
  it('templates a chart from a repository path with value files, values, parameters and the cluster versions', async () => {
    const out = await renderHelm(
      repo(webChart()),
      'charts/web',
      {
        valueFiles: ['../../values/prod.yaml'],
        valuesObject: { replicas: 3 },
        parameters: [{ name: 'message', value: 'hi' }, { name: 'replicas', value: '4', forceString: true }],
        fileParameters: [{ name: 'banner', path: 'files/banner.txt' }],
      },
      ctx,
    );
    const settings = out.find((m) => m.manifest.metadata.name === 'shop-settings');
    expect(settings?.manifest).toMatchObject({ data: { color: 'green', replicas: '4', message: 'hi', namespace: 'prod', kube: 'v1.36.3', rollouts: 'true' } });
    expect(settings?.source).toMatch(/^charts\/web\/templates\/settings\.yaml:\d+$/);
    // Hooks stay in the output for the sync to run; test hooks too (the plan skips them).
    expect(out.map((m) => m.manifest.metadata.name).sort()).toEqual(['shop-extra', 'shop-kept', 'shop-migrate', 'shop-settings', 'smoke']);
    const other = await renderHelm(repo(webChart()), 'charts/web', { releaseName: 'x', namespace: 'other', apiVersions: ['v1'], kubeVersion: '1.30.0' }, ctx);
    expect(other.find((m) => m.manifest.metadata.name === 'x-settings')?.manifest).toMatchObject({ data: { namespace: 'other', kube: 'v1.30.0', rollouts: 'false', color: 'blue' } });
  });

  it('names the template and line of a failing chart; a missing values file or a path outside the repository is refused before helm runs', async () => {
    const err = (await renderHelm(repo(webChart({ broken: true })), 'charts/web', {}, ctx).catch((e: unknown) => e)) as RenderError;
    expect(err).toBeInstanceOf(RenderError);
    expect(err.file).toBe('charts/web/templates/broken.yaml');
    expect(err.line).toBe(6);
    expect(err.message).toMatch(/^charts\/web\/templates\/broken\.yaml:6: helm template: .*nil pointer evaluating interface \{\}\.deeper/);
    await expect(renderHelm(repo(webChart()), 'charts/web', { valueFiles: ['values-nope.yaml'] }, ctx)).rejects.toThrow(
      'spec.source.helm.valueFiles[0]: values file "values-nope.yaml" does not exist (looked for charts/web/values-nope.yaml in the repository)',
    );
    expect(await renderHelm(repo(webChart()), 'charts/web', { valueFiles: ['values-nope.yaml'], ignoreMissingValueFiles: true }, ctx)).toHaveLength(5);
    await expect(renderHelm(repo(webChart()), 'charts/web', { valueFiles: ['../../../etc/passwd'] }, ctx)).rejects.toThrow(/must be a path inside the repository/);
  });

  it('enforces the output cap and the timeout', async () => {
    await expect(renderHelm(repo(webChart()), 'charts/web', {}, ctx, { timeoutMs: 60_000, maxOutputBytes: 100 })).rejects.toThrow(/output exceeds 100 bytes/);
    await expect(renderHelm(repo(webChart()), 'charts/web', {}, ctx, { timeoutMs: 1, maxOutputBytes: 1 << 20 })).rejects.toThrow(/did not finish within/);
  });

  it('is chosen by render() for a path holding Chart.yaml', async () => {
    const all = repo(webChart());
    const files = all.filter((f) => f.path.startsWith('charts/web/')).map((f) => ({ ...f, path: f.path.slice('charts/web/'.length) }));
    const out = await render({ source: { repoURL: 'http://x', path: 'charts/web' }, path: 'charts/web', files, readRepo: () => Promise.resolve(all), helm: () => Promise.resolve(ctx) });
    expect(out.tool).toBe('helm');
    expect(out.manifests).toHaveLength(5);
  });
});

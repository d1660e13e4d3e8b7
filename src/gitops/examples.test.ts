// The shipped example repository renders and plans cleanly (it is what users copy first).
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { checkApplication } from './spec.ts';
import { plan } from './plan/plan.ts';
import { renderDirectory } from './render/yaml.ts';

const root = join(import.meta.dirname, '..', '..', 'examples', 'gitops');

describe('examples/gitops', () => {
  it('the Application is valid and its repository plans in waves', () => {
    expect(checkApplication(parse(readFileSync(join(root, 'application.yaml'), 'utf8'))).ok).toBe(true);
    const dir = join(root, 'repo', 'apps', 'web');
    const files = readdirSync(dir).map((f) => ({ path: f, text: readFileSync(join(dir, f), 'utf8') }));
    const rendered = renderDirectory(files, {}, 'apps/web');
    const p = plan({
      app: { namespace: 'sluice', name: 'web' },
      destinationNamespace: 'web',
      rendered: { ok: true, manifests: rendered },
      namespaced: (_v, kind) => kind !== 'Namespace',
      inventory: [],
      prune: true,
      allowEmpty: false,
    });
    expect(p.errors).toEqual([]);
    expect(p.apply.map((o) => `${o.wave}:${o.ref.kind}/${o.ref.name}`)).toEqual(['-Infinity:Namespace/web', '0:ConfigMap/legacy-results', '0:ConfigMap/web-settings', '1:Service/web', '1:Deployment/web']);
    expect(rendered.find((r) => r.manifest.metadata.name === 'web-settings')?.manifest.data).toEqual({ GREETING: 'hello', FEATURE_X: 'yes' });
  });
});

import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { KubeconfigError, kubeconfigFiles, loadKubeAuth, resolveKubeconfig } from './kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-test-'));
function file(name: string, doc: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof doc === 'string' ? doc : stringify(doc));
  return p;
}
const config = (o: { server?: string; user?: Record<string, unknown>; cluster?: Record<string, unknown>; current?: string; name?: string }): unknown => ({
  apiVersion: 'v1',
  kind: 'Config',
  'current-context': o.current ?? 'ctx',
  clusters: [{ name: o.name ?? 'c', cluster: { server: o.server ?? 'https://127.0.0.1:6443/', ...o.cluster } }],
  users: [{ name: o.name ?? 'u', user: o.user ?? { token: 'abc' } }],
  contexts: [{ name: 'ctx', context: { cluster: o.name ?? 'c', user: o.name ?? 'u' } }],
});

describe('loadKubeAuth', () => {
  it('sends a static token and strips the trailing slash of the server', async () => {
    const auth = loadKubeAuth(file('token.yaml', config({})));
    expect(auth.server).toBe('https://127.0.0.1:6443');
    const a = await auth.prepare('https://127.0.0.1:6443/api', 'GET');
    expect(a.headers).toEqual({ Authorization: 'Bearer abc' });
    expect(a.dispatcher).toBeDefined();
    // One pool for every request: connections are reused, not rebuilt per request.
    expect((await auth.prepare('https://127.0.0.1:6443/api', 'GET')).dispatcher).toBe(a.dispatcher);
  });

  it('reads a tokenFile relative to the kubeconfig, and basic auth', async () => {
    writeFileSync(join(dir, 'tok'), 'from-file\n');
    expect((await loadKubeAuth(file('tf.yaml', config({ user: { tokenFile: 'tok' } }))).prepare('', 'GET')).headers).toEqual({ Authorization: 'Bearer from-file' });
    const basic = await loadKubeAuth(file('basic.yaml', config({ user: { username: 'a', password: 'b' } }))).prepare('', 'GET');
    expect(basic.headers).toEqual({ Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` });
  });

  it('plain http needs no TLS pool', async () => {
    expect((await loadKubeAuth(file('http.yaml', config({ server: 'http://127.0.0.1:8080' }))).prepare('', 'GET')).dispatcher).toBeUndefined();
  });

  it('leaves exec plugins to client-node (delegated, not rejected)', () => {
    const auth = loadKubeAuth(file('exec.yaml', config({ user: { exec: { command: 'get-token', apiVersion: 'client.authentication.k8s.io/v1' } } })));
    expect(auth.server).toBe('https://127.0.0.1:6443');
  });

  it('names the file and the problem when the config is unusable', () => {
    expect(() => loadKubeAuth(join(dir, 'missing.yaml'))).toThrow(/missing\.yaml does not exist/);
    expect(() => loadKubeAuth(file('nocur.yaml', { ...(config({}) as object), 'current-context': 'other' }))).toThrow(/current-context "other" is not among the contexts/);
    expect(() => loadKubeAuth(file('bad.yaml', { clusters: [{ name: 'c', cluster: { server: 3 } }] }))).toThrow(KubeconfigError);
    expect(() => loadKubeAuth(file('bad2.yaml', { clusters: [{ name: 'c', cluster: { server: 3 } }] }))).toThrow(/bad2\.yaml: clusters\.0\.cluster\.server/);
  });
});

describe('resolveKubeconfig', () => {
  it('merges files as kubectl does: the first to define a name, and the first current-context, win', () => {
    const a = file('a.yaml', { 'current-context': 'ctx', contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }], clusters: [{ name: 'c', cluster: { server: 'https://first' } }] });
    const b = file('b.yaml', { ...(config({ server: 'https://second' }) as object), 'current-context': 'ignored' });
    const r = resolveKubeconfig([a, b]);
    expect(r.cluster.server).toBe('https://first');
    expect(r.user).toEqual({ token: 'abc' });
    expect(r.delegated).toBe(false);
  });

  it('finds files through KUBECONFIG, skipping ones that do not exist', () => {
    const a = file('k1.yaml', config({}));
    expect(kubeconfigFiles({ KUBECONFIG: `${join(dir, 'nope')}:${a}` })).toEqual([a]);
    expect(kubeconfigFiles({ HOME: join(dir, 'nohome') })).toEqual([]);
  });
});

// SOPS decryption on the real control plane with the real Git server and the real sops: a Secret encrypted to an age
// key in Git is applied decrypted; its plaintext and the key appear nowhere in the operator's logs (debug level), its
// Git cache, the temp files it wrote, or the Application's status. A wrong key is a condition naming the file, with
// nothing applied or pruned.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../../test/support/cluster.ts';
import { installCrds } from '../../../test/support/crds.ts';
import { startAppOperator, type AppOperator } from '../../../test/support/gitops.ts';
import { startGitServer, type GitServer } from '../../../test/support/git-server.ts';
import { testClient } from '../../../test/support/operator.ts';
import { ageKeygen, sopsBinDir, sopsEncryptYaml, type AgeKey } from '../../../test/support/sops.ts';
import { applicationSchema, type ApplicationStatus } from '../../api/application/schema.ts';
import { diffApplication } from '../../cli/appdiff.ts';
import type { KubeObject } from '../../kube/client.ts';
import { isNotFound } from '../../kube/errors.ts';
import { createLogger } from '../../log/logger.ts';
import { R } from '../../kube/resource.ts';
import { REFRESH_ANNOTATION } from '../sync.ts';

type App = KubeObject & { status?: ApplicationStatus };
type Data = KubeObject & { data?: Record<string, string> };

/** Every file under `dir` changed since `since` (ms), recursively; unreadable entries are skipped. */
async function filesSince(dir: string, since: number, out: string[] = []): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await filesSince(p, since, out);
    else if (e.isFile()) {
      const s = await stat(p).catch(() => undefined);
      if (s !== undefined && s.mtimeMs >= since && s.size < 64 * 1024 * 1024) out.push(p);
    }
  }
  return out;
}

describe('SOPS decryption', () => {
  /** An Application of `path` in `repo` whose SOPS objects are decrypted with the age keys of Secret `keys`. */
  const sopsApplication = (name: string, repo: string, path: string, keys: string, syncPolicy: object): object => ({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace: ns },
    spec: { source: { repoURL: repo, targetRevision: 'main', path }, destination: { namespace: ns }, decryption: { provider: 'sops', secretRef: { name: keys } }, syncPolicy, pollInterval: '10s' },
  });
  let ns: string;
  let git: GitServer;
  let op: AppOperator;
  const logged: string[] = [];
  const started = Date.now();
  const { client } = testClient();
  const app = (): Promise<App> => client.get<App>(R.application, ns, 'secrets');
  const get = async (rt: typeof R.secret, name: string): Promise<Data | undefined> => {
    try {
      return await client.get<Data>(rt, ns, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const refresh = async (): Promise<void> => void (await kubectl(['annotate', '--overwrite', '-n', ns, 'application/secrets', `${REFRESH_ANNOTATION}=${Date.now()}`]));
  const keySecret = (key: AgeKey): string => stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sops-age', namespace: ns }, stringData: { 'identity.agekey': `${key.identity}\n` } });
  const secretYaml = (password: string): string => stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, type: 'Opaque', stringData: { password } });
  const cmYaml = (name: string, v: string): string => stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v } });

  beforeAll(async () => {
    process.env.SLUICE_SOPS = join(sopsBinDir(), 'sops');
    await installCrds();
    ns = await createNamespace('sops');
    git = await startGitServer();
    // The operator's log at debug level, kept to search for secrets.
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => void (logged.push(chunk.toString('utf8')), done()) });
    op = await startAppOperator(client, [ns], createLogger({ level: 'debug', destination: sink }));
  });

  afterAll(async () => {
    await op.stop();
    await git.close();
    await deleteNamespace(ns);
  });

  it('applies an age-encrypted Secret decrypted, leaves its plaintext nowhere, and applies nothing with a wrong key', async () => {
    const key = ageKeygen();
    const plaintext = `pw-${randomBytes(12).toString('hex')}`;
    const repo = await git.createRepo('secrets');
    const encrypted = sopsEncryptYaml(secretYaml(plaintext), key.recipient);
    expect(encrypted).not.toContain(plaintext);
    const c1 = await git.commit('secrets', { 'app/secret.enc.yaml': encrypted, 'app/cm.yaml': cmYaml('settings', 'one'), 'app/old.yaml': cmYaml('old', 'x') });
    expect((await kubectl(['apply', '-f', '-'], keySecret(key))).code).toBe(0);
    const spec = sopsApplication('secrets', repo, 'app', 'sops-age', { automated: { prune: true } });
    const t0 = Date.now();
    expect((await kubectl(['apply', '--server-side', '-f', '-'], stringify(spec))).code).toBe(0);
    await waitFor('synced', async () => {
      const s = (await app()).status;
      return s?.sync?.revision === c1 && s.operationState?.phase === 'Succeeded';
    }, 60_000).catch(async (e: unknown) => {
      console.log(JSON.stringify((await app()).status, null, 1));
      throw e;
    });
    console.log(`SOPS: first sync of an encrypted Secret took ${Date.now() - t0} ms`);
    const secret = await get(R.secret, 'db');
    expect(Buffer.from(secret?.data?.password ?? '', 'base64').toString('utf8')).toBe(plaintext);
    expect(JSON.stringify(secret)).not.toContain('"sops"');
    expect((await get(R.configMap, 'settings'))?.data?.v).toBe('one');
    // `kubectl sluice app diff` decrypts as the operator does: nothing to change.
    const diff = await diffApplication(client, applicationSchema.parse(await app()), { cacheDir: join(op.cacheDir, 'cli') });
    expect(diff).toMatchObject({ commit: c1, changes: [] });

    // A wrong key, and a commit that changes a ConfigMap and drops another: a condition naming the file, and neither
    // the change applied nor the dropped object pruned.
    const wrong = ageKeygen();
    expect((await kubectl(['apply', '-f', '-'], keySecret(wrong))).code).toBe(0);
    const c2 = await git.commit('secrets', { 'app/cm.yaml': cmYaml('settings', 'two'), 'app/old.yaml': null });
    await refresh();
    await waitFor('ComparisonError', async () => (await app()).status?.conditions?.some((c) => c.type === 'ComparisonError') === true, 30_000);
    const s = (await app()).status!;
    expect(s.sync?.revision).toBe(c2);
    const message = s.conditions?.find((c) => c.type === 'ComparisonError')?.message ?? '';
    expect(message).toContain(`decryption: app/secret.enc.yaml:1: cannot decrypt with the age key of spec.decryption.secretRef ${ns}/sops-age`);
    expect(message).toMatch(/did not match any of the recipients/);
    expect((await get(R.configMap, 'settings'))?.data?.v).toBe('one');
    expect(await get(R.configMap, 'old')).toBeDefined();
    // No key Secret at all: a condition naming the field.
    expect((await kubectl(['delete', 'secret', '-n', ns, 'sops-age'])).code).toBe(0);
    await refresh();
    const missing = `decryption: spec.decryption.secretRef: Secret ${ns}/sops-age not found`;
    await waitFor('missing key', async () => (await app()).status?.conditions?.find((c) => c.type === 'ComparisonError')?.message === missing, 30_000);
    expect(await get(R.configMap, 'old')).toBeDefined();

    // The plaintext and both identities: nowhere in the status, the logs, the Git cache or the temp files written.
    const secrets = [plaintext, Buffer.from(plaintext).toString('base64'), key.identity, wrong.identity];
    const status = JSON.stringify((await app()).status);
    const logs = logged.join('');
    expect(logs).toContain('render or plan failed'); // the log was captured
    // The test control plane's etcd holds the Secret, as any cluster's does: that is where it belongs.
    const etcd = /\/sluice-cp-[^/]+\/etcd\//;
    const files = [...new Set([...(await filesSince(op.cacheDir, 0)), ...(await filesSince(tmpdir(), started))])].filter((f) => !etcd.test(f));
    expect(files.length).toBeGreaterThan(0);
    const found: string[] = [];
    for (const f of files) {
      const text = await readFile(f).then((b) => b.toString('latin1')).catch(() => '');
      for (const x of secrets) if (text.includes(x)) found.push(f);
    }
    for (const x of secrets) {
      expect(status).not.toContain(x);
      expect(logs).not.toContain(x);
    }
    expect(found).toEqual([]);
    console.log(`SOPS: searched ${files.length} files and ${logs.length} bytes of logs for the plaintext and keys`);
  }, 120_000);

  it('decrypts a Secret that kustomize renders (keys reordered, name prefixed, labels added) from its committed file', async () => {
    const key = ageKeygen();
    const plaintext = `kz-${randomBytes(12).toString('hex')}`;
    const repo = await git.createRepo('kustomized');
    const c1 = await git.commit('kustomized', {
      'base/secret.enc.yaml': sopsEncryptYaml(secretYaml(plaintext), key.recipient),
      'base/kustomization.yaml': 'resources: [secret.enc.yaml]\n',
      'prod/kustomization.yaml': 'resources: [../base]\nnamePrefix: prod-\nlabels: [{pairs: {tier: db}}]\n',
    });
    await kubectl(['delete', 'secret', '-n', ns, 'sops-kz', '--ignore-not-found']);
    expect((await kubectl(['apply', '-f', '-'], keySecret(key).replace('name: sops-age', 'name: sops-kz'))).code).toBe(0);
    const spec = sopsApplication('kz', repo, 'prod', 'sops-kz', { automated: {} });
    expect((await kubectl(['apply', '--server-side', '-f', '-'], stringify(spec))).code).toBe(0);
    const kz = (): Promise<App> => client.get<App>(R.application, ns, 'kz');
    await waitFor('synced', async () => (await kz()).status?.operationState?.phase === 'Succeeded' && (await kz()).status?.sync?.revision === c1, 60_000).catch(async (e: unknown) => {
      console.log(JSON.stringify((await kz()).status, null, 1));
      throw e;
    });
    const secret = await get(R.secret, 'prod-db');
    expect(Buffer.from(secret?.data?.password ?? '', 'base64').toString('utf8')).toBe(plaintext);
    expect(secret?.metadata?.labels?.tier).toBe('db');
    expect(JSON.stringify((await kz()).status)).not.toContain(plaintext);
    expect(logged.join('')).not.toContain(plaintext);
  }, 90_000);
});

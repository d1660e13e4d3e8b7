// A chart from a real HTTP Helm repository on 127.0.0.1: charts packaged with `helm package`, indexed with
// `helm repo index`, served with basic auth. A semver range picks the version, values come from the Application,
// credentials from a Secret; a range that matches nothing and an unreachable repository are conditions, nothing pruned.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { freePort } from '../../test/cluster/ports.ts';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.ts';
import { installCrds } from '../../test/support/crds.ts';
import { startAppOperator, type AppOperator } from '../../test/support/gitops.ts';
import { packageWebCharts } from '../../test/support/helm-chart.ts';
import { testClient } from '../../test/support/operator.ts';
import type { ApplicationStatus } from '../api/application/schema.ts';
import type { KubeObject } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { R } from '../kube/resource.ts';

const run = promisify(execFile);
const HELM = join(process.env.SLUICE_TEST_BIN_DIR ?? '', 'helm');
process.env.SLUICE_HELM = HELM;

type App = KubeObject & { status?: ApplicationStatus };
type Cm = KubeObject & { data?: Record<string, string> };

describe('Helm chart from an HTTP Helm repository', () => {
  let ns: string;
  let op: AppOperator;
  let dir: string;
  let server: Server;
  let repoURL: string;
  const requests: string[] = [];
  const { client } = testClient();
  const app = (name: string): Promise<App> => client.get<App>(R.application, ns, name);
  const cm = async (name: string): Promise<Cm | undefined> => {
    try {
      return await client.get<Cm>(R.configMap, ns, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const application = (name: string, source: Record<string, unknown>): string =>
    stringify({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'Application',
      metadata: { name, namespace: ns },
      spec: { source, destination: { namespace: ns }, syncPolicy: { automated: { prune: true } }, pollInterval: '10s', credentials: { secretRef: { name: 'charts' } } },
    });

  beforeAll(async () => {
    await installCrds();
    ns = await createNamespace('helm-repo');
    dir = await mkdtemp(join(tmpdir(), 'sluice-helmrepo-'));
    const env = { ...process.env, HELM_CACHE_HOME: join(dir, 'h', 'cache'), HELM_CONFIG_HOME: join(dir, 'h', 'config'), HELM_DATA_HOME: join(dir, 'h', 'data') };
    await packageWebCharts(HELM, dir, join(dir, 'repo'), ['1.0.0', '1.1.0', '2.0.0'], env);
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.headers.authorization !== `Basic ${Buffer.from('ci:chart-pass').toString('base64')}`) return void res.writeHead(401).end();
      readFile(join(dir, 'repo', (req.url ?? '/').replace(/^\/charts\//, '')))
        .then((b) => res.writeHead(200).end(b))
        .catch(() => res.writeHead(404).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    repoURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/charts`;
    await run(HELM, ['repo', 'index', join(dir, 'repo'), '--url', repoURL], { env });
    const secret = stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'charts', namespace: ns }, stringData: { username: 'ci', password: 'chart-pass' } });
    expect((await kubectl(['apply', '-f', '-'], secret)).code).toBe(0);
    op = await startAppOperator(client, [ns]);
  });

  afterAll(async () => {
    await op.stop();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
    await deleteNamespace(ns);
  });

  it('syncs the newest version a semver range names, with values, credentials from a Secret', async () => {
    expect((await kubectl(['apply', '--server-side', '-f', '-'], application('web', { repoURL, chart: 'web', targetRevision: '^1.0.0', helm: { valuesObject: { color: 'purple' } } }))).code).toBe(0);
    await waitFor('synced 1.1.0', async () => {
      const s = (await app('web')).status;
      return s?.sync?.revision === '1.1.0' && s.operationState?.phase === 'Succeeded';
    }, 60_000).catch(async (e: unknown) => {
      console.log(JSON.stringify((await app('web')).status, null, 1));
      throw e;
    });
    expect((await cm('web-version'))?.data).toEqual({ chart: '1.1.0' });
    expect((await cm('web-settings'))?.data).toMatchObject({ color: 'purple', namespace: ns });
    expect((await app('web')).status?.operationState?.syncResult?.resources?.find((r) => r.hookPhase !== undefined)).toMatchObject({ name: 'web-migrate', syncPhase: 'PreSync', hookPhase: 'Succeeded' });
    expect(requests.filter((u) => u.endsWith('.tgz'))).toEqual(['/charts/web-1.1.0.tgz']);

    // A range that matches nothing: a condition naming what there is; nothing pruned.
    expect((await kubectl(['patch', '-n', ns, 'application/web', '--type=merge', '-p', '{"spec":{"source":{"targetRevision":"^9"}}}'])).code).toBe(0);
    await waitFor('ComparisonError', async () => (await app('web')).status?.conditions?.some((c) => c.type === 'ComparisonError') === true, 30_000);
    expect((await app('web')).status?.conditions?.find((c) => c.type === 'ComparisonError')?.message).toBe('source: no version of chart "web" matches "^9" (available: 2.0.0, 1.1.0, 1.0.0)');
    expect(await cm('web-version')).toBeDefined();
  }, 120_000);

  it('reports an unreachable repository and a wrong password as conditions', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/charts`; // nothing listens there
    expect((await kubectl(['apply', '--server-side', '-f', '-'], application('gone', { repoURL: closed, chart: 'web', targetRevision: '1.0.0' }))).code).toBe(0);
    await waitFor('gone: ComparisonError', async () => (await app('gone')).status?.conditions?.some((c) => c.type === 'ComparisonError') === true, 30_000);
    expect((await app('gone')).status?.conditions?.find((c) => c.type === 'ComparisonError')?.message).toBe(`source: GET ${closed}/index.yaml: ECONNREFUSED`);
    const wrong = stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'wrong', namespace: ns }, stringData: { username: 'ci', password: 'nope' } });
    expect((await kubectl(['apply', '-f', '-'], wrong)).code).toBe(0);
    const denied = application('denied', { repoURL, chart: 'web', targetRevision: '1.0.0' }).replace('name: charts', 'name: wrong');
    expect((await kubectl(['apply', '--server-side', '-f', '-'], denied)).code).toBe(0);
    await waitFor('denied: ComparisonError', async () => (await app('denied')).status?.conditions?.some((c) => c.type === 'ComparisonError') === true, 30_000);
    expect((await app('denied')).status?.conditions?.find((c) => c.type === 'ComparisonError')?.message).toBe(`source: GET ${repoURL}/index.yaml: authentication failed (HTTP 401)`);
  });
});

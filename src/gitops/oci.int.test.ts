// A chart from a real OCI registry on 127.0.0.1 (Debian's docker-registry, the CNCF distribution registry), pushed
// with `helm push`, synced by an Application with `repoURL: oci://…` + `chart` + a semver range, exactly as the same
// chart from an HTTP Helm repository syncs; a range that matches nothing is a condition, nothing pruned.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { createNamespace, deleteNamespace, kubectl, waitFor } from '../../test/support/cluster.ts';
import { installCrds } from '../../test/support/crds.ts';
import { startAppOperator, type AppOperator } from '../../test/support/gitops.ts';
import { packageWebCharts } from '../../test/support/helm-chart.ts';
import { testClient } from '../../test/support/operator.ts';
import { startRegistry, type Registry } from '../../test/support/registry.ts';
import type { ApplicationStatus } from '../api/application/schema.ts';
import type { KubeObject } from '../kube/client.ts';
import { R } from '../kube/resource.ts';

const run = promisify(execFile);
const HELM = join(process.env.SLUICE_TEST_BIN_DIR ?? '', 'helm');
process.env.SLUICE_HELM = HELM;

type App = KubeObject & { status?: ApplicationStatus };
type Cm = KubeObject & { data?: Record<string, string> };

describe('Helm chart from an OCI registry', () => {
  let nsOci: string;
  let nsHttp: string;
  let op: AppOperator;
  let dir: string;
  let registry: Registry;
  let server: Server;
  let httpURL: string;
  const { client } = testClient();
  const app = (ns: string): Promise<App> => client.get<App>(R.application, ns, 'web');
  const application = (ns: string, source: Record<string, unknown>): string =>
    stringify({ apiVersion: 'sluice.dev/v1alpha1', kind: 'Application', metadata: { name: 'web', namespace: ns }, spec: { source, destination: { namespace: ns }, syncPolicy: { automated: { prune: true } }, pollInterval: '10s' } });
  const synced = (ns: string, version: string): Promise<void> =>
    waitFor(`${ns} synced ${version}`, async () => {
      const s = (await app(ns)).status;
      return s?.sync?.revision === version && s.operationState?.phase === 'Succeeded';
    }, 60_000).catch(async (e: unknown) => {
      console.log(JSON.stringify((await app(ns)).status, null, 1));
      throw e;
    });
  /** The objects of an app's namespace that the chart made, without what differs by namespace. */
  const objects = async (ns: string): Promise<unknown[]> => {
    const list = await client.list<Cm>(R.configMap, ns);
    return list.items.filter((c) => c.metadata?.name?.startsWith('web-') === true).map((c) => ({ name: c.metadata?.name, data: { ...c.data, namespace: undefined } }));
  };

  beforeAll(async () => {
    await installCrds();
    nsOci = await createNamespace('helm-oci');
    nsHttp = await createNamespace('helm-oci-http');
    dir = await mkdtemp(join(tmpdir(), 'sluice-helmoci-'));
    registry = await startRegistry();
    const env = { ...process.env, HELM_CACHE_HOME: join(dir, 'h', 'cache'), HELM_CONFIG_HOME: join(dir, 'h', 'config'), HELM_DATA_HOME: join(dir, 'h', 'data') };
    const archives = await packageWebCharts(HELM, dir, join(dir, 'repo'), ['1.0.0', '1.1.0', '2.0.0'], env);
    for (const a of archives) await run(HELM, ['push', a, `oci://${registry.host}/charts`, '--plain-http'], { env });
    server = createServer((req, res) => {
      readFile(join(dir, 'repo', (req.url ?? '/').replace(/^\/charts\//, '')))
        .then((b) => res.writeHead(200).end(b))
        .catch(() => res.writeHead(404).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    httpURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/charts`;
    await run(HELM, ['repo', 'index', join(dir, 'repo'), '--url', httpURL], { env });
    op = await startAppOperator(client, [nsOci, nsHttp]);
  }, 120_000);

  afterAll(async () => {
    await op.stop();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await registry.close();
    await rm(dir, { recursive: true, force: true });
    await deleteNamespace(nsOci);
    await deleteNamespace(nsHttp);
  });

  it('syncs the version a range names from oci://, identically to the HTTP repository, and reports a range that matches nothing', async () => {
    const helm = { valuesObject: { color: 'purple' } };
    const t0 = Date.now();
    expect((await kubectl(['apply', '--server-side', '-f', '-'], application(nsOci, { repoURL: `oci://${registry.host}/charts`, chart: 'web', targetRevision: '^1.0.0', helm }))).code).toBe(0);
    expect((await kubectl(['apply', '--server-side', '-f', '-'], application(nsHttp, { repoURL: httpURL, chart: 'web', targetRevision: '^1.0.0', helm }))).code).toBe(0);
    await synced(nsOci, '1.1.0');
    console.log(`OCI: first sync of a chart from the registry took ${Date.now() - t0} ms`);
    await synced(nsHttp, '1.1.0');
    const fromOci = (await app(nsOci)).status!;
    const fromHttp = (await app(nsHttp)).status!;
    expect(fromOci.resources?.map((r) => `${r.kind}/${r.name}`)).toEqual(fromHttp.resources?.map((r) => `${r.kind}/${r.name}`));
    expect(fromOci.operationState?.syncResult?.resources?.map((r) => [r.kind, r.name, r.status, r.hookPhase])).toEqual(fromHttp.operationState?.syncResult?.resources?.map((r) => [r.kind, r.name, r.status, r.hookPhase]));
    const ociObjects = await objects(nsOci);
    expect(ociObjects).toEqual(await objects(nsHttp));
    expect(ociObjects).toContainEqual({ name: 'web-version', data: { chart: '1.1.0', namespace: undefined } });
    expect((await client.get<Cm>(R.configMap, nsOci, 'web-settings')).data).toMatchObject({ color: 'purple', namespace: nsOci });

    // Upgrade by range, then a range that matches nothing: a condition naming what the registry has; nothing pruned.
    expect((await kubectl(['patch', '-n', nsOci, 'application/web', '--type=merge', '-p', '{"spec":{"source":{"targetRevision":"2.x"}}}'])).code).toBe(0);
    await synced(nsOci, '2.0.0');
    expect((await client.get<Cm>(R.configMap, nsOci, 'web-version')).data).toEqual({ chart: '2.0.0' });
    expect((await kubectl(['patch', '-n', nsOci, 'application/web', '--type=merge', '-p', '{"spec":{"source":{"targetRevision":"^9"}}}'])).code).toBe(0);
    await waitFor('ComparisonError', async () => (await app(nsOci)).status?.conditions?.some((c) => c.type === 'ComparisonError') === true, 30_000);
    expect((await app(nsOci)).status?.conditions?.find((c) => c.type === 'ComparisonError')?.message).toBe('source: no version of chart "web" matches "^9" (available: 2.0.0, 1.1.0, 1.0.0)');
    expect((await client.get<Cm>(R.configMap, nsOci, 'web-version')).data).toEqual({ chart: '2.0.0' });
  }, 120_000);
});

// The plugin when the cluster is not there: no kubeconfig at all, a server that refuses connections, one that never
// answers (Ctrl-C must end even a verb that does not wait). The real executable through kubectl; the servers are
// local sockets this test opens.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { sluice } from '../../test/support/plugin.ts';

const kubeconfigFor = (server: string): string =>
  stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'u', user: { token: 't' } }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', namespace: 'default' } }],
    'current-context': 'x',
  });

describe('kubectl sluice: cluster errors', () => {
  let dir: string;
  let silent: Server;
  const sockets: Socket[] = [];
  let silentConfig: string;
  let refusedPort: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-cli-errors-'));
    // Accepts TCP connections and never says a word: the TLS handshake (and so every request) hangs.
    silent = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const address = silent.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    silentConfig = join(dir, 'silent.kubeconfig');
    await writeFile(silentConfig, kubeconfigFor(`https://127.0.0.1:${address.port}`));
    // A port nothing listens on: bound, then closed.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedAddress = closed.address();
    if (closedAddress === null || typeof closedAddress === 'string') throw new Error('no port');
    refusedPort = closedAddress.port;
    await new Promise((r) => closed.close(r));
    await writeFile(join(dir, 'refused.kubeconfig'), kubeconfigFor(`https://127.0.0.1:${refusedPort}`));
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('says that no kubeconfig was found, and which files it tried', async () => {
    const home = join(dir, 'home');
    const none = await sluice(['list'], { env: { KUBECONFIG: '', HOME: home } });
    expect(none).toMatchObject({ code: 1, stdout: '' });
    expect(none.stderr).toBe(
      `error: no kubeconfig found: KUBECONFIG is not set, ${home}/.kube/config does not exist, and there is no in-cluster service account ` +
        '(/var/run/secrets/kubernetes.io/serviceaccount/token); pass --kubeconfig PATH or set KUBECONFIG\n',
    );
    const missing = await sluice(['promote', 'web'], { env: { KUBECONFIG: `${dir}/a:${dir}/b` } });
    expect(missing).toMatchObject({ code: 1, stderr: `error: no kubeconfig found: none of the files in $KUBECONFIG exists (${dir}/a, ${dir}/b); pass --kubeconfig PATH or fix KUBECONFIG\n` });
  });

  it('names the server and the socket error when the connection is refused', async () => {
    const res = await sluice(['promote', 'web', '--kubeconfig', join(dir, 'refused.kubeconfig')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `error: GET /apis/sluice.dev/v1alpha1/namespaces/default/rollouts/web: fetch failed: connect ECONNREFUSED 127.0.0.1:${refusedPort} (server https://127.0.0.1:${refusedPort})\n`,
    );
  });

  it('ends a verb that does not wait (promote) at the first Ctrl-C, with 130, while its request hangs', async () => {
    const started = Date.now();
    const res = await sluice(['promote', 'web', '--kubeconfig', silentConfig], { interruptAfterMs: 3000 });
    const elapsed = Date.now() - started;
    expect(res).toMatchObject({ code: 130, stdout: '', stderr: '' });
    // At once: not after the connect timeout (10 s), nor after the 3 s grace the entry gives work not tied to it.
    expect(elapsed).toBeLessThan(3000 + 2000);
  });
});

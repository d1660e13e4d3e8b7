// A real OCI registry on 127.0.0.1 for the Helm-from-OCI tests: Debian's docker-registry (the CNCF distribution
// registry; test/oci/install.sh installs it), its own process with storage in a temp dir, stopped by the test.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../cluster/ports.ts';
import { waitFor } from './wait.ts';

export interface Registry {
  /** 127.0.0.1:PORT */
  host: string;
  close(): Promise<void>;
}

export async function startRegistry(bin = process.env.SLUICE_TEST_REGISTRY ?? '/usr/bin/docker-registry'): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-registry-'));
  const host = `127.0.0.1:${await freePort()}`;
  const config = { version: 0.1, log: { level: 'warn' }, storage: { filesystem: { rootdirectory: join(dir, 'data') } }, http: { addr: host } };
  await writeFile(join(dir, 'config.yml'), stringify(config));
  const child = spawn(bin, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  try {
    await waitFor('registry', async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${stderr}`);
      return (await fetch(`http://${host}/v2/`).catch(() => undefined))?.ok === true;
    }, 15_000);
  } catch (e) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    host,
    close: async () => {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

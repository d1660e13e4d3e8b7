import { describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/cluster.ts';
import { runs } from './process.ts';

const here = dirname(fileURLToPath(import.meta.url));

interface Held {
  dir: string;
  processes: { pid: number; command: string }[];
}

type Owner = ChildProcessByStdio<null, Readable, null>;

function heldPlane(owner: Owner): Promise<Held> {
  return new Promise((resolve, reject) => {
    let out = '';
    owner.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const end = out.indexOf('\n');
      if (end >= 0) resolve(JSON.parse(out.slice(0, end)) as Held);
    });
    owner.on('exit', (code) => reject(new Error(`the owner exited before its plane was up (exit ${code})`)));
  });
}

describe('no orphans', () => {
  it('takes a control plane down when its owner is killed with SIGKILL', async () => {
    // The owner runs under the same Node as the tests and inherits the bin dir from the global setup.
    const owner: Owner = spawn(process.execPath, [join(here, 'fixtures', 'hold-plane.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const held = await heldPlane(owner);
      const names = held.processes.map((p) => p.command.split('/').pop());
      expect(names).toEqual(['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok']);
      for (const p of held.processes) expect(runs(p.pid, p.command)).toBe(true);

      owner.kill('SIGKILL');
      await waitFor('every component to exit', () => held.processes.every((p) => !runs(p.pid, p.command)), 30_000, 200);
      await waitFor('the state directory to be removed', () => !existsSync(held.dir), 10_000, 200);
    } finally {
      owner.kill('SIGKILL');
    }
  });
});

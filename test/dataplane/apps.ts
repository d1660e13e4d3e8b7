// Data-plane EMULATOR: the demo app (examples/demo/app/server.mjs) run as one process per revision on 127.0.0.1,
// standing in for that revision's pods (kwok's pods run nothing, and their IPs are never dialled).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { Agent, request } from 'node:http';
import { join, resolve } from 'node:path';
import { freePort } from '../cluster/ports.ts';
import type { Revision } from './routes.ts';

export const DEMO_APP = resolve(import.meta.dirname, '..', '..', 'examples', 'demo', 'app', 'server.mjs');

const agent = new Agent({ keepAlive: true, maxSockets: 32 });

/** `Server-Timing: app;dur=12.5` → 12.5 (the demo app reports the time it spent on the request). */
export function serverTiming(header: string | string[] | undefined): number | undefined {
  const m = /(?:^|,)\s*app;dur=([0-9.]+)/.exec(Array.isArray(header) ? header.join(',') : (header ?? ''));
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/**
 * One HTTP request to 127.0.0.1:port: the status (0 when the connection failed) and its latency as the destination
 * sees it: the app's Server-Timing when it sends one (a sidecar next to the app measures about that, without the
 * load generator's own delays), else the round trip.
 */
export function send(port: number, path = '/'): Promise<{ code: number; ms: number }> {
  const started = performance.now();
  return new Promise((done) => {
    const req = request({ host: '127.0.0.1', port, path, agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => done({ code: res.statusCode ?? 0, ms: serverTiming(res.headers['server-timing']) ?? performance.now() - started }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => done({ code: 0, ms: performance.now() - started }));
    req.end();
  });
}

export class AppProcess {
  readonly revision: Revision;
  readonly port: number;
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private readonly killOnExit = (): void => void this.child.kill('SIGKILL');

  private constructor(revision: Revision, port: number, child: ChildProcess) {
    this.revision = revision;
    this.port = port;
    this.child = child;
    this.exited = new Promise((r) => child.once('exit', () => r()));
    process.once('exit', this.killOnExit);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Starts the app with the revision's env (VERSION from the image tag unless the template sets it), waits for /healthz. */
  static async start(revision: Revision, logDir: string): Promise<AppProcess> {
    const port = await freePort();
    const log = createWriteStream(join(logDir, `${revision.replicaSet}.log`), { flags: 'a' });
    const child = spawn(process.execPath, [DEMO_APP], {
      // The test run's marker (scripts/test.mjs) passes through, so a leftover app is found and this run's only.
      env: { PATH: process.env.PATH ?? '', ...(process.env.SLUICE_TEST_RUN !== undefined ? { SLUICE_TEST_RUN: process.env.SLUICE_TEST_RUN } : {}), ...revision.env, VERSION: revision.env.VERSION ?? revision.version, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const app = new AppProcess(revision, port, child);
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`demo app for ${revision.replicaSet} exited with ${child.exitCode}; see ${join(logDir, `${revision.replicaSet}.log`)}`);
      if ((await send(port, '/healthz')).code === 200) return app;
      if (Date.now() > deadline) {
        await app.stop();
        throw new Error(`demo app for ${revision.replicaSet} not healthy after 15 s`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    process.removeListener('exit', this.killOnExit);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

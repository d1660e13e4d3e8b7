// A real Prometheus for integration tests: a `prometheus` process on a free 127.0.0.1 port with a temporary config
// and storage, scraping every second an exporter the test controls (a node:http server on 127.0.0.1 serving the
// Prometheus text the test sets). Install the binary with test/prometheus/install.sh.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, openSync, closeSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export const HOST = '127.0.0.1';

export function prometheusBinary(): string {
  const candidates = [...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'prometheus')), '/usr/bin/prometheus'];
  const found = candidates.find((p) => p !== 'prometheus' && existsSync(p));
  if (found === undefined) throw new Error('no prometheus binary: run `bash test/prometheus/install.sh` first');
  return found;
}

/** A port nobody listens on right now (the kernel's pick, released at once). */
export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve, reject) => srv.listen(0, HOST, resolve).once('error', reject));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** A counter or gauge sample: `name{labels} value`. */
export interface Sample {
  name: string;
  labels?: Record<string, string>;
  value: number;
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const formatValue = (v: number): string => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v));

/** Prometheus text exposition format for the samples (no TYPE lines: untyped series are all we need). */
export function exposition(samples: readonly Sample[]): string {
  return samples
    .map((s) => {
      const labels = Object.entries(s.labels ?? {}).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      return `${s.name}${labels.length > 0 ? `{${labels.join(',')}}` : ''} ${formatValue(s.value)}\n`;
    })
    .join('');
}

export class Exporter {
  readonly port: number;
  private samples: Sample[] = [];
  private readonly server: Server;
  scrapes = 0;

  private constructor(server: Server, port: number) {
    this.server = server;
    this.port = port;
  }

  static async start(): Promise<Exporter> {
    // The handler needs the instance, the instance needs the listening server's port: a holder breaks the cycle.
    const holder: { exporter?: Exporter } = {};
    const server = createServer((req, res) => {
      const self = holder.exporter;
      if (req.url !== '/metrics' || self === undefined) {
        res.writeHead(404).end();
        return;
      }
      self.scrapes += 1;
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(exposition(self.samples));
    });
    await new Promise<void>((resolve, reject) => server.listen(0, HOST, resolve).once('error', reject));
    holder.exporter = new Exporter(server, (server.address() as AddressInfo).port);
    return holder.exporter;
  }

  get target(): string {
    return `${HOST}:${this.port}`;
  }

  /** Replaces everything the exporter serves from the next scrape on. */
  set(samples: readonly Sample[]): void {
    this.samples = [...samples];
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export class PrometheusServer {
  readonly url: string;
  readonly dir: string;
  private readonly child: ChildProcess;
  private readonly onExit: () => void;
  private exited: Promise<void>;

  private constructor(child: ChildProcess, url: string, dir: string) {
    this.child = child;
    this.url = url;
    this.dir = dir;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    // If the test process dies without stop(), take the server with it.
    this.onExit = () => child.kill('SIGKILL');
    process.once('exit', this.onExit);
  }

  /** Starts Prometheus scraping `targets` (host:port) every second, and waits until it is ready. */
  static async start(targets: string[], opts: { scrapeIntervalSeconds?: number } = {}): Promise<PrometheusServer> {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-prometheus-'));
    const port = await freePort();
    const every = `${opts.scrapeIntervalSeconds ?? 1}s`;
    const config = [
      'global:',
      `  scrape_interval: ${every}`,
      `  evaluation_interval: ${every}`,
      'scrape_configs:',
      '  - job_name: test',
      `    scrape_interval: ${every}`,
      `    scrape_timeout: ${every}`,
      '    static_configs:',
      `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`,
      '',
    ].join('\n');
    writeFileSync(join(dir, 'prometheus.yml'), config);
    const log = join(dir, 'prometheus.log');
    const fd = openSync(log, 'a');
    let child: ChildProcess;
    try {
      child = spawn(
        prometheusBinary(),
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=${HOST}:${port}`,
          // Without these the web UI is served from /usr/share and the server looks up its own hostname: not needed.
          '--storage.tsdb.retention.time=1h',
          '--log.level=warn',
        ],
        { stdio: ['ignore', fd, fd] },
      );
    } finally {
      closeSync(fd);
    }
    const server = new PrometheusServer(child, `http://${HOST}:${port}`, dir);
    try {
      await server.waitReady(30_000);
    } catch (err) {
      await server.stop();
      const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : '';
      throw new Error(`prometheus did not become ready: ${String(err)}\n${tail}`, { cause: err });
    }
    return server;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`exited with ${this.child.exitCode}`);
      try {
        const res = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Instant query through the HTTP API (for waiting in tests; the provider under test has its own client). */
  async query(q: string): Promise<{ resultType: string; result: unknown[] }> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { data: { resultType: string; result: unknown[] } };
    return body.data;
  }

  /** Waits until `q` returns a non-empty vector for which `accept` holds (values as numbers). */
  async waitFor(q: string, accept: (values: number[]) => boolean = (v) => v.length > 0, timeoutMs = 30_000): Promise<number[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const d = await this.query(q);
      const last = d.resultType === 'vector' ? (d.result as { value: [number, string] }[]).map((s) => Number(s.value[1])) : [];
      if (last.length > 0 && accept(last)) return last;
      if (Date.now() > deadline) throw new Error(`${q}: still ${JSON.stringify(last)} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its storage. */
  async stop(): Promise<void> {
    process.removeListener('exit', this.onExit);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

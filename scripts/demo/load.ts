// The demo's load generator: real HTTP requests to Traefik's entry point on 127.0.0.1 at a steady rate, as clients
// of the app would send them. It reads which version answered from the demo app's JSON body, so the live view can
// show errors per version as the clients saw them; the split itself is measured elsewhere (split.ts), from the app
// processes' own counts and Traefik's metrics, never from what this generator believes.
import { Agent, request } from 'node:http';

/** What a client saw of one request: the status (0: the connection failed) and the version that answered ("" when none said). */
export interface Answer {
  at: number;
  code: number;
  version: string;
}

const WINDOW_MS = 5000;

/** Pure: the version field of the demo app's JSON answer ("" for anything else, e.g. Traefik's own 503 page). */
export function versionOf(body: string): string {
  try {
    const v: unknown = (JSON.parse(body) as { version?: unknown }).version;
    return typeof v === 'string' ? v : '';
  } catch {
    return '';
  }
}

export interface LoadOptions {
  port: number;
  /** Requests a second, spread over 20 ticks (default 100). */
  rate?: number;
  /** Requests in flight at most: a stuck backend does not pile up sockets (default 64). */
  maxInFlight?: number;
}

export class LoadGenerator {
  private readonly o: Required<LoadOptions>;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private readonly answers: Answer[] = [];
  private readonly totals = new Map<string, { requests: number; errors: number }>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private pending = new Set<Promise<void>>();
  sent = 0;

  constructor(o: LoadOptions) {
    this.o = { rate: 100, maxInFlight: 64, ...o };
  }

  get port(): number {
    return this.o.port;
  }

  get rate(): number {
    return this.o.rate;
  }

  start(): void {
    const perTick = this.o.rate / 20;
    let owed = 0;
    this.timer = setInterval(() => {
      owed += perTick;
      for (; owed >= 1; owed--) if (this.inFlight < this.o.maxInFlight) this.one();
    }, 50);
  }

  private one(): void {
    this.inFlight++;
    this.sent++;
    const p = new Promise<void>((done) => {
      const finish = (code: number, version: string): void => {
        this.record({ at: Date.now(), code, version });
        done();
      };
      const req = request({ host: '127.0.0.1', port: this.o.port, path: '/', agent: this.agent, timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => finish(res.statusCode ?? 0, versionOf(body)));
        res.on('error', () => finish(0, ''));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => finish(0, ''));
      req.end();
    }).finally(() => {
      this.inFlight--;
      this.pending.delete(p);
    });
    this.pending.add(p);
  }

  private record(a: Answer): void {
    this.answers.push(a);
    while ((this.answers[0]?.at ?? a.at) < a.at - WINDOW_MS) this.answers.shift();
    const t = this.totals.get(a.version) ?? { requests: 0, errors: 0 };
    this.totals.set(a.version, { requests: t.requests + 1, errors: t.errors + (a.code >= 200 && a.code < 400 ? 0 : 1) });
  }

  /** The last 5 s by version ("" = answered by no app process): requests and non-2xx/3xx answers. */
  window(now = Date.now()): Map<string, { requests: number; errors: number }> {
    const out = new Map<string, { requests: number; errors: number }>();
    for (const a of this.answers) {
      if (a.at < now - WINDOW_MS) continue;
      const t = out.get(a.version) ?? { requests: 0, errors: 0 };
      out.set(a.version, { requests: t.requests + 1, errors: t.errors + (a.code >= 200 && a.code < 400 ? 0 : 1) });
    }
    return out;
  }

  /** Everything since the start, by version: a stage's report is the difference of two of these. */
  total(): Map<string, { requests: number; errors: number }> {
    return new Map([...this.totals].map(([k, v]) => [k, { ...v }]));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.pending]);
    this.agent.destroy();
  }
}

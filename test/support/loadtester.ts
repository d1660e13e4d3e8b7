// A small load tester for tests and the demo, in the manner of Flagger's loadtester: a webhook target that, asked
// with Flagger's payload `{ metadata: { cmd: "hey -z 2s -q 20 -c 2 http://127.0.0.1:PORT/" } }`, sends that load
// (rate × concurrency requests a second, for the duration) to a 127.0.0.1 target only, and gates a test can open
// and close (/gate/check answers 200 when open, 403 when closed). It listens on 127.0.0.1.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

const payloadSchema = z.object({ name: z.string(), namespace: z.string(), phase: z.string(), checksum: z.string().optional(), metadata: z.record(z.string(), z.string()).optional() });
export type LoadPayload = z.infer<typeof payloadSchema>;

export interface LoadCommand {
  durationMs: number;
  /** Requests a second per worker (hey's -q). */
  rate: number;
  concurrency: number;
  target: URL;
}

/** Reads the `hey` arguments the tester understands (-z duration, -q rate, -c workers, the URL); refuses the rest. */
export function parseHey(cmd: string): LoadCommand {
  const words = cmd.trim().split(/\s+/);
  if (words[0] !== 'hey') throw new Error(`only "hey" commands are run, got "${words[0] ?? ''}"`);
  let durationMs = 10_000;
  let rate = 10;
  let concurrency = 1;
  let target: URL | undefined;
  for (let i = 1; i < words.length; i++) {
    const w = words[i] as string;
    const next = (): string => {
      const v = words[++i];
      if (v === undefined) throw new Error(`${w} needs a value`);
      return v;
    };
    if (w === '-z') {
      const m = /^(\d+)(ms|s|m)$/.exec(next());
      if (m === null) throw new Error('-z takes a duration like 10s');
      durationMs = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
    } else if (w === '-q') rate = Number(next());
    else if (w === '-c') concurrency = Number(next());
    else if (w.startsWith('http')) target = new URL(w);
    else throw new Error(`unsupported hey argument "${w}"`);
  }
  if (target === undefined) throw new Error('no target URL');
  // Tests never send traffic anywhere but this machine.
  if (target.hostname !== '127.0.0.1') throw new Error(`targets must be on 127.0.0.1, got ${target.hostname}`);
  if (!(rate > 0 && concurrency > 0 && durationMs > 0)) throw new Error('rate, concurrency and duration must be positive');
  return { durationMs, rate, concurrency, target };
}

export class LoadTester {
  /** Every payload received, in order. */
  readonly calls: { path: string; payload: LoadPayload }[] = [];
  /** Requests sent by load runs, and how many answered 2xx. */
  sent = 0;
  ok = 0;
  private gateOpen = false;
  private readonly runs = new Set<Promise<void>>();

  private readonly server: Server;
  url = '';

  private constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  static async start(): Promise<LoadTester> {
    const self = new LoadTester();
    await new Promise<void>((r) => self.server.listen(0, '127.0.0.1', r));
    self.url = `http://127.0.0.1:${(self.server.address() as AddressInfo).port}`;
    return self;
  }

  open(): void {
    this.gateOpen = true;
  }

  close(): void {
    this.gateOpen = false;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += (chunk as Buffer).toString();
    const send = (status: number, text: string): void => void res.writeHead(status, { 'Content-Type': 'text/plain' }).end(text);
    const parsed = payloadSchema.safeParse(safeJson(body));
    if (req.method !== 'POST' || !parsed.success) return send(400, 'expected a POST of a Flagger webhook payload');
    const path = req.url ?? '/';
    this.calls.push({ path, payload: parsed.data });
    if (path === '/gate/check') return send(this.gateOpen ? 200 : 403, this.gateOpen ? 'open' : 'closed');
    const cmd = parsed.data.metadata?.cmd;
    if (cmd === undefined) return send(400, 'metadata.cmd is required');
    let load: LoadCommand;
    try {
      load = parseHey(cmd);
    } catch (err) {
      return send(400, err instanceof Error ? err.message : String(err));
    }
    const run = this.load(load);
    this.runs.add(run);
    void run.finally(() => this.runs.delete(run));
    // Flagger's loadtester answers at once unless asked to block until the load is done.
    if (parsed.data.metadata?.blocking === 'true') await run;
    send(200, `load started: ${cmd}`);
  }

  private async load(c: LoadCommand): Promise<void> {
    const until = Date.now() + c.durationMs;
    const worker = async (): Promise<void> => {
      while (Date.now() < until) {
        const t0 = Date.now();
        this.sent++;
        try {
          const r = await fetch(c.target, { signal: AbortSignal.timeout(2000) });
          await r.arrayBuffer();
          if (r.ok) this.ok++;
        } catch {
          // A failed request is counted as sent and not ok.
        }
        await new Promise((r) => setTimeout(r, Math.max(0, 1000 / c.rate - (Date.now() - t0))));
      }
    };
    await Promise.all(Array.from({ length: c.concurrency }, worker));
  }

  /** Waits for load runs under way, then closes the server; stopping twice is harmless. */
  async stop(): Promise<void> {
    await Promise.all([...this.runs]);
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

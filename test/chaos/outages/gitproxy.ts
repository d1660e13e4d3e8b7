// A TCP proxy in front of the test Git server, on one port for its whole life, that can be switched between three
// behaviours a Git host shows when it fails: passing traffic through, answering one byte a second (a trickling or
// overloaded server: connection accepted, response never finished), and down (connections refused).
import { connect, createServer, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'slow';

export class GitProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private port = 0;
  /** The behaviour of connections opened from now on. */
  mode: ProxyMode = 'pass';
  private readonly target: { host: string; port: number };

  private constructor(target: { host: string; port: number }) {
    this.target = target;
  }

  static async start(targetURL: string): Promise<GitProxy> {
    const u = new URL(targetURL);
    const p = new GitProxy({ host: u.hostname, port: Number(u.port) });
    await p.listen();
    return p;
  }

  get baseURL(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
  }

  private async listen(): Promise<void> {
    const server = createServer((inbound) => {
      const slow = this.mode === 'slow';
      const outbound = connect(this.target.port, this.target.host);
      const cut = (): void => {
        inbound.destroy();
        outbound.destroy();
      };
      for (const s of [inbound, outbound]) {
        this.track(s);
        s.on('error', cut);
      }
      inbound.on('close', cut);
      inbound.pipe(outbound);
      if (!slow) {
        outbound.on('close', cut);
        outbound.pipe(inbound);
        return;
      }
      // The Git server's own socket may close once it has answered (keep-alive timeout): the client must still get
      // the answer one byte a second, never an early hang-up that would end its request for it.
      outbound.removeListener('error', cut);
      outbound.on('error', () => undefined);
      // One byte a second of the real answer, whatever it is.
      let pending = Buffer.alloc(0);
      outbound.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
      });
      const timer = setInterval(() => {
        if (inbound.destroyed) {
          clearInterval(timer);
          this.timers.delete(timer);
          return;
        }
        if (pending.length === 0) return;
        inbound.write(pending.subarray(0, 1));
        pending = pending.subarray(1);
      }, 1000);
      this.timers.add(timer);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port; // the same port on every reopen
  }

  /** Connection refused from now on; open connections cut. */
  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    this.cutAll();
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Every connection from now on answered at one byte a second; open ones cut (they would keep the old pace). */
  slow(): void {
    this.mode = 'slow';
    this.cutAll();
  }

  /** Listening again on the same port, passing traffic through. */
  async up(): Promise<void> {
    this.mode = 'pass';
    this.cutAll();
    if (this.server === undefined) await this.listen();
  }

  private cutAll(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    for (const sock of this.sockets) sock.destroy();
  }

  async close(): Promise<void> {
    await this.down();
  }
}

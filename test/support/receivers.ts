// Real receivers on 127.0.0.1 for tests: an HTTP server that records posts and answers as Slack/Teams/Discord/
// Google Chat/webhooks and the GitHub/GitLab commit-status APIs do (including 429 with Retry-After, or down), and a
// real SMTP server (smtp-server) with AUTH. Test support only: nothing in the operator imports this file.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Received {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface HttpReceiver {
  url: string;
  received: Received[];
  /** Requests answered 429 (not in `received`). */
  throttled: Received[];
  /** The next `n` requests are answered 429 with `Retry-After: seconds`. */
  throttle(n: number, seconds: number): void;
  /** Stops listening (connection refused) until up(). */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startHttpReceiver(): Promise<HttpReceiver> {
  const received: Received[] = [];
  const refused: Received[] = [];
  let throttled = 0;
  let retryAfter = 1;
  let port = 0;
  const make = (): Server =>
    createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        if (throttled > 0) {
          throttled--;
          refused.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
          res.writeHead(429, { 'retry-after': String(retryAfter), 'content-type': 'application/json' }).end('{"ok":false,"error":"ratelimited"}');
          return;
        }
        received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
        const path = req.url ?? '';
        // Each API's success answer: Slack's chat.postMessage says ok, the commit-status APIs echo a status.
        if (path.endsWith('/chat.postMessage')) res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"ts":"1.2"}');
        else if (/\/statuses\//.test(path)) res.writeHead(201, { 'content-type': 'application/json' }).end(body);
        else res.writeHead(200).end('ok');
      });
    });
  let server = make();
  const listen = (): Promise<void> =>
    new Promise((resolve) =>
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as AddressInfo).port;
        resolve();
      }),
    );
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  await listen();
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    throttled: refused,
    throttle: (n, seconds) => {
      throttled = n;
      retryAfter = seconds;
    },
    down: stop,
    up: async () => {
      server = make();
      await listen();
    },
    close: stop,
  };
}

export interface Mail {
  from: string;
  to: string[];
  data: string;
  user: string | undefined;
}

export interface SmtpReceiver {
  port: number;
  mails: Mail[];
  close(): Promise<void>;
}

/** A real SMTP server on 127.0.0.1 accepting AUTH PLAIN/LOGIN for `user`/`password` (no TLS on loopback). */
export async function startSmtpReceiver(user: string, password: string): Promise<SmtpReceiver> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: false,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === user && auth.password === password) cb(null, { user });
      else cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      let data = '';
      stream.on('data', (c: Buffer) => (data += c.toString('utf8')));
      stream.on('end', () => {
        mails.push({ from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address), data, user: session.user as string | undefined });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

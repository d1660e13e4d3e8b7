// The webhook endpoint under hostile clients, through the operator's real HTTP server (in-process, 127.0.0.1):
// oversized, slow (slowloris), malformed and wrongly signed requests are refused at once, the slow ones are cut off,
// and /healthz keeps answering meanwhile.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { handleWebhook } from '../../../src/gitops/webhook/webhook.ts';
import { ReplayGuard } from '../../../src/server/replay.ts';
import { startProbeServer } from '../../../src/server/http.ts';

const SECRET = 'chaos-secret';
const sign = (body: string): string => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;

describe('webhook endpoint under hostile clients', () => {
  let port = 0;
  let close: () => Promise<void> = () => Promise.resolve();
  const refreshed: string[] = [];
  const replay = new ReplayGuard({ max: 100 });

  beforeAll(async () => {
    const s = await startProbeServer({
      host: '127.0.0.1',
      port: 0,
      registry: new Registry(),
      healthy: () => true,
      ready: () => true,
      webhook: (req, res) => handleWebhook(req, res, { secrets: { generic: SECRET }, replay, apps: () => [{ key: 'ns/app', repoURL: 'https://git.example.test/org/repo' }], refresh: (k) => Promise.resolve(void refreshed.push(k)) }),
      timeouts: { headersTimeoutMs: 1000, requestTimeoutMs: 2000, checkIntervalMs: 200 },
    });
    port = s.port;
    close = s.close;
  });
  afterAll(() => close());

  const post = (body: string, headers: Record<string, string>): Promise<Response> => fetch(`http://127.0.0.1:${port}/api/webhook`, { method: 'POST', body, headers });
  /** A raw request: what fetch will not send (a lying Content-Length, a body a byte at a time). */
  const raw = (text: string): Promise<{ socket: Socket; response: Promise<string> }> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(text);
        const response = new Promise<string>((r) => {
          let got = '';
          socket.on('data', (d) => (got += d.toString()));
          socket.on('close', () => r(got));
        });
        resolve({ socket, response });
      });
      socket.on('error', reject);
    });

  it('answers a signed push 202, a wrong signature 401, a signed body that is not JSON 400', async () => {
    const body = JSON.stringify({ repoURL: 'https://git.example.test/org/repo', ref: 'refs/heads/main' });
    expect((await post(body, { 'x-sluice-signature-256': sign(body) })).status).toBe(202);
    expect(refreshed).toEqual(['ns/app']);
    expect((await post(body, { 'x-sluice-signature-256': sign(`${body} `) })).status).toBe(401);
    expect((await post(body, {})).status).toBe(401);
    const bad = await post('{"repoURL": ', { 'x-sluice-signature-256': sign('{"repoURL": ') });
    expect([bad.status, await bad.text()]).toEqual([400, 'body is not JSON: Unexpected end of JSON input (at position 12)\n']);
    // A signed body that is JSON but not a push: refused, naming the field (it was 202 with nothing refreshed).
    const notPush = JSON.stringify({ repo: 'https://git.example.test/org/repo' });
    const r = await post(notPush, { 'x-sluice-signature-256': sign(notPush) });
    expect([r.status, await r.text()]).toEqual([400, expect.stringMatching(/^not a generic push payload: repoURL: .*\n$/)]);
  });

  it('refuses replayed deliveries (the same delivery id) 409; memory stays bounded', async () => {
    const body = (n: number): string => JSON.stringify({ repoURL: 'https://git.example.test/org/repo', ref: 'refs/heads/main', after: `commit-${n}` });
    const send = async (n: number, id: string): Promise<number> => (await post(body(n), { 'x-sluice-signature-256': sign(body(n)), 'x-sluice-delivery': id })).status;
    const before = refreshed.length;
    expect(await send(1, 'd-1')).toBe(202);
    expect(await send(1, 'd-1')).toBe(409); // replayed as is
    expect(await send(2, 'd-1')).toBe(409); // a new body under a delivery id already used
    expect(await send(2, 'd-2')).toBe(202);
    // The generic body names no commit: the same body under a new id is the next push, not a replay (the demo's).
    expect(await send(1, 'd-other')).toBe(202);
    expect(refreshed.length - before).toBe(3); // only the accepted deliveries asked for a refresh
    // A flood of distinct signed deliveries: the guard keeps at most its bound (100 here), forgetting the oldest.
    for (let n = 3; n < 203; n++) expect(await send(n, `d-${n}`)).toBe(202);
    expect(replay.size).toBeLessThanOrEqual(100);
    expect(await send(202, 'd-202')).toBe(409); // the newest are still remembered
  });

  it('refuses an oversized body at once, declared or not', async () => {
    // Only the first byte of the 64 MiB body is ever sent: a 413 proves the server did not wait for the rest.
    const declared = await raw(`POST /api/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: ${64 << 20}\r\n\r\n{`);
    expect(await declared.response).toMatch(/^HTTP\/1\.1 413/);
    const size = (1 << 20) + 1;
    const chunked = await raw(`POST /api/webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${size.toString(16)}\r\n${'x'.repeat(size)}\r\n`);
    expect(await chunked.response).toMatch(/^HTTP\/1\.1 413/);
  });

  it('cuts off slow senders (slowloris) while other requests keep being served', async () => {
    const slow = await Promise.all(Array.from({ length: 20 }, () => raw('POST /api/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{')));
    const trickle = setInterval(() => slow.forEach((s) => s.socket.writable && s.socket.write(' ')), 300);
    try {
      // Answered while all twenty hold their connections open (the test's timeout bounds the wait; no timed bound).
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const answers = await Promise.all(slow.map((s) => s.response));
      // Closed by the request timeout (2 s here), with a 408 when the server could still answer.
      for (const a of answers) expect(a === '' || /^HTTP\/1\.1 408/.test(a)).toBe(true);
    } finally {
      clearInterval(trickle);
      slow.forEach((s) => s.socket.destroy());
    }
  });
});

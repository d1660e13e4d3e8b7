// The dashboard server without a cluster: its local-mode door (token → cookie, Host check), its CSRF rule, and what
// it says when the apiserver cannot be reached (a problem event on the page, the server itself still answering).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeClient } from '../kube/client.ts';
import { createLogger } from '../log/logger.ts';
import { startDashboard, type RunningDashboard } from './server.ts';

// An apiserver address where nothing listens.
const unreachable = new KubeClient({ server: 'http://127.0.0.1:1', prepare: () => Promise.resolve({ headers: {}, dispatcher: undefined }) }, { timeoutMs: 2000 });

describe('dashboard server (local mode, no apiserver)', () => {
  let dash: RunningDashboard;
  let cookie: string;

  beforeAll(async () => {
    dash = await startDashboard({ host: '127.0.0.1', port: 0, assets: { js: '/* app */', css: '/* css */' }, log: createLogger({ level: 'silent' }), auth: { mode: 'local', localClient: unreachable, localToken: 'the-token' } });
    const res = await fetch(`${dash.url}?token=the-token`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  });

  afterAll(async () => {
    await dash.close();
  });

  it('serves the API only to the cookie the printed token bought', async () => {
    expect((await fetch(`${dash.url}api/session`)).status).toBe(401);
    expect((await fetch(`${dash.url}api/session`, { headers: { Cookie: 'sluice_session=guessed' } })).status).toBe(401);
    const s = await fetch(`${dash.url}api/session`, { headers: { Cookie: cookie } });
    expect(await s.json()).toMatchObject({ user: 'kubeconfig user', mode: 'local', readOnly: false, csrf: expect.any(String) as unknown });
    expect((await fetch(`${dash.url}?token=other`, { redirect: 'manual' })).status).toBe(401);
    // A bearer header is not a way in for the local dashboard.
    expect((await fetch(`${dash.url}api/session`, { headers: { Authorization: 'Bearer the-token' } })).status).toBe(401);
  });

  it('refuses writes without the CSRF header, and bad names before any request', async () => {
    const post = await fetch(`${dash.url}api/rollout/shop/web/promote`, { method: 'POST', headers: { Cookie: cookie } });
    expect(post.status).toBe(403);
    expect(((await post.json()) as { message: string }).message).toContain('x-sluice-csrf');
    const csrf = ((await (await fetch(`${dash.url}api/session`, { headers: { Cookie: cookie } })).json()) as { csrf: string }).csrf;
    const unknown = await fetch(`${dash.url}api/rollout/shop/web/explode`, { method: 'POST', headers: { Cookie: cookie, 'X-Sluice-CSRF': csrf } });
    expect(unknown.status).toBe(404);
    const badName = await fetch(`${dash.url}api/rollout/Shop_1/web/promote`, { method: 'POST', headers: { Cookie: cookie, 'X-Sluice-CSRF': csrf } });
    expect(badName.status).toBe(404);
  });

  it('says the apiserver cannot be reached, as an event the page shows, and keeps serving', async () => {
    const ac = new AbortController();
    const res = await fetch(`${dash.url}api/stream/overview`, { headers: { Cookie: cookie }, signal: ac.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body?.getReader();
    let text = '';
    while (!text.includes('event: problem')) {
      const chunk = await reader?.read();
      if (chunk === undefined || chunk.done) break;
      text += new TextDecoder().decode(chunk.value as Uint8Array);
    }
    ac.abort();
    expect(text).toContain('"status":503');
    expect(text).toContain('apiserver cannot be reached');
    expect((await fetch(`${dash.url}healthz`)).status).toBe(200);
    // A write that cannot reach the apiserver is an answer too, not a hang or a crash.
    const csrf = ((await (await fetch(`${dash.url}api/session`, { headers: { Cookie: cookie } })).json()) as { csrf: string }).csrf;
    const post = await fetch(`${dash.url}api/rollout/shop/web/abort`, { method: 'POST', headers: { Cookie: cookie, 'X-Sluice-CSRF': csrf } });
    expect(post.status).toBe(502);
  });

  it('refuses a Host that is not its loopback address (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      request(`${dash.url}api/session`, { headers: { Host: 'attacker.example', Cookie: cookie } }, (r) => resolve(r.statusCode ?? 0)).on('error', reject).end();
    });
    expect(status).toBe(421);
  });
});

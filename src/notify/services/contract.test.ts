// One contract for every service, against real receivers on 127.0.0.1: a delivery reaches the receiver once in the
// shape that service expects; a 429 is a retryable DeliveryError carrying Retry-After; a refusal is permanent; an
// unreachable receiver is retryable; no error message carries a credential.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startHttpReceiver, startSmtpReceiver, type HttpReceiver, type SmtpReceiver } from '../../../test/support/receivers.ts';
import { buildService } from './index.ts';
import { DeliveryError, type NotificationService, type Rendered } from './port.ts';

const SECRET = 'sekret-value-42';
const SHA = 'abcdef0123456789abcdef0123456789abcdef01';

interface Case {
  type: string;
  name?: string;
  settings: (base: string, smtpPort: number) => Record<string, unknown>;
  recipient: string;
  /** Where the receiver sees it, and a check of what it got. */
  check: (http: HttpReceiver, smtp: SmtpReceiver) => void;
}

const n: Rendered = {
  message: 'Rollout web completed',
  email: { subject: 'web done' },
  slack: { attachments: '[{"title":"web"}]' },
  teams: { title: 'web', facts: '[{"name":"rev","value":"h1"}]' },
  discord: { embeds: '[{"title":"web"}]' },
  webhook: { hook: { method: 'PUT', path: '/x', body: '{"a":1}' } },
  github: { repoURLPath: 'https://github.test/acme/web.git', revisionPath: SHA, status: { state: 'success', label: 'sluice' } },
  gitlab: { repoURLPath: 'https://gitlab.test/group/sub/web', revisionPath: SHA, status: { state: 'failure', label: 'sluice' } },
};

const last = (h: HttpReceiver): { path: string; body: Record<string, unknown>; headers: Record<string, unknown> } => {
  const r = h.received.at(-1);
  return { path: r?.path ?? '', body: JSON.parse(r?.body ?? '{}') as Record<string, unknown>, headers: r?.headers ?? {} };
};

const CASES: Case[] = [
  { type: 'webhook', name: 'hook', settings: (b) => ({ url: `${b}/wh`, basicAuth: { username: 'u', password: SECRET } }), recipient: '', check: (h) => expect(last(h)).toMatchObject({ path: '/wh/x', body: { a: 1 }, headers: { authorization: `Basic ${Buffer.from(`u:${SECRET}`).toString('base64')}` } }) },
  { type: 'slack', settings: (b) => ({ token: SECRET, apiURL: `${b}/slack` }), recipient: 'chan', check: (h) => expect(last(h)).toMatchObject({ path: '/slack/chat.postMessage', body: { channel: 'chan', text: 'Rollout web completed', attachments: [{ title: 'web' }] } }) },
  { type: 'slack', name: 'incoming', settings: (b) => ({ url: `${b}/services/T/B/${SECRET}` }), recipient: '', check: (h) => expect(last(h)).toMatchObject({ path: `/services/T/B/${SECRET}`, body: { text: 'Rollout web completed' } }) },
  { type: 'teams', settings: (b) => ({ recipientUrls: { ch: `${b}/teams/${SECRET}` } }), recipient: 'ch', check: (h) => expect(last(h).body).toMatchObject({ '@type': 'MessageCard', title: 'web', sections: [{ facts: [{ name: 'rev', value: 'h1' }] }] }) },
  { type: 'googlechat', settings: (b) => ({ webhooks: { sp: `${b}/chat/${SECRET}` } }), recipient: 'sp', check: (h) => expect(last(h).body).toEqual({ text: 'Rollout web completed' }) },
  { type: 'discord', settings: (b) => ({ webhooks: { d: `${b}/discord/${SECRET}` } }), recipient: 'd', check: (h) => expect(last(h).body).toEqual({ content: 'Rollout web completed', embeds: [{ title: 'web' }] }) },
  { type: 'mattermost', settings: (b) => ({ apiURL: `${b}/mm`, token: SECRET }), recipient: 'cid', check: (h) => expect(last(h)).toMatchObject({ path: '/mm/api/v4/posts', body: { channel_id: 'cid', message: 'Rollout web completed' } }) },
  { type: 'github', settings: (b) => ({ token: SECRET, apiURL: `${b}/gh` }), recipient: '', check: (h) => expect(last(h)).toMatchObject({ path: `/gh/repos/acme/web/statuses/${SHA}`, body: { state: 'success', context: 'sluice' } }) },
  { type: 'gitlab', settings: (b) => ({ token: SECRET, apiURL: `${b}/gl` }), recipient: '', check: (h) => expect(last(h)).toMatchObject({ path: `/gl/api/v4/projects/group%2Fsub%2Fweb/statuses/${SHA}`, body: { state: 'failed', name: 'sluice' }, headers: { 'private-token': SECRET } }) },
  {
    type: 'email',
    settings: (_b, port) => ({ host: '127.0.0.1', port, from: 'sluice@example.test', username: 'user', password: SECRET }),
    recipient: 'a@example.test',
    check: (_h, s) => {
      expect(s.mails.at(-1)?.to).toEqual(['a@example.test']);
      expect(s.mails.at(-1)?.data).toContain('Subject: web done');
    },
  },
];

describe('notification services (one contract)', () => {
  let http: HttpReceiver;
  let smtp: SmtpReceiver;
  beforeAll(async () => {
    http = await startHttpReceiver();
    smtp = await startSmtpReceiver('user', SECRET);
  });
  afterAll(async () => {
    await http.close();
    await smtp.close();
  });

  const build = (c: Case, base = http.url, port = smtp.port): NotificationService => buildService({ name: c.name ?? c.type, type: c.type, settings: c.settings(base, port) });
  const failure = async (p: Promise<unknown>): Promise<DeliveryError> => {
    try {
      await p;
    } catch (e) {
      if (e instanceof DeliveryError) return e;
      throw e;
    }
    throw new Error('expected a DeliveryError');
  };

  for (const c of CASES) {
    describe(`${c.type}${c.name !== undefined ? `.${c.name}` : ''}`, () => {
      it('delivers once, in the shape the service expects', async () => {
        const before = http.received.length + smtp.mails.length;
        expect(await build(c).send(n, { recipient: c.recipient })).toBe(true);
        expect(http.received.length + smtp.mails.length).toBe(before + 1);
        c.check(http, smtp);
      });

      if (c.type !== 'email') {
        it('a 429 is retryable with the Retry-After; nothing leaks the credential', async () => {
          http.throttle(1, 7);
          const e = await failure(build(c).send(n, { recipient: c.recipient }));
          expect({ retryable: e.retryable, after: e.retryAfterMs }).toEqual({ retryable: true, after: 7000 });
          expect(e.message).not.toContain(SECRET);
        });
      }

      it('an unreachable receiver is retryable and the error has no credential', async () => {
        const e = await failure(build(c, 'http://127.0.0.1:1', 1).send(n, { recipient: c.recipient }));
        expect(e.retryable).toBe(true);
        expect(e.message).not.toContain(SECRET);
      });
    });
  }

  it('an SMTP server that refuses auth is a permanent failure without the password', async () => {
    const e = await failure(buildService({ name: 'email', type: 'email', settings: { host: '127.0.0.1', port: smtp.port, from: 'a@b.test', username: 'user', password: 'wrong-password' } }).send(n, { recipient: 'x@example.test' }));
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(/EAUTH/);
    expect(e.message).not.toContain('wrong-password');
  });
});

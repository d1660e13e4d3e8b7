// Webhook-style services: generic webhook, Slack, Microsoft Teams, Google Chat, Discord, Mattermost. Settings follow
// Argo's `service.<type>` keys; the template's per-service section (slack.attachments, teams.sections, ...) is passed
// through as the service expects it.
import { z } from 'zod';
import { httpSend } from './http.ts';
import { DeliveryError, field, jsonField, type Destination, type NotificationService, type Rendered } from './port.ts';

const str = z.string().min(1);

export const webhookSettings = z.object({
  url: str,
  headers: z.array(z.object({ name: str, value: z.string() })).optional(),
  basicAuth: z.object({ username: z.string(), password: z.string() }).optional(),
  bearerToken: z.string().optional(),
});

/** Argo's webhook: the template's `webhook.<service name>` section gives method, path and body. */
export function webhookService(name: string, s: z.infer<typeof webhookSettings>): NotificationService {
  return {
    type: 'webhook',
    async send(n, _to, signal) {
      const section = (n.webhook as Record<string, Rendered> | undefined)?.[name];
      if (section === undefined) return false;
      const headers: Record<string, string> = {};
      for (const h of s.headers ?? []) headers[h.name] = h.value;
      if (s.basicAuth !== undefined) headers.authorization = `Basic ${Buffer.from(`${s.basicAuth.username}:${s.basicAuth.password}`).toString('base64')}`;
      if (s.bearerToken !== undefined) headers.authorization = `Bearer ${s.bearerToken}`;
      const path = field(section, 'path') ?? '';
      await httpSend({ method: (field(section, 'method') ?? 'POST').toUpperCase(), url: s.url.replace(/\/$/, '') + path, headers, body: field(section, 'body') }, signal);
      return true;
    },
  };
}

export const slackSettings = z.object({
  token: z.string().optional(),
  url: z.string().optional(),
  apiURL: z.string().optional(),
  username: z.string().optional(),
  icon: z.string().optional(),
});

/** Slack: `token` posts with chat.postMessage to the recipient channel; `url` posts to an incoming webhook. */
export function slackService(s: z.infer<typeof slackSettings>): NotificationService {
  if (s.token === undefined && s.url === undefined) throw new DeliveryError('slack needs a token (chat.postMessage) or a url (incoming webhook)', false);
  return {
    type: 'slack',
    async send(n, to, signal) {
      const icon = s.icon === undefined ? {} : /^https?:\/\//.test(s.icon) ? { icon_url: s.icon } : { icon_emoji: s.icon };
      const body = {
        ...(to.recipient !== '' ? { channel: to.recipient } : {}),
        text: field(n, 'message') ?? '',
        ...(jsonField(n, 'slack', 'attachments') !== undefined ? { attachments: jsonField(n, 'slack', 'attachments') } : {}),
        ...(jsonField(n, 'slack', 'blocks') !== undefined ? { blocks: jsonField(n, 'slack', 'blocks') } : {}),
        ...(s.username !== undefined ? { username: s.username } : {}),
        ...icon,
      };
      if (s.token === undefined) {
        await httpSend({ url: s.url as string, body: JSON.stringify(body) }, signal);
        return true;
      }
      const api = (s.apiURL ?? 'https://slack.com/api').replace(/\/$/, '');
      const res = await httpSend({ url: `${api}/chat.postMessage`, headers: { authorization: `Bearer ${s.token}` }, body: JSON.stringify(body) }, signal);
      // chat.postMessage answers 200 with ok:false on errors; ratelimited is worth a retry.
      const parsed = z.object({ ok: z.boolean(), error: z.string().optional() }).safeParse(safeJson(res));
      if (parsed.success && !parsed.data.ok) throw new DeliveryError(`slack chat.postMessage: ${parsed.data.error ?? 'not ok'}`, parsed.data.error === 'ratelimited');
      return true;
    },
  };
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** A map of recipient name → webhook URL (Teams' recipientUrls, Google Chat's and Discord's webhooks). */
export const namedUrls = z.record(z.string(), str);

function urlFor(type: string, urls: Record<string, string>, to: Destination): string {
  const url = urls[to.recipient];
  if (url === undefined) throw new DeliveryError(`${type}: no webhook named "${to.recipient}" in the service settings`, false);
  return url;
}

export const teamsSettings = z.object({ recipientUrls: namedUrls });

/** Teams: a MessageCard from title/text/facts/sections, or the template's own card (`teams.template`; adaptive too). */
export function teamsService(s: z.infer<typeof teamsSettings>): NotificationService {
  return {
    type: 'teams',
    async send(n, to, signal) {
      const url = urlFor('teams', s.recipientUrls, to);
      const own = jsonField(n, 'teams', 'template') as Record<string, unknown> | undefined;
      let body: unknown;
      if (own !== undefined) {
        body = own.type === 'AdaptiveCard' ? { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: own }] } : own;
      } else {
        const facts = jsonField(n, 'teams', 'facts');
        const sections = (jsonField(n, 'teams', 'sections') as unknown[] | undefined) ?? [];
        body = {
          '@type': 'MessageCard',
          '@context': 'https://schema.org/extensions',
          title: field(n, 'teams', 'title'),
          summary: field(n, 'teams', 'summary') ?? field(n, 'teams', 'title') ?? (field(n, 'message') ?? '').slice(0, 80),
          text: field(n, 'teams', 'text') ?? field(n, 'message') ?? '',
          themeColor: field(n, 'teams', 'themeColor'),
          sections: facts !== undefined ? [...sections, { facts }] : sections,
          potentialAction: jsonField(n, 'teams', 'potentialAction'),
        };
      }
      await httpSend({ url, body: JSON.stringify(body) }, signal);
      return true;
    },
  };
}

export const webhooksSettings = z.object({ webhooks: namedUrls });

/** Google Chat: text, or `googlechat.cardsV2` passed through. */
export function googleChatService(s: z.infer<typeof webhooksSettings>): NotificationService {
  return {
    type: 'googlechat',
    async send(n, to, signal) {
      const cardsV2 = jsonField(n, 'googlechat', 'cardsV2');
      const body = { text: field(n, 'message') ?? '', ...(cardsV2 !== undefined ? { cardsV2 } : {}) };
      await httpSend({ url: urlFor('googlechat', s.webhooks, to), body: JSON.stringify(body) }, signal);
      return true;
    },
  };
}

/** Discord: content (2000 characters at most, Discord's limit), `discord.embeds` passed through. */
export function discordService(s: z.infer<typeof webhooksSettings>): NotificationService {
  return {
    type: 'discord',
    async send(n, to, signal) {
      const embeds = jsonField(n, 'discord', 'embeds');
      const body = { content: (field(n, 'message') ?? '').slice(0, 2000), ...(embeds !== undefined ? { embeds } : {}) };
      await httpSend({ url: urlFor('discord', s.webhooks, to), body: JSON.stringify(body) }, signal);
      return true;
    },
  };
}

export const mattermostSettings = z.object({ apiURL: str, token: str });

/** Mattermost: POST /api/v4/posts to the recipient channel id, `mattermost.attachments` as props. */
export function mattermostService(s: z.infer<typeof mattermostSettings>): NotificationService {
  return {
    type: 'mattermost',
    async send(n, to, signal) {
      const attachments = jsonField(n, 'mattermost', 'attachments');
      const body = { channel_id: to.recipient, message: field(n, 'message') ?? '', ...(attachments !== undefined ? { props: { attachments } } : {}) };
      await httpSend({ url: `${s.apiURL.replace(/\/$/, '')}/api/v4/posts`, headers: { authorization: `Bearer ${s.token}` }, body: JSON.stringify(body) }, signal);
      return true;
    },
  };
}

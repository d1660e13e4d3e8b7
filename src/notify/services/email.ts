// Email over SMTP (nodemailer): STARTTLS when the server offers it, auth when configured. Argo's `service.email` keys.
import nodemailer from 'nodemailer';
import { z } from 'zod';
import { DeliveryError, field, type NotificationService } from './port.ts';

export const emailSettings = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().min(1).max(65535).default(587),
  from: z.string().min(1),
  username: z.string().optional(),
  password: z.string().optional(),
  html: z.boolean().optional(),
  insecure_skip_verify: z.boolean().optional(),
  /** Refuse to send unless STARTTLS succeeds (nodemailer's requireTLS). */
  requireTLS: z.boolean().optional(),
});

// SMTP reply codes that will not change on a retry: auth refused, mailbox unknown, message refused.
const PERMANENT = new Set(['EAUTH', 'EENVELOPE', 'EMESSAGE']);

export function emailService(s: z.infer<typeof emailSettings>): NotificationService {
  const transport = nodemailer.createTransport({
    host: s.host,
    port: s.port,
    secure: s.port === 465,
    requireTLS: s.requireTLS ?? false,
    auth: s.username !== undefined ? { user: s.username, pass: s.password ?? '' } : undefined,
    tls: { rejectUnauthorized: s.insecure_skip_verify !== true },
    connectionTimeout: 10_000,
    socketTimeout: 20_000,
  });
  return {
    type: 'email',
    async send(n, to) {
      if (to.recipient === '') throw new DeliveryError('email: the subscription names no address', false);
      const body = field(n, 'email', 'body') ?? field(n, 'message') ?? '';
      const subject = field(n, 'email', 'subject') ?? (field(n, 'message') ?? '').split('\n')[0] ?? '';
      try {
        await transport.sendMail({ from: s.from, to: to.recipient, subject, ...(s.html === true ? { html: body } : { text: body }) });
      } catch (err) {
        const e = err as { code?: string; responseCode?: number; message?: string };
        const permanent = PERMANENT.has(e.code ?? '') || (e.responseCode !== undefined && e.responseCode >= 500 && e.responseCode < 600);
        // nodemailer's messages carry the server's reply, never the password.
        throw new DeliveryError(`email via ${s.host}:${s.port}: ${e.code ?? ''} ${(e.message ?? String(err)).slice(0, 200)}`.trim(), !permanent);
      }
      return true;
    },
  };
}

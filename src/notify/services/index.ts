// Builds a service from its `service.<type>[.<name>]` settings; bad settings are an error naming the key.
import { z } from 'zod';
import type { ServiceConfig } from '../config.ts';
import { ConfigKeyError } from '../config.ts';
import { discordService, googleChatService, mattermostService, mattermostSettings, slackService, slackSettings, teamsService, teamsSettings, webhookService, webhookSettings, webhooksSettings } from './chat.ts';
import { emailService, emailSettings } from './email.ts';
import { githubService, githubSettings, gitlabService, gitlabSettings } from './git.ts';
import { DeliveryError, type NotificationService } from './port.ts';

function settings<T extends z.ZodType>(cfg: ServiceConfig, schema: T): z.infer<T> {
  const r = schema.safeParse(cfg.settings);
  // zod's message names fields, not values: no secret leaks into the error.
  if (!r.success) throw new ConfigKeyError(keyOf(cfg), z.prettifyError(r.error).replace(/\n/g, '; '));
  return r.data;
}

export const keyOf = (cfg: ServiceConfig): string => (cfg.name === cfg.type ? `service.${cfg.type}` : `service.${cfg.type}.${cfg.name}`);

export function buildService(cfg: ServiceConfig): NotificationService {
  try {
    switch (cfg.type) {
      case 'webhook':
        return webhookService(cfg.name, settings(cfg, webhookSettings));
      case 'slack':
        return slackService(settings(cfg, slackSettings));
      case 'teams':
        return teamsService(settings(cfg, teamsSettings));
      case 'googlechat':
        return googleChatService(settings(cfg, webhooksSettings));
      case 'discord':
        return discordService(settings(cfg, webhooksSettings));
      case 'mattermost':
        return mattermostService(settings(cfg, mattermostSettings));
      case 'email':
        return emailService(settings(cfg, emailSettings));
      case 'github':
        return githubService(settings(cfg, githubSettings));
      case 'gitlab':
        return gitlabService(settings(cfg, gitlabSettings));
      default:
        throw new ConfigKeyError(keyOf(cfg), `unknown service type "${cfg.type}"`);
    }
  } catch (err) {
    if (err instanceof DeliveryError) throw new ConfigKeyError(keyOf(cfg), err.message);
    throw err;
  }
}

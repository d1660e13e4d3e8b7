// The registry of verbs the dispatcher knows. To add one: import its Command and list it below (see ../command.ts).
import type { Command } from '../command.ts';
import { appCommands } from './app.ts';
import { appDiff } from './app-diff.ts';
import { completionCommands } from './completion.ts';
import { convertCommand } from './convert.ts';
import { dashboard } from './dashboard.ts';
import { experimentCommands } from './experiment.ts';
import { getRollout } from './get.ts';
import { lintCommand } from './lint.ts';
import { list } from './list.ts';
import { notificationCommands } from './notifications.ts';
import { rolloutActions } from './rollout-actions.ts';
import { setImage } from './set-image.ts';
import { shards } from './shards.ts';
import { status } from './status.ts';
import { version } from './version.ts';

export const commands: readonly Command[] = [
  ...rolloutActions,
  setImage,
  status,
  getRollout,
  list,
  ...experimentCommands,
  version,
  shards,
  ...appCommands,
  appDiff,
  lintCommand,
  convertCommand,
  ...notificationCommands,
  dashboard,
  ...completionCommands(() => commands),
];

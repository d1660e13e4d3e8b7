// The registry of verbs the dispatcher knows. To add one: import its Command and list it below (see ../command.ts).
import type { Command } from '../command.ts';
import { version } from './version.ts';

export const commands: readonly Command[] = [
  version,
];

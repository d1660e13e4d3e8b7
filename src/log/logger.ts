import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export interface LogOptions {
  level?: string;
  /** Where JSON lines go; stdout by default. Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
}

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** The operator's root logger: pino JSON lines, with the level named by the config (or SLUICE_LOG_LEVEL). */
export function createLogger(opts: LogOptions = {}): Logger {
  const level = opts.level ?? 'info';
  if (!LEVELS.has(level)) throw new Error(`log level "${level}" is not one of ${[...LEVELS].join(', ')}`);
  const options: LoggerOptions = { level, base: { app: 'sluice' }, timestamp: pino.stdTimeFunctions.isoTime };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A child logger for one reconcile of one object: every line says which object it is about. */
export function reconcileLogger(root: Logger, controller: string, key: string): Logger {
  return root.child({ controller, key });
}

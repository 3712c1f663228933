import { pino } from 'pino';

/**
 * The logging seam: a pino-compatible subset, so an application's own pino
 * (or anything with the same shape) can be passed in.
 */
export interface Logger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

/** The default logger: pino at the level in SWITCHYARD_LOG_LEVEL (default `warn`). */
export function defaultLogger(service: string): Logger {
  return pino({ name: service, level: process.env.SWITCHYARD_LOG_LEVEL ?? 'warn' });
}

import { describeError, type Logger } from '@switchyard/core';

const LEVELS = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 } as const;

/**
 * The framework's own log lines, one line each on stderr, from the level in
 * SWITCHYARD_LOG_LEVEL (default `error`): the shop prints its progress
 * itself, so core's warnings about retries and dead letters would repeat it.
 */
export function quietLogger(name: string): Logger {
  const wanted = process.env.SWITCHYARD_LOG_LEVEL as keyof typeof LEVELS | undefined;
  const threshold = wanted !== undefined && wanted in LEVELS ? LEVELS[wanted] : LEVELS.error;
  const write = (label: 'debug' | 'info' | 'warn' | 'error') => (object: object, message?: string) => {
    if (LEVELS[label] < threshold) return;
    const error = (object as { err?: unknown }).err;
    console.error(`[${name}] ${label}: ${message ?? ''}${error !== undefined ? ` (${describeError(error)})` : ''}`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

import type { logCreator } from 'kafkajs';
import kafkajs from 'kafkajs';
import type { KafkaLogEntry } from './options.js';

const { logLevel } = kafkajs;

const LEVEL_NAMES: Record<number, KafkaLogEntry['level']> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs logs to the console by default, loudly; this routes it to `logger`,
 * or drops it. kafkajs reports a failed connect attempt or a broken connection
 * only in its log (namespace `Connection`, level error): those also go to
 * `onConnectionError`, with the message and broker as the error.
 */
export function quietLogCreator(
  logger: ((entry: KafkaLogEntry) => void) | undefined,
  onConnectionError?: (error: Error) => void,
): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, ...extra } = log;
      if (onConnectionError && level === logLevel.ERROR && namespace === 'Connection' && isConnectionFailure(message)) {
        const broker = typeof extra.broker === 'string' ? ` (${extra.broker})` : '';
        onConnectionError(new Error(`kafka: ${String(message)}${broker}`));
      }
      if (!logger) return;
      logger({ level: LEVEL_NAMES[level] ?? 'debug', message: String(message), extra });
    };
}

/** The messages kafkajs's connection logs when a socket fails or a connect attempt times out. */
function isConnectionFailure(message: unknown): boolean {
  return typeof message === 'string' && (message.startsWith('Connection error') || message === 'Connection timeout');
}

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

/** kafkajs logs to the console by default, loudly; this routes it to `logger`, or drops it. */
export function quietLogCreator(logger: ((entry: KafkaLogEntry) => void) | undefined): logCreator {
  return () =>
    ({ level, log }) => {
      if (!logger) return;
      const { message, ...extra } = log;
      logger({ level: LEVEL_NAMES[level] ?? 'debug', message: String(message), extra });
    };
}

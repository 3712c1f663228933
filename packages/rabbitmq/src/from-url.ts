import { ConfigurationError } from '@switchyard/core/transport';
import { checkUrl, type RabbitMqQueueType, type RabbitMqTransportOptions } from './options.js';
import { RabbitMqTransport } from './rabbitmq-transport.js';
import type { ContentMode } from './wire.js';

/** Query parameters of a transport URL that configure Switchyard rather than amqplib. */
const OWN_PARAMS = ['exchange', 'queueType', 'prefetch', 'connectionName', 'contentMode'] as const;

/**
 * Build a {@link RabbitMqTransport} from an `amqp://` or `amqps://` URL; core
 * calls this when a service is given such a URL. The query parameters
 * `exchange`, `queueType`, `prefetch`, `connectionName` and `contentMode` set the options of
 * the same name (explicit `options` win); the others (`heartbeat`,
 * `frameMax`, …) are left to amqplib. Throws a ConfigurationError for a URL
 * of another scheme or a bad parameter; does no I/O.
 *
 * ```ts
 * transportFromUrl('amqp://guest:guest@127.0.0.1:5672/?exchange=shop&queueType=quorum');
 * ```
 */
export function transportFromUrl(url: string, options: Omit<RabbitMqTransportOptions, 'url'> = {}): RabbitMqTransport {
  checkUrl(url);
  const parsed = new URL(url);
  const fromQuery: { -readonly [K in keyof RabbitMqTransportOptions]: RabbitMqTransportOptions[K] } = {};
  for (const name of OWN_PARAMS) {
    const value = parsed.searchParams.get(name);
    if (value === null) continue;
    parsed.searchParams.delete(name);
    if (name === 'prefetch') {
      const prefetch = Number(value);
      if (!Number.isInteger(prefetch))
        throw new ConfigurationError(`RabbitMQ url parameter prefetch='${value}' is not an integer`);
      fromQuery.prefetch = prefetch;
    } else if (name === 'queueType') fromQuery.queueType = value as RabbitMqQueueType;
    else if (name === 'contentMode') fromQuery.contentMode = value as ContentMode;
    else fromQuery[name] = value;
  }
  return new RabbitMqTransport({ ...fromQuery, ...options, url: parsed.toString() });
}

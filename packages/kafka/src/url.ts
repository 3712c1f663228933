import { ConfigurationError } from '@switchyard/core/transport';
import { KafkaTransport } from './kafka-transport.js';
import type { KafkaTransportOptions } from './options.js';

const INT_PARAMS = [
  'partitions',
  'replicationFactor',
  'sessionTimeoutMs',
  'rebalanceTimeoutMs',
  'heartbeatIntervalMs',
  'maxWaitTimeMs',
  'connectionTimeoutMs',
  'requestTimeoutMs',
  'maxMessageBytes',
  'maxBatchRecords',
  'defaultPrefetch',
  'maxHeldDelayed',
] as const;
const STRING_PARAMS = ['clientId', 'topicPrefix', 'eventsTopic'] as const;

/**
 * Parse `kafka://host:port[,host:port...][?option=value&...]` into transport
 * options. Query options: clientId, topicPrefix, eventsTopic, idempotent
 * (true|false|auto) and the integer options of {@link KafkaTransportOptions}
 * by name (partitions, sessionTimeoutMs, ...). Throws ConfigurationError on
 * anything else.
 */
export function parseKafkaUrl(url: string): KafkaTransportOptions {
  const match = /^kafka:\/\/([^/?#]+)\/?(?:\?([^#]*))?$/.exec(url);
  if (!match) throw new ConfigurationError(`kafka: '${url}' is not kafka://host:port[,host:port][?options]`);
  const brokers = (match[1] ?? '').split(',').map((b) => b.trim());
  const options: Record<string, unknown> = { brokers };
  for (const [name, value] of new URLSearchParams(match[2] ?? '')) {
    if ((INT_PARAMS as readonly string[]).includes(name)) {
      if (!/^\d+$/.test(value)) throw new ConfigurationError(`kafka: URL option ${name}='${value}' is not an integer`);
      options[name] = Number(value);
    } else if ((STRING_PARAMS as readonly string[]).includes(name)) {
      options[name] = value;
    } else if (name === 'idempotent') {
      if (value !== 'true' && value !== 'false' && value !== 'auto')
        throw new ConfigurationError(`kafka: URL option idempotent='${value}' must be true, false or auto`);
      options.idempotent = value === 'auto' ? 'auto' : value === 'true';
    } else {
      throw new ConfigurationError(`kafka: unknown URL option '${name}'`);
    }
  }
  return options as unknown as KafkaTransportOptions;
}

/** Build a {@link KafkaTransport} from a `kafka://` URL (see {@link parseKafkaUrl}); core calls this for `kafka://` URLs. No I/O. */
export function transportFromUrl(url: string): KafkaTransport {
  return new KafkaTransport(parseKafkaUrl(url));
}

import { ConfigurationError } from '@switchyard/core/transport';
import { NatsTransport } from './nats-transport.js';
import type { NatsTransportOptions } from './options.js';

const NUMERIC = [
  'ackWaitMs',
  'pullExpiresMs',
  'sendTimeoutMs',
  'publishAckTimeoutMs',
  'maxMessageBytes',
  'defaultPrefetch',
  'maxAckPending',
  'refreshMs',
] as const;

/**
 * The entry point core calls for `nats://` URLs (after a lazy import of this
 * package). Query parameters `prefix` and the numeric options of
 * {@link NatsTransportOptions} (`ackWaitMs`, `sendTimeoutMs`, …) set the options
 * of the same name and are removed from the URL; `options` fills in the rest.
 * Several servers: `nats://a:4222,b:4222?prefix=shop`. No I/O; throws a
 * ConfigurationError for a bad URL or option.
 */
export function transportFromUrl(url: string, options: NatsTransportOptions = {}): NatsTransport {
  const query = url.indexOf('?');
  const base = query === -1 ? url : url.slice(0, query);
  const params = new URLSearchParams(query === -1 ? '' : url.slice(query + 1));
  const fromQuery: Record<string, string | number> = {};
  const prefix = params.get('prefix');
  if (prefix !== null) fromQuery.prefix = prefix;
  params.delete('prefix');
  for (const name of NUMERIC) {
    const value = params.get(name);
    if (value === null) continue;
    params.delete(name);
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) {
      throw new ConfigurationError(`nats url parameter '${name}' must be a number, got '${value}'`);
    }
    fromQuery[name] = n;
  }
  const unknown = [...params.keys()];
  if (unknown.length > 0) {
    throw new ConfigurationError(`nats url parameter '${unknown[0]}' is unknown: use prefix or ${NUMERIC.join(', ')}`);
  }
  return new NatsTransport({ ...options, ...fromQuery, url: base });
}

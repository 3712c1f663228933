import { ConfigurationError } from '@switchyard/core/transport';
import type { RedisStreamsTransportOptions } from './options.js';
import { RedisStreamsTransport } from './redis-streams-transport.js';

const QUERY_OPTIONS = ['prefix', 'leaseMs', 'blockMs', 'delayPollMs', 'sendDedupTtlMs'] as const;

/**
 * The entry point core calls for `redis://` and `rediss://` URLs (after a lazy
 * import of this package). Query parameters `prefix`, `leaseMs`, `blockMs`,
 * `delayPollMs` and `sendDedupTtlMs` set the options of the same name and are
 * removed before the URL reaches ioredis; `options` fills in the rest. No I/O;
 * throws a ConfigurationError for a bad URL or option.
 *
 * ```ts
 * transportFromUrl('redis://127.0.0.1:6379/0?prefix=shop&leaseMs=10000')
 * ```
 */
export function transportFromUrl(url: string, options: RedisStreamsTransportOptions = {}): RedisStreamsTransport {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new ConfigurationError(`redis url '${url}' is not a valid URL`, { cause: error });
  }
  const fromQuery: Record<string, string | number> = {};
  for (const name of QUERY_OPTIONS) {
    const value = parsed.searchParams.get(name);
    if (value === null) continue;
    parsed.searchParams.delete(name);
    fromQuery[name] = name === 'prefix' ? value : numeric(name, value);
  }
  return new RedisStreamsTransport({ ...options, ...fromQuery, url: parsed.toString() });
}

function numeric(name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) {
    throw new ConfigurationError(`redis url parameter '${name}' must be a number, got '${value}'`);
  }
  return n;
}

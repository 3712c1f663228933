import { ConfigurationError, checkRetention, type DeadLetterRetention } from '@switchyard/core/transport';
import type { RedisOptions } from 'ioredis';

/** Options of {@link RedisStreamsTransport}. Every field is optional. */
export interface RedisStreamsTransportOptions {
  /** `redis://[user:pass@]host[:port][/db]` or `rediss://…` (TLS). Default `redis://127.0.0.1:6379`. */
  readonly url?: string;
  /** Extra ioredis options, merged over the ones the transport sets (retry strategy, lazy connect). */
  readonly redis?: RedisOptions;
  /**
   * Prefix of every key this transport touches (`<prefix>:ch:<channel>`, `<prefix>:subs`, …).
   * Two transports only see each other's messages when their prefixes are equal. Default `switchyard`.
   */
  readonly prefix?: string;
  /**
   * How long a delivery may stay unacknowledged on a consumer that stopped renewing it before another
   * consumer reclaims it (XAUTOCLAIM). A live consumer renews its in-flight deliveries, so a slow
   * handler is not reclaimed while its process is alive. Default 30 000 ms.
   */
  readonly leaseMs?: number;
  /** How long one XREADGROUP blocks before the read loop looks around again. Default 2 000 ms. */
  readonly blockMs?: number;
  /** Longest wait of the delay mover between two looks at the delay set. Default 250 ms. */
  readonly delayPollMs?: number;
  /**
   * How long the marker that makes a send idempotent lives (see docs/transports/redis.md). It must
   * outlast ioredis' reconnect-and-resend window. 0 turns idempotent sends off. Default 120 000 ms.
   */
  readonly sendDedupTtlMs?: number;
  /** Messages per Lua call when sending a large batch. Default 500. */
  readonly sendChunk?: number;
  /** Largest message (headers + body) accepted by `send`/`publish`. Default 64 MiB; Redis itself allows 512 MB. */
  readonly maxMessageBytes?: number;
  /** Default prefetch of a consumer when `consume` is given none. Default max(concurrency, 100). */
  readonly defaultPrefetch?: number;
  /** Called with connection errors that ioredis recovers from by itself (for logging). Default: ignored. */
  readonly onConnectionError?: (error: Error) => void;
  /** Retention of the dead-letter stores this transport offers (default: keep every record). */
  readonly deadLetterRetention?: DeadLetterRetention;
  /**
   * Bound on one `send` or `publish`: when Redis has not answered by then (paused, stalled network,
   * or down longer than ioredis' own retries), the call rejects with `SY_TIMEOUT`; its messages may
   * still be appended when Redis answers later (never lost, possibly stored twice if the caller
   * sends again; core's inbox drops the repeat). Default 30 000 ms.
   */
  readonly sendTimeoutMs?: number;
}

/** Options after defaults and validation. */
export interface ResolvedOptions {
  readonly url: string;
  readonly redis: RedisOptions;
  readonly prefix: string;
  readonly leaseMs: number;
  readonly blockMs: number;
  readonly delayPollMs: number;
  readonly sendDedupTtlMs: number;
  readonly sendChunk: number;
  readonly maxMessageBytes: number;
  readonly defaultPrefetch: number;
  readonly onConnectionError: (error: Error) => void;
  readonly deadLetterRetention: DeadLetterRetention | undefined;
  readonly sendTimeoutMs: number;
}

/** Fill in defaults; throws a ConfigurationError naming the bad option. No I/O. */
export function resolveOptions(options: RedisStreamsTransportOptions = {}): ResolvedOptions {
  const url = options.url ?? 'redis://127.0.0.1:6379';
  checkUrl(url);
  checkRetention('redis option deadLetterRetention', options.deadLetterRetention);
  const prefix = options.prefix ?? 'switchyard';
  if (prefix.length === 0 || /\s/.test(prefix)) {
    throw new ConfigurationError(`redis option 'prefix' must be a non-empty string without spaces, got '${prefix}'`);
  }
  if (options.redis?.keyPrefix !== undefined) {
    // ioredis prefixes only the keys it can locate in each command; this transport names all its keys itself.
    throw new ConfigurationError(
      "redis option 'redis.keyPrefix' is not supported: use the transport's 'prefix' option",
    );
  }
  return {
    url,
    redis: options.redis ?? {},
    prefix,
    leaseMs: int('leaseMs', options.leaseMs, 30_000, 10),
    blockMs: int('blockMs', options.blockMs, 2_000, 1),
    delayPollMs: int('delayPollMs', options.delayPollMs, 250, 1),
    sendDedupTtlMs: int('sendDedupTtlMs', options.sendDedupTtlMs, 120_000, 0),
    sendChunk: int('sendChunk', options.sendChunk, 500, 1, 5_000),
    maxMessageBytes: int('maxMessageBytes', options.maxMessageBytes, 64 * 1024 * 1024, 1, 512 * 1024 * 1024),
    defaultPrefetch: int('defaultPrefetch', options.defaultPrefetch, 100, 1),
    onConnectionError: options.onConnectionError ?? (() => {}),
    deadLetterRetention: options.deadLetterRetention,
    sendTimeoutMs: int('sendTimeoutMs', options.sendTimeoutMs, 30_000, 1),
  };
}

function int(name: string, value: number | undefined, fallback: number, min: number, max = 2 ** 31 - 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`redis option '${name}' must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new ConfigurationError(`redis url '${url}' is not a valid URL`, { cause: error });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ConfigurationError(`redis url must start with redis:// or rediss://, got '${parsed.protocol}//'`);
  }
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) {
    throw new ConfigurationError(`redis url path must be a database number, got '/${db}'`);
  }
}

import { ConfigurationError, type TransportError } from '@switchyard/core/transport';
import { quoteSchema } from './migrations.js';

/** Options of {@link PostgresTransport}. */
export interface PostgresTransportOptions {
  /** libpq-style connection string handed to `pg` (`postgres://user:pass@host:5432/db?sslmode=…`). */
  readonly connectionString: string;
  /** Schema that holds the transport's tables; created and migrated on first use. Default `switchyard`. */
  readonly schema?: string;
  /** Connections in the transport's pool (sends, claims, acks), besides the one LISTEN connection. Default 10. */
  readonly poolSize?: number;
  /** Visibility timeout: a claimed message comes back this long after its consumer stopped renewing the lease (crash, hang). Default 30,000. */
  readonly leaseMs?: number;
  /** Fallback poll of an idle channel, for a notification that never came (LISTEN connection down). Default 1,000. */
  readonly pollIntervalMs?: number;
  /** Deliveries claimed ahead of handling per consumer when `consume` gives no `prefetch`. Default `max(concurrency, 64)`. */
  readonly prefetch?: number;
  /** Largest message (headers + body bytes) accepted by send and publish. Default 16 MiB. */
  readonly maxMessageBytes?: number;
  /**
   * When true, `ack` resolves only after the row's delete committed. Default false: `ack`
   * resolves at once and the delete commits with the consumer's next claim (same statement),
   * or on its own within one event-loop turn; `close` flushes it. A lost ack only means a
   * redelivery after the lease, never a loss; a failed delete is reported through `onError`.
   */
  readonly durableAck?: boolean;
  /** Wake consumers with LISTEN/NOTIFY. Default true; false leaves only the poll. */
  readonly listen?: boolean;
  /** `application_name` of the transport's connections (shown in `pg_stat_activity`). Default `switchyard`. */
  readonly applicationName?: string;
  /** Errors no caller can receive (a failed claim, a lost LISTEN connection, a failed lease renewal). Default: `process.emitWarning`. */
  readonly onError?: (error: TransportError) => void;
}

/** Options after validation and defaults. */
export type ResolvedOptions = Required<Omit<PostgresTransportOptions, 'prefetch'>> & { readonly prefetch?: number };

const MIB = 1024 * 1024;

/** Validate `options`; throws a ConfigurationError that says what to change. */
export function resolveOptions(options: PostgresTransportOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigurationError(
      "PostgresTransport needs an options object such as { connectionString: 'postgres://127.0.0.1/app' }",
    );
  }
  const { connectionString } = options;
  if (typeof connectionString !== 'string' || !/^postgres(ql)?:\/\//i.test(connectionString)) {
    throw new ConfigurationError(
      "PostgresTransport: 'connectionString' must be a postgres:// URL, e.g. 'postgres://user@127.0.0.1:5432/app'",
    );
  }
  const schema = options.schema ?? 'switchyard';
  quoteSchema(schema);
  const resolved: ResolvedOptions = {
    connectionString,
    schema,
    poolSize: integer('poolSize', options.poolSize, 10, 1, 1_000),
    leaseMs: integer('leaseMs', options.leaseMs, 30_000, 100),
    pollIntervalMs: integer('pollIntervalMs', options.pollIntervalMs, 1_000, 1),
    maxMessageBytes: integer('maxMessageBytes', options.maxMessageBytes, 16 * MIB, 1, 256 * MIB),
    durableAck: options.durableAck ?? false,
    listen: options.listen ?? true,
    applicationName: options.applicationName ?? 'switchyard',
    onError: options.onError ?? ((error) => process.emitWarning(error)),
    ...(options.prefetch === undefined ? {} : { prefetch: integer('prefetch', options.prefetch, 1, 1) }),
  };
  if (typeof resolved.durableAck !== 'boolean') {
    throw new ConfigurationError("PostgresTransport: 'durableAck' must be true or false");
  }
  if (typeof resolved.listen !== 'boolean')
    throw new ConfigurationError("PostgresTransport: 'listen' must be true or false");
  if (typeof resolved.applicationName !== 'string') {
    throw new ConfigurationError("PostgresTransport: 'applicationName' must be a string");
  }
  if (typeof resolved.onError !== 'function') {
    throw new ConfigurationError("PostgresTransport: 'onError' must be a function");
  }
  return resolved;
}

function integer(name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(
      `PostgresTransport: '${name}' must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** The URL query parameters that are the transport's own (all others are left to `pg`). */
const URL_OPTIONS: Record<string, 'int' | 'bool' | 'string'> = {
  schema: 'string',
  poolSize: 'int',
  leaseMs: 'int',
  pollIntervalMs: 'int',
  prefetch: 'int',
  maxMessageBytes: 'int',
  durableAck: 'bool',
  listen: 'bool',
};

/**
 * Parse a `postgres://` (or `postgresql://`) URL into transport options. The transport's own
 * query parameters (`schema`, `poolSize`, `leaseMs`, `pollIntervalMs`, `prefetch`,
 * `maxMessageBytes`, `durableAck`, `listen`) are taken out; everything else (host, credentials,
 * database, `sslmode`, `application_name`, …) stays in the connection string for `pg`.
 * Throws a ConfigurationError for another scheme or a malformed option value.
 */
export function parsePostgresUrl(url: string): PostgresTransportOptions {
  if (typeof url !== 'string' || !/^postgres(ql)?:\/\//i.test(url)) {
    throw new ConfigurationError(
      `'${String(url)}' is not a postgres:// URL; use e.g. postgres://user@127.0.0.1:5432/app?schema=switchyard`,
    );
  }
  const q = url.indexOf('?');
  const base = q === -1 ? url : url.slice(0, q);
  const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  const options: Record<string, unknown> = {};
  const kept = new URLSearchParams();
  for (const [name, text] of query) {
    const kind = URL_OPTIONS[name];
    if (kind === undefined) {
      kept.append(name, text);
      continue;
    }
    if (kind === 'string') options[name] = text;
    else if (kind === 'bool') {
      if (text !== 'true' && text !== 'false') {
        throw new ConfigurationError(`postgres URL option '${name}' must be true or false, got '${text}'`);
      }
      options[name] = text === 'true';
    } else {
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value)) {
        throw new ConfigurationError(`postgres URL option '${name}' must be a number, got '${text}'`);
      }
      options[name] = value;
    }
  }
  const rest = kept.toString();
  const applicationName = kept.get('application_name');
  return {
    ...options,
    connectionString: rest === '' ? base : `${base}?${rest}`,
    ...(applicationName === null ? {} : { applicationName }),
  } as PostgresTransportOptions;
}

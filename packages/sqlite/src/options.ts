import { resolve } from 'node:path';
import { ConfigurationError, type TransportError } from '@switchyard/core/transport';

/** Options of {@link SqliteTransport}. */
export interface SqliteTransportOptions {
  /** Database file (created if missing), or `:memory:` for a private, single-process database. */
  readonly path: string;
  /** Visibility timeout: a claimed message comes back to the channel this long after its consumer stopped renewing it (crash, hang). Default 30,000. */
  readonly leaseMs?: number;
  /** Longest wait between two polls of an idle channel. Default 50. */
  readonly pollIntervalMs?: number;
  /** First wait after a poll found nothing; doubles up to `pollIntervalMs`. Default 1. */
  readonly minPollIntervalMs?: number;
  /** Deliveries claimed ahead of handling per consumer when `consume` gives no `prefetch`. Default `max(concurrency, 64)`. */
  readonly prefetch?: number;
  /** How long a write waits for another process's lock before failing. Default 5,000. */
  readonly busyTimeoutMs?: number;
  /** Largest message (headers + body bytes) accepted by send and publish. Default 16 MiB. */
  readonly maxMessageBytes?: number;
  /**
   * When true, `ack` resolves only after the row's delete committed. Default
   * false: `ack` resolves at once and the delete commits with the consumer's
   * next claim, or on its own within about two event-loop turns (`close`
   * flushes it). A failed or lost ack only means a redelivery after the lease,
   * never a loss; a failed commit is reported through `onError`.
   */
  readonly durableAck?: boolean;
  /** Use `fs.watch` on the WAL file as a wake-up hint across processes. Default true. */
  readonly watch?: boolean;
  /** Errors no caller can receive (a failed poll, a failed lease renewal). Default: `process.emitWarning`. */
  readonly onError?: (error: TransportError) => void;
}

/** Options after validation and defaults. */
export type ResolvedOptions = Required<Omit<SqliteTransportOptions, 'prefetch'>> & { readonly prefetch?: number };

const MIB = 1024 * 1024;

/** Validate `options`; throws a ConfigurationError that says what to change. */
export function resolveOptions(options: SqliteTransportOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigurationError("SqliteTransport needs an options object such as { path: './switchyard.db' }");
  }
  const { path } = options;
  if (typeof path !== 'string' || path.trim().length === 0) {
    throw new ConfigurationError("SqliteTransport: 'path' must be a non-empty file path, or ':memory:'");
  }
  const resolved: ResolvedOptions = {
    path: path === ':memory:' ? path : resolve(path),
    leaseMs: integer('leaseMs', options.leaseMs, 30_000, 50),
    pollIntervalMs: integer('pollIntervalMs', options.pollIntervalMs, 50, 1),
    minPollIntervalMs: integer('minPollIntervalMs', options.minPollIntervalMs, 1, 1),
    busyTimeoutMs: integer('busyTimeoutMs', options.busyTimeoutMs, 5_000, 0),
    maxMessageBytes: integer('maxMessageBytes', options.maxMessageBytes, 16 * MIB, 1, 1_000_000_000),
    watch: options.watch ?? true,
    durableAck: options.durableAck ?? false,
    onError: options.onError ?? ((error) => process.emitWarning(error)),
    ...(options.prefetch === undefined ? {} : { prefetch: integer('prefetch', options.prefetch, 1, 1) }),
  };
  if (resolved.minPollIntervalMs > resolved.pollIntervalMs) {
    throw new ConfigurationError(
      `SqliteTransport: 'minPollIntervalMs' (${resolved.minPollIntervalMs}) must not exceed 'pollIntervalMs' (${resolved.pollIntervalMs})`,
    );
  }
  if (typeof resolved.durableAck !== 'boolean') {
    throw new ConfigurationError("SqliteTransport: 'durableAck' must be true or false");
  }
  if (typeof resolved.watch !== 'boolean')
    throw new ConfigurationError("SqliteTransport: 'watch' must be true or false");
  if (typeof resolved.onError !== 'function')
    throw new ConfigurationError("SqliteTransport: 'onError' must be a function");
  return resolved;
}

function integer(name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(
      `SqliteTransport: '${name}' must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

const URL_OPTIONS: Record<string, 'int' | 'bool'> = {
  leaseMs: 'int',
  pollIntervalMs: 'int',
  minPollIntervalMs: 'int',
  prefetch: 'int',
  busyTimeoutMs: 'int',
  maxMessageBytes: 'int',
  watch: 'bool',
  durableAck: 'bool',
};

/**
 * Parse a `sqlite:` URL into transport options. Accepted forms:
 * `sqlite:./relative.db`, `sqlite:relative.db`, `sqlite:///abs/path.db`,
 * `sqlite:/abs/path.db`, `sqlite::memory:`, each optionally followed by
 * `?leaseMs=…&pollIntervalMs=…&minPollIntervalMs=…&prefetch=…&busyTimeoutMs=…&maxMessageBytes=…&watch=false&durableAck=true`.
 * Throws a ConfigurationError for another scheme, an empty path or an unknown option.
 */
export function parseSqliteUrl(url: string): SqliteTransportOptions {
  if (typeof url !== 'string' || !url.startsWith('sqlite:')) {
    throw new ConfigurationError(
      `'${String(url)}' is not a sqlite: URL; use sqlite:./file.db, sqlite:///abs/file.db or sqlite::memory:`,
    );
  }
  const rest = url.slice('sqlite:'.length);
  const q = rest.indexOf('?');
  let path = decodeURIComponent(q === -1 ? rest : rest.slice(0, q));
  const query = new URLSearchParams(q === -1 ? '' : rest.slice(q + 1));
  if (path.startsWith('//')) {
    // sqlite:///abs → '/abs'; sqlite://localhost/abs → '/abs'; sqlite://./rel → './rel'
    const afterSlashes = path.slice(2);
    const slash = afterSlashes.indexOf('/');
    if (afterSlashes.startsWith('.')) path = afterSlashes;
    else if (slash === 0) path = afterSlashes;
    else if (slash > 0 && afterSlashes.slice(0, slash) === 'localhost') path = afterSlashes.slice(slash);
    else
      throw new ConfigurationError(
        `sqlite URL '${url}' names a host; use sqlite:///absolute/path.db or sqlite:./relative.db`,
      );
  }
  if (path.length === 0) {
    throw new ConfigurationError(
      `sqlite URL '${url}' has no file path; use sqlite:./file.db, sqlite:///abs/file.db or sqlite::memory:`,
    );
  }
  const options: Record<string, unknown> = { path };
  for (const [name, text] of query) {
    const kind = URL_OPTIONS[name];
    if (kind === undefined) {
      throw new ConfigurationError(
        `sqlite URL '${url}' has an unknown option '${name}'; known: ${Object.keys(URL_OPTIONS).join(', ')}`,
      );
    }
    if (kind === 'bool') {
      if (text !== 'true' && text !== 'false')
        throw new ConfigurationError(`sqlite URL option '${name}' must be true or false`);
      options[name] = text === 'true';
    } else {
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value)) {
        throw new ConfigurationError(`sqlite URL option '${name}' must be a number, got '${text}'`);
      }
      options[name] = value;
    }
  }
  return options as unknown as SqliteTransportOptions;
}

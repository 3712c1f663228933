import { ConfigurationError, ErrorCode, redact, TransportError } from '@switchyard/core';
import pg from 'pg';
import { type Migration, migrate, quoteSchema } from '../migrations.js';

/** Where a PostgreSQL store keeps its tables: a connection URL (the store opens and closes its own pool) or the application's pool (borrowed, never ended by the store). */
export type PostgresStoreSource = string | pg.Pool;

/** Options every PostgreSQL store accepts. */
export interface PostgresStoreOptions {
  /** Schema of the store's tables, created if missing (default `switchyard`, or `?schema=` of the URL). */
  readonly schema?: string;
  /** Most connections of the pool the store opens from a URL (default 4; ignored for a borrowed pool). */
  readonly maxConnections?: number;
}

/** Anything that runs one parameterized SQL statement: a `pg` `PoolClient` or `Client`, or an adapter over a query builder's transaction. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

/** The `pg` query result shape the stores read (`rows`, `rowCount`). */
interface Result<R> {
  readonly rows: R[];
  readonly rowCount: number | null;
}

/**
 * The pool of one store, its schema, and its tables brought up to date once, on first use.
 * Driver errors are wrapped as TransportError with `code`; use after {@link close} rejects with `SY_CLOSED`.
 */
export class StoreConnection {
  readonly pool: pg.Pool;
  /** The schema name, quoted for SQL. */
  readonly schema: string;
  /** The schema name as given (for NOTIFY channel names and messages). */
  readonly schemaName: string;
  readonly #store: string;
  readonly #owned: boolean;
  readonly #component: string;
  readonly #migrations: readonly Migration[];
  #ready: Promise<void> | undefined;
  #closed = false;

  constructor(
    store: string,
    source: PostgresStoreSource,
    options: PostgresStoreOptions,
    component: string,
    migrations: readonly Migration[],
  ) {
    this.#store = store;
    this.#component = component;
    this.#migrations = migrations;
    let schema = options.schema;
    if (typeof source === 'string') {
      const { url, urlSchema } = splitSchema(store, source);
      schema ??= urlSchema;
      const max = options.maxConnections ?? 4;
      if (!Number.isInteger(max) || max < 1) {
        throw new ConfigurationError(`${store}: 'maxConnections' must be a positive integer, got ${String(max)}`);
      }
      this.pool = new pg.Pool({ connectionString: url, max });
      // An idle client that loses its connection emits 'error' on the pool; the next query reconnects.
      this.pool.on('error', () => undefined);
      this.#owned = true;
    } else if (source instanceof pg.Pool || isPoolLike(source)) {
      this.pool = source;
      this.#owned = false;
    } else {
      throw new ConfigurationError(`${store}: pass a postgres:// URL or a pg.Pool`);
    }
    this.schemaName = schema ?? 'switchyard';
    this.schema = quoteSchema(this.schemaName);
  }

  /** True once {@link close} ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves once the store's tables exist in their newest version; a failure is retried on the next call. */
  ready(): Promise<void> {
    this.#assertOpen();
    this.#ready ??= migrate(this.pool, this.schemaName, this.#component, this.#migrations).catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  /** Run one statement on the pool after {@link ready}; a driver error rejects as TransportError(`code`, `what`). */
  async query<R>(code: ErrorCode, what: string, text: string, values?: unknown[]): Promise<Result<R>> {
    await this.ready();
    try {
      return (await this.pool.query(text, values)) as unknown as Result<R>;
    } catch (error) {
      throw wrap(this.#store, code, what, error);
    }
  }

  /** End the pool if the store opened it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned) await this.pool.end().catch(() => undefined);
  }

  #assertOpen(): void {
    if (this.#closed) throw new TransportError(ErrorCode.Closed, `${this.#store} is closed`);
  }
}

/** Wrap a driver error (SwitchyardErrors pass through unchanged). */
export function wrap(store: string, code: ErrorCode, what: string, error: unknown): Error {
  if (error instanceof TransportError || error instanceof ConfigurationError) return error;
  const detail = error instanceof Error ? `: ${error.message}` : '';
  return new TransportError(code, `${store}: ${what}${detail}`, { cause: error });
}

function splitSchema(store: string, source: string): { url: string; urlSchema: string | undefined } {
  let parsed: URL;
  try {
    parsed = new URL(source);
  } catch (error) {
    throw new ConfigurationError(`${store}: a source string must be a URL such as postgres://user@host:5432/database`, {
      cause: error,
    });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigurationError(`${store}: '${redact(source)}' is not a postgres:// URL`);
  }
  const urlSchema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  return { url: parsed.toString(), urlSchema };
}

function isPoolLike(value: unknown): value is pg.Pool {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as pg.Pool).connect === 'function' &&
    typeof (value as pg.Pool).query === 'function' &&
    typeof (value as pg.Pool).end === 'function' &&
    'totalCount' in value
  );
}

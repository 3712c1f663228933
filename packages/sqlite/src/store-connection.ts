import { ConfigurationError, ErrorCode, TransportError } from '@switchyard/core/transport';
import { configure, type DatabaseSource, guard, isDatabase, resolveDatabase, type SqliteDatabase } from './database.js';

/** Options every SQLite store accepts. */
export interface SqliteStoreOptions {
  /** How long a write waits for another process's lock (only when the store opens the file itself). Default 5,000. */
  readonly busyTimeoutMs?: number;
}

/**
 * The connection of one store: opened from a path (and then closed by the
 * store) or borrowed from the application (never closed by the store, so that
 * the application can keep using it). Creates the store's tables at construction
 * for a borrowed connection, on first use for a path.
 */
export class StoreConnection {
  readonly #source: DatabaseSource;
  readonly #schema: string;
  readonly #busyTimeoutMs: number | undefined;
  #db: SqliteDatabase | undefined;
  #owned = false;
  #closed = false;

  constructor(store: string, source: DatabaseSource, schema: string, options: SqliteStoreOptions = {}) {
    if (typeof source === 'string' ? source.trim().length === 0 : !isDatabase(source)) {
      throw new ConfigurationError(`${store}: pass a database file path or an open better-sqlite3 Database`);
    }
    this.#source = source;
    this.#schema = schema;
    this.#busyTimeoutMs = options.busyTimeoutMs;
    // A borrowed connection gets its tables now: created lazily they could land in
    // an application transaction that rolls back, leaving the store without them.
    if (typeof source !== 'string') void this.db;
  }

  /** True once {@link close} ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The connection, opened and migrated on first call; throws `SY_CLOSED` after close. */
  get db(): SqliteDatabase {
    if (this.#closed) throw new TransportError(ErrorCode.Closed, 'the SQLite store is closed');
    if (this.#db === undefined) {
      const { db, owned } = resolveDatabase(this.#source, this.#busyTimeoutMs);
      try {
        guard(ErrorCode.TransportUnavailable, 'cannot create the store tables', () => {
          if (owned) configure(db);
          db.exec(this.#schema);
        });
      } catch (error) {
        if (owned) db.close();
        throw error;
      }
      this.#db = db;
      this.#owned = owned;
    }
    return this.#db;
  }

  /** Close the connection if the store opened it. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#owned && this.#db?.open) this.#db.close();
    this.#db = undefined;
  }
}

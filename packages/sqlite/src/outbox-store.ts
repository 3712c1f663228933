import type { Destination, OutboundMessage, OutboxRecord, OutboxStore } from '@switchyard/core';
import { ConfigurationError, ErrorCode } from '@switchyard/core/transport';
import { type DatabaseSource, guard, type Statement } from './database.js';
import { type SqliteStoreOptions, StoreConnection } from './store-connection.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sy_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  destination_kind TEXT NOT NULL,
  destination TEXT NOT NULL,
  message_id TEXT NOT NULL,
  headers TEXT NOT NULL,
  body BLOB NOT NULL,
  message_key TEXT,
  deliver_at INTEGER,
  created_at INTEGER NOT NULL
);
`;

/** Options of {@link SqliteOutboxStore}. */
export interface SqliteOutboxStoreOptions extends SqliteStoreOptions {
  /** How often `waitForRecords` looks for records written by other connections. Default 100. */
  readonly pollIntervalMs?: number;
}

interface Row {
  seq: number;
  destination_kind: string;
  destination: string;
  message_id: string;
  headers: string;
  body: Buffer;
  message_key: string | null;
  deliver_at: number | null;
}

/**
 * A transactional outbox in table `sy_outbox`.
 *
 * Write side: {@link add} is a plain synchronous INSERT on the store's
 * connection. Give the store the application's own better-sqlite3 Database and
 * call `add` inside the application's transaction, so that the business change
 * and the outgoing messages commit or roll back together:
 *
 * ```ts
 * const outbox = new SqliteOutboxStore(db);
 * db.transaction(() => {
 *   insertOrder.run(order);
 *   outbox.add({ destination: { kind: 'publish', routingKey: 'order.placed' }, message });
 * })();
 * ```
 *
 * Read side ({@link OutboxStore}): core's relay takes `pending` records, oldest
 * first, forwards them and calls `markForwarded`. Record ids are never reused
 * (AUTOINCREMENT), so a late `markForwarded` cannot remove a newer record. A
 * record can be forwarded twice if the relay dies between forwarding and
 * marking: consumers dedup by message id (the inbox).
 */
export class SqliteOutboxStore implements OutboxStore {
  readonly #connection: StoreConnection;
  readonly #pollIntervalMs: number;
  readonly #waiters = new Set<() => void>();
  #statements: { insert: Statement; pending: Statement; remove: Statement; any: Statement } | undefined;

  /** `source`: the application's open Database (borrowed; needed for atomic writes) or a file path (opened and closed by the store). */
  constructor(source: DatabaseSource, options: SqliteOutboxStoreOptions = {}) {
    this.#connection = new StoreConnection('SqliteOutboxStore', source, SCHEMA, options);
    this.#pollIntervalMs = options.pollIntervalMs ?? 100;
    if (!Number.isInteger(this.#pollIntervalMs) || this.#pollIntervalMs < 1) {
      throw new ConfigurationError(
        `SqliteOutboxStore: 'pollIntervalMs' must be a positive integer, got ${String(options.pollIntervalMs)}`,
      );
    }
  }

  /**
   * Store one or more outbound messages, synchronously, in the caller's
   * transaction if one is open on this connection (otherwise in a transaction
   * of its own). Throws a TransportError (`SY_SEND_FAILED`) so that the
   * caller's transaction rolls back, or `SY_CLOSED` after `close`.
   */
  add(outbound: OutboundMessage | readonly OutboundMessage[]): void {
    const list: readonly OutboundMessage[] = isList(outbound) ? outbound : [outbound];
    if (list.length === 0) return;
    const db = this.#connection.db;
    const { insert } = this.#prepared();
    const now = Date.now();
    guard(ErrorCode.SendFailed, 'cannot write to the outbox', () =>
      db.transaction(() => {
        for (const { destination, message } of list) {
          insert.run(
            destination.kind,
            destination.kind === 'send' ? destination.service : destination.routingKey,
            message.id,
            JSON.stringify(message.headers),
            message.body,
            message.key ?? null,
            message.deliverAt ?? null,
            now,
          );
        }
      })(),
    );
    // Waiters run after the current synchronous transaction; a rollback only makes this a spurious wake-up.
    for (const wake of this.#waiters) wake();
  }

  async pending(limit: number): Promise<OutboxRecord[]> {
    const { pending } = this.#prepared();
    const rows = guard(ErrorCode.TransportUnavailable, 'cannot read the outbox', () =>
      pending.all(Math.max(0, Math.floor(limit))),
    ) as Row[];
    return rows.map(toRecord);
  }

  async markForwarded(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const db = this.#connection.db;
    const { remove } = this.#prepared();
    guard(ErrorCode.TransportUnavailable, 'cannot update the outbox', () =>
      db
        .transaction(() => {
          for (const id of ids) remove.run(Number(id));
        })
        .immediate(),
    );
  }

  /**
   * Resolves when a record was added through this store, when another
   * connection committed while the outbox holds records (checked every
   * `pollIntervalMs`), or when `signal` aborts.
   */
  waitForRecords(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    const db = this.#connection.db;
    const { any } = this.#prepared();
    const readVersion = () => db.pragma('data_version', { simple: true }) as number;
    let version = readVersion();
    return new Promise((resolve) => {
      const done = () => {
        clearInterval(timer);
        this.#waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setInterval(() => {
        try {
          if (this.#connection.closed) return done();
          const now = readVersion();
          if (now !== version) {
            version = now;
            if (any.get() !== undefined) done();
          }
        } catch {
          done();
        }
      }, this.#pollIntervalMs);
      timer.unref();
      this.#waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Wake pending waiters; close the file if the store opened it. Idempotent. */
  async close(): Promise<void> {
    for (const wake of [...this.#waiters]) wake();
    this.#statements = undefined;
    this.#connection.close();
  }

  #prepared(): { insert: Statement; pending: Statement; remove: Statement; any: Statement } {
    const db = this.#connection.db;
    this.#statements ??= {
      insert: db.prepare(
        `INSERT INTO sy_outbox (destination_kind, destination, message_id, headers, body, message_key, deliver_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      pending: db.prepare('SELECT * FROM sy_outbox ORDER BY seq LIMIT ?'),
      remove: db.prepare('DELETE FROM sy_outbox WHERE seq = ?'),
      any: db.prepare('SELECT 1 FROM sy_outbox LIMIT 1'),
    };
    return this.#statements;
  }
}

function isList(value: OutboundMessage | readonly OutboundMessage[]): value is readonly OutboundMessage[] {
  return Array.isArray(value);
}

function toRecord(row: Row): OutboxRecord {
  const destination: Destination =
    row.destination_kind === 'send'
      ? { kind: 'send', service: row.destination }
      : { kind: 'publish', routingKey: row.destination };
  const message = {
    id: row.message_id,
    headers: JSON.parse(row.headers) as Record<string, string>,
    body: new Uint8Array(row.body.buffer, row.body.byteOffset, row.body.byteLength),
    ...(row.message_key === null ? {} : { key: row.message_key }),
    ...(row.deliver_at === null ? {} : { deliverAt: row.deliver_at }),
  };
  return { id: String(row.seq), outbound: { destination, message } };
}

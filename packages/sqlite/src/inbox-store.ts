import type { InboxStore } from '@switchyard/core';
import { ConfigurationError, ErrorCode } from '@switchyard/core/transport';
import { type DatabaseSource, guard, type Statement } from './database.js';
import { type SqliteStoreOptions, StoreConnection } from './store-connection.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sy_inbox (
  handler TEXT NOT NULL,
  message_id TEXT NOT NULL,
  processed_at INTEGER NOT NULL,
  PRIMARY KEY (handler, message_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sy_inbox_processed_at ON sy_inbox (processed_at);
`;

/** Options of {@link SqliteInboxStore}. */
export interface SqliteInboxStoreOptions extends SqliteStoreOptions {
  /**
   * Prune automatically: every `intervalMs` (default one hour or `retentionMs`,
   * whichever is shorter) forget records older than `retentionMs`. Keep the
   * retention longer than any redelivery can take (lease, delayed retries).
   */
  readonly autoPrune?: { readonly retentionMs: number; readonly intervalMs?: number };
}

/**
 * The dedup inbox in table `sy_inbox` (one row per handler and message id),
 * alone or in the transport's file. Safe for several processes. Rejects with a
 * TransportError on driver errors and with `SY_CLOSED` after `close`.
 *
 * The `*Sync` methods run on the same connection with no transaction of their
 * own, so that when the store borrows the application's Database, marking a
 * message processed commits atomically with the handler's writes:
 * `db.transaction(() => { applyChange(); inbox.markProcessedSync(handler, id); })()`.
 *
 * It also implements the transactional inbox (`processInTransaction`, used for
 * handlers registered with `transactionalInbox: true`): the handler runs inside
 * `BEGIN IMMEDIATE … COMMIT` on the store's connection, which it gets as
 * `context.transaction` (a better-sqlite3 Database) to make its writes through,
 * and the inbox record is written in the same transaction. Such transactions
 * run one at a time per store, and the store's async methods wait for the open
 * one; keep these handlers short, since the write lock blocks other writers of
 * the file meanwhile (up to their busy timeout).
 */
export class SqliteInboxStore implements InboxStore {
  readonly #connection: StoreConnection;
  #statements: { exists: Statement; mark: Statement; prune: Statement } | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** The open transactional-inbox transaction (and those queued behind it), if any. */
  #lock: Promise<void> = Promise.resolve();

  /** `source`: a file path (opened and closed by the store) or the application's open Database (borrowed). */
  constructor(source: DatabaseSource, options: SqliteInboxStoreOptions = {}) {
    this.#connection = new StoreConnection('SqliteInboxStore', source, SCHEMA, options);
    const auto = options.autoPrune;
    if (auto !== undefined) {
      const { retentionMs } = auto;
      if (!Number.isInteger(retentionMs) || retentionMs < 1) {
        throw new ConfigurationError(
          `SqliteInboxStore: 'autoPrune.retentionMs' must be a positive integer, got ${String(retentionMs)}`,
        );
      }
      const intervalMs = auto.intervalMs ?? Math.min(retentionMs, 3_600_000);
      if (!Number.isInteger(intervalMs) || intervalMs < 1) {
        throw new ConfigurationError(
          `SqliteInboxStore: 'autoPrune.intervalMs' must be a positive integer, got ${String(intervalMs)}`,
        );
      }
      this.#timer = setInterval(() => {
        // A failed prune is retried at the next tick; nothing is lost meanwhile.
        this.prune(retentionMs).catch(() => undefined);
      }, intervalMs);
      this.#timer.unref();
    }
  }

  async isProcessed(handler: string, messageId: string): Promise<boolean> {
    await this.#lock;
    return this.isProcessedSync(handler, messageId);
  }

  async markProcessed(handler: string, messageId: string): Promise<void> {
    // Not inside another handler's open transaction: its rollback would take this record along.
    await this.#lock;
    this.markProcessedSync(handler, messageId);
  }

  /**
   * The transactional inbox (see the class comment and `InboxStore.processInTransaction`):
   * `work(db)` and the record commit together, or neither does. Resolves false without running
   * `work` when the record exists. Rejects with what `work` threw (after rolling back), or with a
   * TransportError when the database fails.
   */
  processInTransaction(
    handler: string,
    messageId: string,
    work: (transaction: unknown) => unknown | Promise<unknown>,
  ): Promise<boolean> {
    const run = this.#lock.then(() => this.#inTransaction(handler, messageId, work));
    this.#lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async #inTransaction(
    handler: string,
    messageId: string,
    work: (transaction: unknown) => unknown | Promise<unknown>,
  ): Promise<boolean> {
    const db = this.#connection.db;
    guard(ErrorCode.TransportUnavailable, 'cannot begin the inbox transaction', () => db.exec('BEGIN IMMEDIATE'));
    try {
      if (this.isProcessedSync(handler, messageId)) {
        db.exec('ROLLBACK');
        return false;
      }
      await work(db);
      this.markProcessedSync(handler, messageId);
      guard(ErrorCode.SendFailed, 'cannot commit the inbox transaction', () => db.exec('COMMIT'));
      return true;
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Synchronous {@link isProcessed}, for use inside the application's transaction. */
  isProcessedSync(handler: string, messageId: string): boolean {
    const { exists } = this.#prepared();
    return guard(
      ErrorCode.TransportUnavailable,
      'inbox lookup failed',
      () => exists.get(handler, messageId) !== undefined,
    );
  }

  /** Synchronous {@link markProcessed} (idempotent), for use inside the application's transaction. */
  markProcessedSync(handler: string, messageId: string): void {
    const { mark } = this.#prepared();
    guard(ErrorCode.SendFailed, 'inbox write failed', () => mark.run(handler, messageId, Date.now()));
  }

  async prune(olderThanMs: number): Promise<number> {
    await this.#lock;
    const { prune } = this.#prepared();
    return guard(
      ErrorCode.TransportUnavailable,
      'inbox prune failed',
      () => prune.run(Date.now() - olderThanMs).changes,
    );
  }

  /** Stop automatic pruning; close the file if the store opened it. Idempotent. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#statements = undefined;
    this.#connection.close();
  }

  #prepared(): { exists: Statement; mark: Statement; prune: Statement } {
    const db = this.#connection.db;
    this.#statements ??= {
      exists: db.prepare('SELECT 1 FROM sy_inbox WHERE handler = ? AND message_id = ?'),
      mark: db.prepare('INSERT OR IGNORE INTO sy_inbox (handler, message_id, processed_at) VALUES (?, ?, ?)'),
      prune: db.prepare('DELETE FROM sy_inbox WHERE processed_at < ?'),
    };
    return this.#statements;
  }
}

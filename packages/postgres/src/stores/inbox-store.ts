import { ConfigurationError, ErrorCode, type HandlerContext, type InboxStore } from '@switchyard/core';
import type pg from 'pg';
import type { Migration } from '../migrations.js';
import { type PostgresStoreOptions, type PostgresStoreSource, StoreConnection, wrap } from './connection.js';

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'sy_inbox table',
    sql: (s) => `
      CREATE TABLE ${s}.sy_inbox (
        handler text NOT NULL,
        message_id text NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (handler, message_id)
      );
      CREATE INDEX sy_inbox_processed_at ON ${s}.sy_inbox (processed_at);`,
  },
];

/** Options of {@link PostgresInboxStore}. */
export interface PostgresInboxStoreOptions extends PostgresStoreOptions {
  /**
   * Prune automatically: every `intervalMs` (default one hour or `retentionMs`, whichever is
   * shorter) forget records older than `retentionMs`. Keep the retention longer than any
   * redelivery can take (leases, delayed retries, an outbox relay that was down).
   */
  readonly autoPrune?: { readonly retentionMs: number; readonly intervalMs?: number };
}

/**
 * The inbox in table `sy_inbox` of a PostgreSQL schema (default `switchyard`): one row per handler
 * and message id, shared safely by any number of processes.
 *
 * - As a service's dedup store (`inbox: new PostgresInboxStore(url)`), it remembers handled
 *   messages across restarts: a redelivery is suppressed. The handler's side effects and the mark
 *   are two steps, so a crash between them can still repeat a side effect.
 * - With handlers registered with `transactionalInbox: true`, it closes that gap: such a
 *   handler runs inside a transaction on a pool client that also inserts the inbox row, and gets
 *   that client as `context.transaction` ({@link pgTransaction}). The handler's writes and the
 *   record commit together; a redelivery finds the row and does not run the handler. Two copies
 *   handled at once serialize on the row: the second waits for the first to commit, then skips.
 *
 * Driver errors reject as TransportError; every method rejects with `SY_CLOSED` after `close`.
 */
export class PostgresInboxStore implements InboxStore {
  readonly #db: StoreConnection;
  #timer: NodeJS.Timeout | undefined;

  /**
   * `source`: a `postgres://` URL (the store opens a pool and ends it on `close`; `?schema=name`
   * picks the schema) or the application's `pg.Pool` (borrowed, left open). With transactional
   * handlers, size the pool for the service's concurrency: each running one holds a client. Throws a ConfigurationError for a bad source, schema or `autoPrune`.
   */
  constructor(source: PostgresStoreSource, options: PostgresInboxStoreOptions = {}) {
    this.#db = new StoreConnection('PostgresInboxStore', source, options, 'inbox', MIGRATIONS);
    const auto = options.autoPrune;
    if (auto !== undefined) {
      const { retentionMs } = auto;
      const intervalMs = auto.intervalMs ?? Math.min(retentionMs, 3_600_000);
      for (const [name, value] of [
        ['retentionMs', retentionMs],
        ['intervalMs', intervalMs],
      ] as const) {
        if (!Number.isInteger(value) || value < 1) {
          throw new ConfigurationError(
            `PostgresInboxStore: 'autoPrune.${name}' must be a positive integer, got ${String(value)}`,
          );
        }
      }
      this.#timer = setInterval(() => {
        // A failed prune is retried at the next tick; nothing is lost meanwhile.
        this.prune(retentionMs).catch(() => undefined);
      }, intervalMs);
      this.#timer.unref();
    }
  }

  async isProcessed(handler: string, messageId: string): Promise<boolean> {
    const result = await this.#db.query(
      ErrorCode.TransportUnavailable,
      'inbox lookup failed',
      `SELECT 1 FROM ${this.#db.schema}.sy_inbox WHERE handler = $1 AND message_id = $2`,
      [handler, messageId],
    );
    return (result.rowCount ?? 0) > 0;
  }

  /** Record a success. Idempotent (a second mark keeps the first time). */
  async markProcessed(handler: string, messageId: string): Promise<void> {
    await this.#db.query(
      ErrorCode.SendFailed,
      'inbox write failed',
      `INSERT INTO ${this.#db.schema}.sy_inbox (handler, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [handler, messageId],
    );
  }

  /** Forget records processed more than `olderThanMs` ago (by the database's clock); resolves with how many. */
  async prune(olderThanMs: number): Promise<number> {
    const result = await this.#db.query(
      ErrorCode.TransportUnavailable,
      'inbox prune failed',
      `DELETE FROM ${this.#db.schema}.sy_inbox WHERE processed_at < now() - make_interval(secs => $1::double precision / 1000)`,
      [Math.max(0, olderThanMs)],
    );
    return result.rowCount ?? 0;
  }

  /**
   * The transactional inbox (`InboxStore.processInTransaction`, used by core for handlers
   * registered with `transactionalInbox: true`) on a pool client: BEGIN, insert the inbox row
   * (waiting for a concurrent run of the same message to finish), run `work(client)`, COMMIT;
   * resolves true. A row already there: ROLLBACK and resolve false without running `work`. `work`
   * rejecting: ROLLBACK and reject with its error. A database failure rejects as TransportError.
   * Transactions run concurrently, one pool client each.
   */
  async processInTransaction(
    handler: string,
    messageId: string,
    work: (transaction: pg.PoolClient) => unknown | Promise<unknown>,
  ): Promise<boolean> {
    await this.#db.ready();
    let client: pg.PoolClient;
    try {
      client = await this.#db.pool.connect();
    } catch (error) {
      throw wrap('PostgresInboxStore', ErrorCode.TransportUnavailable, 'cannot open a transaction', error);
    }
    let broken: unknown;
    try {
      let inserted: number;
      try {
        await client.query('BEGIN');
        const result = await client.query(
          `INSERT INTO ${this.#db.schema}.sy_inbox (handler, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
          [handler, messageId],
        );
        inserted = result.rowCount ?? 0;
      } catch (error) {
        broken = error;
        throw wrap('PostgresInboxStore', ErrorCode.TransportUnavailable, 'inbox insert failed', error);
      }
      if (inserted === 0) {
        broken = await rollback(client);
        return false;
      }
      await work(client);
      try {
        await client.query('COMMIT');
      } catch (error) {
        broken = error;
        throw wrap('PostgresInboxStore', ErrorCode.TransportUnavailable, 'commit failed', error);
      }
      return true;
    } catch (error) {
      if (broken === undefined) broken = await rollback(client);
      throw error;
    } finally {
      // A client whose connection failed mid-transaction is destroyed, not returned to the pool.
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  /** Stop automatic pruning; end the pool if the store opened it. Idempotent. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#db.close();
  }
}

/** ROLLBACK; resolves with the error when it failed (the connection is then not reusable). */
async function rollback(client: pg.PoolClient): Promise<unknown> {
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (error) {
    return error;
  }
}

/**
 * The `pg` client of a handler registered with `transactionalInbox: true` in a service whose
 * `inbox` is a {@link PostgresInboxStore}: run the handler's writes on it (they commit with the
 * inbox record). Throws a ConfigurationError where there is no such transaction.
 */
export function pgTransaction(context: HandlerContext): pg.PoolClient {
  const transaction = context.transaction;
  if (transaction === undefined || transaction === null || typeof (transaction as pg.PoolClient).query !== 'function') {
    throw new ConfigurationError(
      `handler '${context.handler}' has no PostgreSQL transaction: register it with { transactionalInbox: true } in a service whose inbox is a PostgresInboxStore`,
    );
  }
  return transaction as pg.PoolClient;
}

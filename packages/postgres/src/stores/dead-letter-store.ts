import type { DeadLetterFilter, DeadLetterRecord, DeadLetterStore } from '@switchyard/core';
import { ErrorCode } from '@switchyard/core';
import {
  DEAD_LETTER_COLUMNS,
  type DeadLetterDialect,
  type DeadLetterRow,
  deadLetterFromRow,
  deadLetterTime,
  deadLetterValues,
  deadLetterWhere,
} from '@switchyard/core/transport';
import type { Migration } from '../migrations.js';
import { type PostgresStoreOptions, type PostgresStoreSource, StoreConnection } from './connection.js';

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'sy_dead_letters table',
    sql: (s) => `
      CREATE TABLE ${s}.sy_dead_letters (
        id text PRIMARY KEY,
        seq bigserial NOT NULL,
        message_id text NOT NULL,
        message_name text NOT NULL,
        service text NOT NULL,
        handler text,
        channel text NOT NULL,
        reason_code text NOT NULL,
        reason_message text NOT NULL,
        reason_stack text,
        attempts integer NOT NULL,
        first_attempt_at text NOT NULL,
        dead_lettered_at text NOT NULL,
        dead_lettered_ts timestamptz NOT NULL,
        headers text NOT NULL,
        body bytea NOT NULL,
        message_key text,
        deliver_at bigint
      );
      CREATE INDEX sy_dead_letters_time ON ${s}.sy_dead_letters (dead_lettered_ts, seq);
      CREATE INDEX sy_dead_letters_service ON ${s}.sy_dead_letters (service, dead_lettered_ts);`,
  },
];

/** How PostgreSQL writes a dead-letter filter. */
const DIALECT: DeadLetterDialect = {
  param: (n) => `$${n}`,
  contains: (p) => `strpos(lower(reason_message), lower(${p})) > 0`,
  timeColumn: 'dead_lettered_ts',
  time: (date) => date,
};

/**
 * Dead letters in table `sy_dead_letters` of a PostgreSQL schema (default `switchyard`), for any
 * service whatever its transport: `deadLetters: new PostgresDeadLetterStore('postgres://…')`, and
 * for `switchyard dlq` with the same URL. Many processes may share it. The table is created (and
 * migrated) on first use. `add` is idempotent on the record id (the first write wins) and resolves
 * once committed; records keep the message's exact bytes and headers so that a replay sends them
 * unchanged. Driver errors reject as TransportError (`SY_SEND_FAILED` for `add`,
 * `SY_TRANSPORT_UNAVAILABLE` otherwise); every method rejects with `SY_CLOSED` after `close`.
 */
export class PostgresDeadLetterStore implements DeadLetterStore {
  readonly #db: StoreConnection;

  /**
   * `source`: a `postgres://` URL (the store opens a pool and ends it on `close`; `?schema=name`
   * picks the schema) or the application's `pg.Pool` (borrowed, left open). Throws a
   * ConfigurationError for anything else or for a schema name that is not a plain identifier.
   */
  constructor(source: PostgresStoreSource, options: PostgresStoreOptions = {}) {
    this.#db = new StoreConnection('PostgresDeadLetterStore', source, options, 'dead-letters', MIGRATIONS);
  }

  async add(record: DeadLetterRecord): Promise<void> {
    await this.#db.query(
      ErrorCode.SendFailed,
      `cannot store dead letter '${record.id}'`,
      `INSERT INTO ${this.#db.schema}.sy_dead_letters (${DEAD_LETTER_COLUMNS}, dead_lettered_ts)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
       ON CONFLICT (id) DO NOTHING`,
      [...deadLetterValues(record), new Date(deadLetterTime(record))],
    );
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> {
    const { where, params } = deadLetterWhere(filter, DIALECT);
    params.push(Math.max(0, Math.floor(filter.limit ?? 1_000)), Math.max(0, Math.floor(filter.offset ?? 0)));
    const n = params.length;
    const result = await this.#db.query<DeadLetterRow>(
      ErrorCode.TransportUnavailable,
      'cannot list dead letters',
      `SELECT ${DEAD_LETTER_COLUMNS} FROM ${this.#db.schema}.sy_dead_letters ${where}
       ORDER BY dead_lettered_ts, seq LIMIT $${n - 1} OFFSET $${n}`,
      params,
    );
    return result.rows.map(deadLetterFromRow);
  }

  async count(filter: DeadLetterFilter = {}): Promise<number> {
    const { where, params } = deadLetterWhere(filter, DIALECT);
    const result = await this.#db.query<{ n: string }>(
      ErrorCode.TransportUnavailable,
      'cannot count dead letters',
      `SELECT count(*) AS n FROM ${this.#db.schema}.sy_dead_letters ${where}`,
      params,
    );
    return Number(result.rows[0]?.n ?? 0);
  }

  async get(id: string): Promise<DeadLetterRecord | undefined> {
    const result = await this.#db.query<DeadLetterRow>(
      ErrorCode.TransportUnavailable,
      `cannot read dead letter '${id}'`,
      `SELECT ${DEAD_LETTER_COLUMNS} FROM ${this.#db.schema}.sy_dead_letters WHERE id = $1`,
      [id],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : deadLetterFromRow(row);
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.#db.query(
      ErrorCode.TransportUnavailable,
      `cannot delete dead letter '${id}'`,
      `DELETE FROM ${this.#db.schema}.sy_dead_letters WHERE id = $1`,
      [id],
    );
    return (result.rowCount ?? 0) > 0;
  }

  /** End the pool if the store opened it from a URL; a borrowed pool stays open. Idempotent. */
  async close(): Promise<void> {
    await this.#db.close();
  }
}

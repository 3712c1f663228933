import type { DeadLetterFilter, DeadLetterRecord, DeadLetterStore } from '@switchyard/core';
import { ErrorCode } from '@switchyard/core';
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

interface Row {
  id: string;
  message_id: string;
  message_name: string;
  service: string;
  handler: string | null;
  channel: string;
  reason_code: string;
  reason_message: string;
  reason_stack: string | null;
  attempts: number;
  first_attempt_at: string;
  dead_lettered_at: string;
  headers: string;
  body: Buffer;
  message_key: string | null;
  deliver_at: string | null;
}

const COLUMNS = `id, message_id, message_name, service, handler, channel, reason_code, reason_message, reason_stack,
  attempts, first_attempt_at, dead_lettered_at, headers, body, message_key, deliver_at`;

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
    const m = record.message;
    await this.#db.query(
      ErrorCode.SendFailed,
      `cannot store dead letter '${record.id}'`,
      `INSERT INTO ${this.#db.schema}.sy_dead_letters (id, message_id, message_name, service, handler, channel, reason_code,
         reason_message, reason_stack, attempts, first_attempt_at, dead_lettered_at, dead_lettered_ts, headers, body,
         message_key, deliver_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
       ON CONFLICT (id) DO NOTHING`,
      [
        record.id,
        record.messageId,
        record.messageName,
        record.service,
        record.handler ?? null,
        record.channel,
        record.reason.code,
        record.reason.message,
        record.reason.stack ?? null,
        record.attempts,
        record.firstAttemptAt,
        record.deadLetteredAt,
        toDate(record.deadLetteredAt),
        JSON.stringify(m.headers),
        Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength),
        m.key ?? null,
        m.deliverAt ?? null,
      ],
    );
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> {
    const { where, params } = whereOf(filter);
    params.push(Math.max(0, Math.floor(filter.limit ?? 1_000)), Math.max(0, Math.floor(filter.offset ?? 0)));
    const n = params.length;
    const result = await this.#db.query<Row>(
      ErrorCode.TransportUnavailable,
      'cannot list dead letters',
      `SELECT ${COLUMNS} FROM ${this.#db.schema}.sy_dead_letters ${where}
       ORDER BY dead_lettered_ts, seq LIMIT $${n - 1} OFFSET $${n}`,
      params,
    );
    return result.rows.map(toRecord);
  }

  async count(filter: DeadLetterFilter = {}): Promise<number> {
    const { where, params } = whereOf(filter);
    const result = await this.#db.query<{ n: string }>(
      ErrorCode.TransportUnavailable,
      'cannot count dead letters',
      `SELECT count(*) AS n FROM ${this.#db.schema}.sy_dead_letters ${where}`,
      params,
    );
    return Number(result.rows[0]?.n ?? 0);
  }

  async get(id: string): Promise<DeadLetterRecord | undefined> {
    const result = await this.#db.query<Row>(
      ErrorCode.TransportUnavailable,
      `cannot read dead letter '${id}'`,
      `SELECT ${COLUMNS} FROM ${this.#db.schema}.sy_dead_letters WHERE id = $1`,
      [id],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : toRecord(row);
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

function whereOf(filter: DeadLetterFilter): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (clause: (p: string) => string, value: unknown) => {
    if (value === undefined) return;
    params.push(value);
    clauses.push(clause(`$${params.length}`));
  };
  add((p) => `service = ${p}`, filter.service);
  add((p) => `handler = ${p}`, filter.handler);
  add((p) => `message_name = ${p}`, filter.messageName);
  add((p) => `reason_code = ${p}`, filter.code);
  add((p) => `strpos(lower(reason_message), lower(${p})) > 0`, filter.search);
  add((p) => `dead_lettered_ts >= ${p}`, filter.since);
  add((p) => `dead_lettered_ts < ${p}`, filter.until);
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

function toDate(iso: string): Date {
  const ms = Date.parse(iso);
  return new Date(Number.isNaN(ms) ? Date.now() : ms);
}

function toRecord(row: Row): DeadLetterRecord {
  const message = {
    id: row.message_id,
    headers: JSON.parse(row.headers) as Record<string, string>,
    body: new Uint8Array(row.body.buffer, row.body.byteOffset, row.body.byteLength),
    ...(row.message_key === null ? {} : { key: row.message_key }),
    ...(row.deliver_at === null ? {} : { deliverAt: Number(row.deliver_at) }),
  };
  return {
    id: row.id,
    messageId: row.message_id,
    messageName: row.message_name,
    service: row.service,
    ...(row.handler === null ? {} : { handler: row.handler }),
    channel: row.channel,
    reason: {
      code: row.reason_code,
      message: row.reason_message,
      ...(row.reason_stack === null ? {} : { stack: row.reason_stack }),
    },
    attempts: row.attempts,
    firstAttemptAt: row.first_attempt_at,
    deadLetteredAt: row.dead_lettered_at,
    message,
  };
}

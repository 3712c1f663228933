import type { DeadLetterFilter, DeadLetterRecord, DeadLetterStore } from '@switchyard/core';
import { checkRetention, type DeadLetterRetention, ErrorCode } from '@switchyard/core/transport';
import { type DatabaseSource, guard } from './database.js';
import { type SqliteStoreOptions, StoreConnection } from './store-connection.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sy_dead_letters (
  id TEXT PRIMARY KEY,
  message_id TEXT NOT NULL,
  message_name TEXT NOT NULL,
  service TEXT NOT NULL,
  handler TEXT,
  channel TEXT NOT NULL,
  reason_code TEXT NOT NULL,
  reason_message TEXT NOT NULL,
  reason_stack TEXT,
  attempts INTEGER NOT NULL,
  first_attempt_at TEXT NOT NULL,
  dead_lettered_at TEXT NOT NULL,
  dead_lettered_ms INTEGER NOT NULL,
  headers TEXT NOT NULL,
  body BLOB NOT NULL,
  message_key TEXT,
  deliver_at INTEGER
);
CREATE INDEX IF NOT EXISTS sy_dead_letters_time ON sy_dead_letters (dead_lettered_ms);
`;

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
  deliver_at: number | null;
}

/**
 * Dead letters in table `sy_dead_letters`, in a file of their own or shared
 * with the transport and the other stores. Several processes may use it at
 * once (SQLite serializes the writes). `add` is idempotent on the record id
 * (the first write wins) and resolves once committed. Driver errors reject as
 * TransportError; every method rejects with `SY_CLOSED` after `close`.
 */
export class SqliteDeadLetterStore implements DeadLetterStore {
  readonly #connection: StoreConnection;
  readonly #retention: DeadLetterRetention | undefined;

  /**
   * `source`: a file path (opened and closed by the store) or the application's open Database
   * (borrowed). `options.retention`: enforced on every `add`, in the same transaction, exactly
   * (records older than `maxAgeMs`, then the oldest beyond `maxCount`; nothing else).
   */
  constructor(source: DatabaseSource, options?: SqliteStoreOptions & { readonly retention?: DeadLetterRetention }) {
    checkRetention('SqliteDeadLetterStore', options?.retention);
    this.#connection = new StoreConnection('SqliteDeadLetterStore', source, SCHEMA, options);
    this.#retention = options?.retention;
  }

  async add(record: DeadLetterRecord): Promise<void> {
    const db = this.#connection.db;
    const m = record.message;
    const retention = this.#retention;
    guard(ErrorCode.SendFailed, `cannot store dead letter '${record.id}'`, () =>
      db.transaction(() => {
        insert();
        if (retention?.maxAgeMs !== undefined) {
          db.prepare('DELETE FROM sy_dead_letters WHERE dead_lettered_ms < ?').run(Date.now() - retention.maxAgeMs);
        }
        if (retention?.maxCount !== undefined) {
          db.prepare(
            `DELETE FROM sy_dead_letters WHERE rowid IN (SELECT rowid FROM sy_dead_letters ORDER BY dead_lettered_ms, rowid
               LIMIT max(0, (SELECT COUNT(*) FROM sy_dead_letters) - ?))`,
          ).run(retention.maxCount);
        }
      })(),
    );
    function insert() {
      db.prepare(
        `INSERT OR IGNORE INTO sy_dead_letters (id, message_id, message_name, service, handler, channel, reason_code,
             reason_message, reason_stack, attempts, first_attempt_at, dead_lettered_at, dead_lettered_ms, headers, body,
             message_key, deliver_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
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
        toEpoch(record.deadLetteredAt),
        JSON.stringify(m.headers),
        m.body,
        m.key ?? null,
        m.deliverAt ?? null,
      );
    }
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> {
    const db = this.#connection.db;
    const { where, params } = whereOf(filter);
    params.push(Math.max(0, Math.floor(filter.limit ?? 1_000)), Math.max(0, Math.floor(filter.offset ?? 0)));
    const sql = `SELECT * FROM sy_dead_letters ${where} ORDER BY dead_lettered_ms, rowid LIMIT ? OFFSET ?`;
    const rows = guard(ErrorCode.TransportUnavailable, 'cannot list dead letters', () =>
      db.prepare(sql).all(...params),
    ) as Row[];
    return rows.map(toRecord);
  }

  async count(filter: DeadLetterFilter = {}): Promise<number> {
    const db = this.#connection.db;
    const { where, params } = whereOf(filter);
    const row = guard(ErrorCode.TransportUnavailable, 'cannot count dead letters', () =>
      db.prepare(`SELECT COUNT(*) AS n FROM sy_dead_letters ${where}`).get(...params),
    ) as { n: number };
    return row.n;
  }

  async get(id: string): Promise<DeadLetterRecord | undefined> {
    const db = this.#connection.db;
    const row = guard(ErrorCode.TransportUnavailable, `cannot read dead letter '${id}'`, () =>
      db.prepare('SELECT * FROM sy_dead_letters WHERE id = ?').get(id),
    ) as Row | undefined;
    return row === undefined ? undefined : toRecord(row);
  }

  async delete(id: string): Promise<boolean> {
    const db = this.#connection.db;
    const result = guard(ErrorCode.TransportUnavailable, `cannot delete dead letter '${id}'`, () =>
      db.prepare('DELETE FROM sy_dead_letters WHERE id = ?').run(id),
    );
    return result.changes > 0;
  }

  /** Close the file if the store opened it; a borrowed Database stays open. Idempotent. */
  async close(): Promise<void> {
    this.#connection.close();
  }
}

function whereOf(filter: DeadLetterFilter): { where: string; params: Array<string | number> } {
  const clauses: string[] = [];
  const params: Array<string | number> = [];
  const add = (clause: string, value: string | number | undefined) => {
    if (value === undefined) return;
    clauses.push(clause);
    params.push(value);
  };
  add('service = ?', filter.service);
  add('handler = ?', filter.handler);
  add('message_name = ?', filter.messageName);
  add('reason_code = ?', filter.code);
  add('instr(lower(reason_message), lower(?)) > 0', filter.search);
  add('dead_lettered_ms >= ?', filter.since?.getTime());
  add('dead_lettered_ms < ?', filter.until?.getTime());
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

function toEpoch(iso: string): number {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? Date.now() : ms;
}

function toRecord(row: Row): DeadLetterRecord {
  const headers = JSON.parse(row.headers) as Record<string, string>;
  const message = {
    id: row.message_id,
    headers,
    body: new Uint8Array(row.body.buffer, row.body.byteOffset, row.body.byteLength),
    ...(row.message_key === null ? {} : { key: row.message_key }),
    ...(row.deliver_at === null ? {} : { deliverAt: row.deliver_at }),
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

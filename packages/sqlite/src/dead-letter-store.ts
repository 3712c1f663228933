import type { DeadLetterFilter, DeadLetterRecord, DeadLetterStore } from '@switchyard/core';
import {
  checkRetention,
  DEAD_LETTER_COLUMNS,
  type DeadLetterDialect,
  type DeadLetterRetention,
  type DeadLetterRow,
  deadLetterFromRow,
  deadLetterTime,
  deadLetterValues,
  deadLetterWhere,
  ErrorCode,
} from '@switchyard/core/transport';
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

/** How SQLite writes a dead-letter filter. */
const DIALECT: DeadLetterDialect = {
  param: () => '?',
  contains: (p) => `instr(lower(reason_message), lower(${p})) > 0`,
  timeColumn: 'dead_lettered_ms',
  time: (date) => date.getTime(),
};

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
        `INSERT OR IGNORE INTO sy_dead_letters (${DEAD_LETTER_COLUMNS}, dead_lettered_ms)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(...deadLetterValues(record), deadLetterTime(record));
    }
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> {
    const db = this.#connection.db;
    const { where, params } = deadLetterWhere(filter, DIALECT);
    params.push(Math.max(0, Math.floor(filter.limit ?? 1_000)), Math.max(0, Math.floor(filter.offset ?? 0)));
    const sql = `SELECT ${DEAD_LETTER_COLUMNS} FROM sy_dead_letters ${where} ORDER BY dead_lettered_ms, rowid LIMIT ? OFFSET ?`;
    const rows = guard(ErrorCode.TransportUnavailable, 'cannot list dead letters', () =>
      db.prepare(sql).all(...params),
    ) as DeadLetterRow[];
    return rows.map(deadLetterFromRow);
  }

  async count(filter: DeadLetterFilter = {}): Promise<number> {
    const db = this.#connection.db;
    const { where, params } = deadLetterWhere(filter, DIALECT);
    const row = guard(ErrorCode.TransportUnavailable, 'cannot count dead letters', () =>
      db.prepare(`SELECT COUNT(*) AS n FROM sy_dead_letters ${where}`).get(...params),
    ) as { n: number };
    return row.n;
  }

  async get(id: string): Promise<DeadLetterRecord | undefined> {
    const db = this.#connection.db;
    const row = guard(ErrorCode.TransportUnavailable, `cannot read dead letter '${id}'`, () =>
      db.prepare(`SELECT ${DEAD_LETTER_COLUMNS} FROM sy_dead_letters WHERE id = ?`).get(id),
    ) as DeadLetterRow | undefined;
    return row === undefined ? undefined : deadLetterFromRow(row);
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

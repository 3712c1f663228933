import {
  ConfigurationError,
  type Destination,
  ErrorCode,
  type OutboundMessage,
  type OutboxRecord,
  type OutboxStore,
} from '@switchyard/core';
import type { Migration } from '../migrations.js';
import {
  type PostgresStoreOptions,
  type PostgresStoreSource,
  type Queryable,
  StoreConnection,
  wrap,
} from './connection.js';
import { Listener } from './listener.js';

/** Advisory-lock class of the per-key lock taken by an outbox insert (`pg_advisory_xact_lock(class, hash)`). */
const KEY_LOCK_CLASS = 0x5359_4f42; // 'SYOB'

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'sy_outbox table, key lock and NOTIFY triggers',
    sql: (s) => `
      CREATE TABLE ${s}.sy_outbox (
        seq bigint PRIMARY KEY,
        destination_kind text NOT NULL CHECK (destination_kind IN ('send', 'publish')),
        destination text NOT NULL,
        message_id text NOT NULL,
        headers text NOT NULL,
        body bytea NOT NULL,
        message_key text,
        deliver_at bigint,
        created_at timestamptz NOT NULL DEFAULT now(),
        lease_until timestamptz
      );
      CREATE SEQUENCE ${s}.sy_outbox_seq OWNED BY ${s}.sy_outbox.seq;
      CREATE INDEX sy_outbox_key ON ${s}.sy_outbox (message_key, seq) WHERE message_key IS NOT NULL;
      -- Records of one key get their seq only once the previous writer of that key committed,
      -- so seq order is commit order per key and the relay can forward in seq order.
      CREATE FUNCTION ${s}.sy_outbox_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.message_key IS NOT NULL THEN
          PERFORM pg_advisory_xact_lock(${KEY_LOCK_CLASS}, hashtext(TG_TABLE_SCHEMA || '.' || NEW.message_key));
        END IF;
        NEW.seq := nextval('${s}.sy_outbox_seq');
        RETURN NEW;
      END $$;
      CREATE TRIGGER sy_outbox_before_insert BEFORE INSERT ON ${s}.sy_outbox
        FOR EACH ROW EXECUTE FUNCTION ${s}.sy_outbox_before_insert();
      CREATE FUNCTION ${s}.sy_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify(TG_TABLE_SCHEMA || '.sy_outbox', '');
        RETURN NULL;
      END $$;
      CREATE TRIGGER sy_outbox_notify AFTER INSERT ON ${s}.sy_outbox
        FOR EACH STATEMENT EXECUTE FUNCTION ${s}.sy_outbox_notify();`,
  },
];

/** Options of {@link PostgresOutboxStore}. */
export interface PostgresOutboxStoreOptions extends PostgresStoreOptions {
  /**
   * How long records handed to a relay stay reserved for it (default 30,000 ms). A relay that dies
   * leaves its records to the others after this; one slower than this may see them forwarded twice.
   */
  readonly leaseMs?: number;
}

interface Row {
  seq: string;
  destination_kind: string;
  destination: string;
  message_id: string;
  headers: string;
  body: Buffer;
  message_key: string | null;
  deliver_at: string | null;
}

/**
 * A transactional outbox in table `sy_outbox` of a PostgreSQL schema (default `switchyard`).
 *
 * Write side: {@link add} runs one INSERT on the caller's own connection, inside the caller's
 * `BEGIN … COMMIT`, so the business rows and the outgoing messages commit or roll back together.
 * It takes a `pg` `PoolClient`/`Client`, or any object with `query(text, params)` (an adapter over
 * a query builder's transaction, see the docs). Records of one message key get increasing `seq` in
 * commit order (the insert waits for another open transaction that added the same key).
 *
 * Read side ({@link OutboxStore}, used by core's relay, which forwards through the service map to
 * any transport): `pending` leases up to `limit` records with `FOR UPDATE SKIP LOCKED`, oldest
 * first, skipping a record while an earlier record of its key is leased to another relay — so
 * any number of relays (processes) run at once, each record goes to one of them, and records of
 * one key are forwarded in order. `markForwarded` deletes; `release` returns records of a failed
 * forward. A relay that dies after forwarding and before deleting leaves its records to be
 * forwarded again after `leaseMs`: the receivers' inbox removes those duplicates (same message
 * ids). `waitForRecords` wakes on LISTEN/NOTIFY (a statement trigger notifies at commit).
 *
 * Driver errors reject as TransportError (`SY_SEND_FAILED` for `add`, so the caller rolls back);
 * every method rejects with `SY_CLOSED` after `close`.
 */
export class PostgresOutboxStore implements OutboxStore {
  readonly #db: StoreConnection;
  readonly #leaseMs: number;
  readonly #listener: Listener;

  /**
   * `source`: a `postgres://` URL (the store opens a pool and ends it on `close`; `?schema=name`
   * picks the schema) or the application's `pg.Pool` (borrowed, left open). The pool serves the
   * relay and the migration, never `add`. Throws a ConfigurationError for a bad source or option.
   */
  constructor(source: PostgresStoreSource, options: PostgresOutboxStoreOptions = {}) {
    this.#db = new StoreConnection('PostgresOutboxStore', source, options, 'outbox', MIGRATIONS);
    this.#leaseMs = options.leaseMs ?? 30_000;
    if (!Number.isInteger(this.#leaseMs) || this.#leaseMs < 1) {
      throw new ConfigurationError(
        `PostgresOutboxStore: 'leaseMs' must be a positive integer, got ${String(options.leaseMs)}`,
      );
    }
    this.#listener = new Listener(this.#db, `${this.#db.schemaName}.sy_outbox`);
  }

  /**
   * Create or migrate the outbox table now (it is done on first use otherwise). Call it at start-up
   * when the first `add` would run inside a transaction that cannot wait for a migration.
   */
  migrate(): Promise<void> {
    return this.#db.ready();
  }

  /**
   * Store outbound messages (from `prepareCommand`/`prepareEvent`) with one INSERT on `tx`, the
   * caller's connection: inside the caller's transaction they commit or roll back with it.
   * Rejects with TransportError `SY_SEND_FAILED` (then roll the transaction back).
   */
  async add(tx: Queryable, outbound: OutboundMessage | readonly OutboundMessage[]): Promise<void> {
    const list: readonly OutboundMessage[] = isList(outbound) ? outbound : [outbound];
    if (list.length === 0) return;
    await this.#db.ready();
    const values: unknown[] = [];
    const rows: string[] = [];
    for (const { destination, message } of list) {
      const n = values.length;
      rows.push(`($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6}, $${n + 7})`);
      values.push(
        destination.kind,
        destination.kind === 'send' ? destination.service : destination.routingKey,
        message.id,
        JSON.stringify(message.headers),
        Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength),
        message.key ?? null,
        message.deliverAt ?? null,
      );
    }
    try {
      await tx.query(
        `INSERT INTO ${this.#db.schema}.sy_outbox (destination_kind, destination, message_id, headers, body, message_key, deliver_at)
         VALUES ${rows.join(', ')}`,
        values,
      );
    } catch (error) {
      throw wrap('PostgresOutboxStore', ErrorCode.SendFailed, 'cannot write to the outbox', error);
    }
  }

  /** Lease and return up to `limit` records, oldest first (see the class comment for the rules). */
  async pending(limit: number): Promise<OutboxRecord[]> {
    const s = this.#db.schema;
    const result = await this.#db.query<Row>(
      ErrorCode.TransportUnavailable,
      'cannot read the outbox',
      `WITH candidates AS (
         SELECT seq, message_key FROM ${s}.sy_outbox
          WHERE lease_until IS NULL OR lease_until < now()
          ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED
       ), eligible AS (
         SELECT c.seq FROM candidates c
          WHERE c.message_key IS NULL OR NOT EXISTS (
            SELECT 1 FROM ${s}.sy_outbox o
             WHERE o.message_key = c.message_key AND o.seq < c.seq
               AND o.seq NOT IN (SELECT seq FROM candidates))
       )
       UPDATE ${s}.sy_outbox SET lease_until = now() + make_interval(secs => $2::double precision / 1000)
         FROM eligible WHERE sy_outbox.seq = eligible.seq
       RETURNING sy_outbox.seq, destination_kind, destination, message_id, headers, body, message_key, deliver_at`,
      [Math.max(0, Math.floor(limit)), this.#leaseMs],
    );
    return result.rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map(toRecord);
  }

  /** Delete forwarded records. Idempotent. */
  async markForwarded(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#db.query(
      ErrorCode.TransportUnavailable,
      'cannot update the outbox',
      `DELETE FROM ${this.#db.schema}.sy_outbox WHERE seq = ANY($1::bigint[])`,
      [ids],
    );
  }

  /** End the lease of records whose forward failed, so that the next `pending` offers them again. Idempotent. */
  async release(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#db.query(
      ErrorCode.TransportUnavailable,
      'cannot update the outbox',
      `UPDATE ${this.#db.schema}.sy_outbox SET lease_until = NULL WHERE seq = ANY($1::bigint[])`,
      [ids],
    );
  }

  /**
   * Resolves when a transaction that added records commits (LISTEN/NOTIFY on one connection the
   * store keeps), when `signal` aborts, or at once when the listening connection cannot be opened
   * or fails (the relay then polls).
   */
  waitForRecords(signal: AbortSignal): Promise<void> {
    return this.#listener.wait(signal);
  }

  /** Stop listening, wake waiters; end the pool if the store opened it. Idempotent. */
  async close(): Promise<void> {
    await this.#listener.close();
    await this.#db.close();
  }
}

/** Read a stored record back (also for tests and tools that inspect the table). */
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
    ...(row.deliver_at === null ? {} : { deliverAt: Number(row.deliver_at) }),
  };
  return { id: String(row.seq), outbound: { destination, message } };
}

function isList(value: OutboundMessage | readonly OutboundMessage[]): value is readonly OutboundMessage[] {
  return Array.isArray(value);
}

import type { SqliteDatabase } from './database.js';

/**
 * `visible_at` value of a keyed message queued behind an earlier message with
 * the same key: it never becomes visible by time, only when the earlier one is
 * acked (see queue-statements.ts). Far beyond any real epoch millisecond.
 */
export const BLOCKED_AT = 9_000_000_000_000_000;

/**
 * The transport's tables, created idempotently.
 *
 * - `sy_messages`: one row per message per channel. `visible_at` is when the
 *   row may be claimed: the send time or `deliverAt`, the lease expiry while a
 *   consumer holds it (`lease_owner` set), or {@link BLOCKED_AT} behind an
 *   earlier message of the same key. `due_at` keeps the original due time.
 *   Ack deletes the row. `seq` (the rowid) is send order.
 * - `sy_subscriptions`: which routing patterns each channel receives.
 * - `sy_meta`: a `subscriptions_version` counter bumped by every provision
 *   that changes a subscription, so publishers refresh their cache cheaply.
 * - `sy_reply_channels`: the open reply channels (request/reply), each with the
 *   epoch ms it was last seen alive and its expiry (see reply-book.ts).
 */
export const TRANSPORT_SCHEMA = `
CREATE TABLE IF NOT EXISTS sy_messages (
  seq INTEGER PRIMARY KEY,
  channel TEXT NOT NULL,
  id TEXT NOT NULL,
  headers TEXT NOT NULL,
  body BLOB NOT NULL,
  key TEXT,
  due_at INTEGER NOT NULL,
  visible_at INTEGER NOT NULL,
  delivery_count INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT
);
CREATE INDEX IF NOT EXISTS sy_messages_ready ON sy_messages (channel, visible_at, seq);
CREATE INDEX IF NOT EXISTS sy_messages_key ON sy_messages (channel, key, seq) WHERE key IS NOT NULL;
CREATE TABLE IF NOT EXISTS sy_subscriptions (
  channel TEXT NOT NULL,
  pattern TEXT NOT NULL,
  PRIMARY KEY (channel, pattern)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sy_meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO sy_meta (name, value) VALUES ('subscriptions_version', 0);
CREATE TABLE IF NOT EXISTS sy_reply_channels (
  channel TEXT PRIMARY KEY,
  seen_at INTEGER NOT NULL,
  expire_ms INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** Create the transport's tables if missing. Safe to run from several processes at once. */
export function createTransportSchema(db: SqliteDatabase): void {
  db.transaction(() => db.exec(TRANSPORT_SCHEMA)).immediate();
}

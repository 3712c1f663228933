import type { Migration } from './migrations.js';

/** Session setting (`off`) that makes the wake-up trigger skip the session's inserts. */
export const WAKE_SETTING = 'switchyard.wake';

/** The `component` under which the transport's migrations are recorded in `sy_migrations`. */
export const TRANSPORT_COMPONENT = 'transport';

/**
 * The NOTIFY channel on which inserts into `schema`'s message table wake consumers. Channel names
 * are at most 63 bytes; two schemas sharing a 55-character prefix only wake each other's
 * consumers for nothing.
 */
export function wakeChannel(schema: string): string {
  return `sy_wake_${schema}`.slice(0, 63);
}

/**
 * The transport's tables, as versioned migrations (run by `migrate`, under an advisory lock).
 *
 * - `sy_messages`: one row per message per channel. `visible_at` is when the row may be claimed:
 *   the send time or `deliverAt`, the lease expiry while a consumer holds it (`lease_owner` set),
 *   the redelivery time after a nack. Ack deletes the row. `seq` is send order.
 * - `sy_messages_ready (channel, visible_at, seq)` serves the claim, `sy_messages_key (channel,
 *   key, seq)` the per-key ordering check (only the oldest row of a key may be claimed).
 * - `sy_reply_channels` (version 2): the open reply channels of request/reply, each with the
 *   time it was last seen alive (the database's clock) and its expiry; see reply-book.ts.
 * - `sy_subscriptions`: the routing patterns of each channel, with the pattern as a regular
 *   expression over `'.' || routing_key`, so that publish fans out in one INSERT … SELECT.
 * - A statement-level trigger NOTIFYs {@link wakeChannel} with each inserted row's channel, so
 *   that rows inserted by hand or by another program wake consumers too; the notification is
 *   delivered when the inserting transaction commits. The transport's own sessions set
 *   {@link WAKE_SETTING} to `off` and notify after their commits instead (see Notifier): a NOTIFY
 *   inside a transaction holds PostgreSQL's notification lock through the commit's WAL flush,
 *   which would serialize every concurrent send.
 */
export function transportMigrations(schema: string): Migration[] {
  const notify = wakeChannel(schema).replace(/'/g, "''");
  return [
    {
      version: 1,
      description: 'channel table, subscriptions, wake-up trigger',
      sql: (s) => `
        CREATE TABLE ${s}.sy_messages (
          seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          channel text NOT NULL,
          id text NOT NULL,
          headers text NOT NULL,
          body bytea NOT NULL,
          key text,
          visible_at timestamptz NOT NULL DEFAULT now(),
          delivery_count integer NOT NULL DEFAULT 0,
          lease_owner text,
          sent_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX sy_messages_ready ON ${s}.sy_messages (channel, visible_at, seq);
        CREATE INDEX sy_messages_key ON ${s}.sy_messages (channel, key, seq) WHERE key IS NOT NULL;
        CREATE TABLE ${s}.sy_subscriptions (
          channel text NOT NULL,
          pattern text NOT NULL,
          regex text NOT NULL,
          PRIMARY KEY (channel, pattern)
        );
        CREATE FUNCTION ${s}.sy_wake() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
          PERFORM pg_notify('${notify}', CASE WHEN octet_length(c) < 7000 THEN c ELSE '' END)
            FROM (SELECT DISTINCT channel AS c FROM sy_new_rows) AS channels;
          RETURN NULL;
        END
        $fn$;
        CREATE TRIGGER sy_messages_wake AFTER INSERT ON ${s}.sy_messages
          REFERENCING NEW TABLE AS sy_new_rows FOR EACH STATEMENT
          WHEN (current_setting('${WAKE_SETTING}', true) IS DISTINCT FROM 'off')
          EXECUTE FUNCTION ${s}.sy_wake();`,
    },
    {
      version: 2,
      description: 'reply channels (request/reply)',
      sql: (s) => `
        CREATE TABLE ${s}.sy_reply_channels (
          channel text PRIMARY KEY,
          seen_at timestamptz NOT NULL DEFAULT now(),
          expire_ms bigint NOT NULL
        );`,
    },
  ];
}

/**
 * A routing pattern (`*` one segment, `#` zero or more; validated by core) as a PostgreSQL
 * regular expression matched against `'.' || routing_key`: every segment carries its leading
 * dot, so `#` is simply "any number of dotted segments". Segments hold only letters, digits,
 * `_`, `-` and `:`, none of them special in a regular expression.
 */
export function patternRegex(pattern: string): string {
  const parts = pattern.split('.').map((part) => {
    if (part === '*') return '\\.[^.]+';
    if (part === '#') return '(\\.[^.]+)*';
    return `\\.${part}`;
  });
  return `^${parts.join('')}$`;
}

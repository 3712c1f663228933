import { type ChannelStats, ErrorCode } from '@switchyard/core/transport';
import { guard, type SqliteDatabase } from './database.js';
import { BLOCKED_AT } from './schema.js';

/**
 * The {@link ChannelStats} fields SQLite fills. Consumers are not among them: a consumer is a
 * polling loop in some process, registered nowhere in the database.
 */
export const SQLITE_CHANNEL_STATS = ['depth', 'inFlight'] as const;

/**
 * Depth and in-flight of each channel, in the order given, from one read-only query on
 * `sy_messages` (a WAL reader: it waits for no writer). `depth` counts rows due now (an expired
 * lease counts again) and keyed rows queued behind an earlier one of their key; `inFlight` the
 * rows a consumer holds under a live lease. Rows delayed into the future (`deliverAt`, a nack's
 * delay) count in neither. A channel without rows reports zeros. Throws a `TransportError`
 * (`SY_TRANSPORT_UNAVAILABLE`) when the database cannot be read.
 */
export function sqliteChannelStats(db: SqliteDatabase, channels: readonly string[]): ChannelStats[] {
  const now = Date.now();
  const rows = guard(ErrorCode.TransportUnavailable, 'cannot read channel counts', () =>
    db
      .prepare(
        `SELECT channel,
                sum(CASE WHEN visible_at <= @now OR visible_at = @blocked THEN 1 ELSE 0 END) AS depth,
                sum(CASE WHEN lease_owner IS NOT NULL AND visible_at > @now THEN 1 ELSE 0 END) AS inFlight
           FROM sy_messages WHERE channel IN (SELECT value FROM json_each(@channels)) GROUP BY channel`,
      )
      .all({ now, blocked: BLOCKED_AT, channels: JSON.stringify(channels) }),
  ) as Array<{ channel: string; depth: number; inFlight: number }>;
  const found = new Map(rows.map((row) => [row.channel, row]));
  return channels.map((channel) => {
    const row = found.get(channel);
    return { channel, depth: row?.depth ?? 0, inFlight: row?.inFlight ?? 0 };
  });
}

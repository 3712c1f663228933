import type { ChannelStats } from '@switchyard/core/transport';
import type pg from 'pg';
import { wrap } from './queue-access.js';

/**
 * The {@link ChannelStats} fields PostgreSQL fills. Consumers are not among them: a consumer
 * is a polling session, not registered anywhere per channel.
 */
export const POSTGRES_CHANNEL_STATS = ['depth', 'inFlight'] as const;

/**
 * Depth and in-flight of each channel, in the order given, from one read-only query on
 * `sy_messages`: `depth` counts rows claimable now (due, and not leased or with an expired
 * lease), `inFlight` the rows a consumer holds under a live lease. Rows delayed into the future
 * (`deliverAt`, a nack's delay) count in neither. A channel without rows reports zeros. Rejects
 * with a `TransportError` (`SY_TRANSPORT_UNAVAILABLE`) when the query fails.
 */
export async function postgresChannelStats(
  pool: pg.Pool,
  quotedSchema: string,
  channels: readonly string[],
): Promise<ChannelStats[]> {
  let rows: Array<{ channel: string; depth: string; in_flight: string }>;
  try {
    ({ rows } = await pool.query(
      `SELECT channel,
              count(*) FILTER (WHERE visible_at <= now()) AS depth,
              count(*) FILTER (WHERE lease_owner IS NOT NULL AND visible_at > now()) AS in_flight
         FROM ${quotedSchema}.sy_messages WHERE channel = ANY($1::text[]) GROUP BY channel`,
      [channels],
    ));
  } catch (error) {
    throw wrap(error, 'PostgreSQL: could not read channel counts');
  }
  const found = new Map(rows.map((row) => [row.channel, row]));
  return channels.map((channel) => {
    const row = found.get(channel);
    return { channel, depth: Number(row?.depth ?? 0), inFlight: Number(row?.in_flight ?? 0) };
  });
}

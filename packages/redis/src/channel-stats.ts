import type { ChannelStats } from '@switchyard/core/transport';
import type { Redis } from 'ioredis';
import { Keys } from './codec.js';

/** The {@link ChannelStats} fields the Redis transport fills. */
export const REDIS_CHANNEL_STATS = ['depth', 'inFlight', 'consumers'] as const;

/**
 * What Redis reports about each channel's stream and its consumer group, in
 * one pipelined round trip (XLEN and XINFO GROUPS per channel):
 * - `inFlight`: the group's pending entries (delivered, not acked);
 * - `depth`: entries not yet delivered to the group, the group's `lag`; where
 *   Redis cannot tell it (null after some deletions), the stream's length
 *   minus the pending entries, which is the same here because acked entries
 *   are deleted at once (XACK + XDEL);
 * - `consumers`: the group's consumers. A consumer deletes itself when it
 *   closes; one of a crashed process counts until maintenance sweeps it.
 * Messages delayed in the channel's sorted set are not counted (not ready).
 * A channel whose stream does not exist yet reports zeros. Read-only.
 */
export async function readChannelStats(conn: Redis, keys: Keys, channels: readonly string[]): Promise<ChannelStats[]> {
  if (channels.length === 0) return [];
  const pipeline = conn.pipeline();
  for (const channel of channels) {
    pipeline.xlen(keys.stream(channel));
    pipeline.xinfo('GROUPS', keys.stream(channel));
  }
  const replies = (await pipeline.exec()) ?? [];
  return channels.map((channel, i) => {
    const [lengthError, length] = replies[2 * i] ?? [];
    const [groupsError, groups] = replies[2 * i + 1] ?? [];
    if (lengthError) throw lengthError;
    if (groupsError) {
      // XINFO GROUPS fails on a key that does not exist: a channel nothing was sent to or provisioned.
      if (/no such key/i.test(groupsError.message)) return { channel, depth: 0, inFlight: 0, consumers: 0 };
      throw groupsError;
    }
    const group = (groups as unknown[][]).map(fields).find((info) => info.name === Keys.group);
    if (group === undefined) return { channel, depth: Number(length), inFlight: 0, consumers: 0 };
    const inFlight = Number(group.pending ?? 0);
    const lag = group.lag;
    const depth = typeof lag === 'number' ? lag : Math.max(0, Number(length) - inFlight);
    return { channel, depth, inFlight, consumers: Number(group.consumers ?? 0) };
  });
}

/** A flat XINFO reply (`name, value, name, value, …`) as an object. */
function fields(reply: unknown[]): Record<string, unknown> {
  const info: Record<string, unknown> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) info[String(reply[i])] = reply[i + 1];
  return info;
}

import type { ChannelStats } from '@switchyard/core/transport';
import type { ConnectionManager } from './connection-manager.js';
import { ReplyCode, replyCode, withChannel } from './ops-channel.js';

/**
 * The {@link ChannelStats} fields RabbitMQ fills. `inFlight` (unacked) is not among them:
 * AMQP's passive `queue.declare` answers only ready messages and consumers; unacked counts
 * need the management plugin's HTTP API, which a broker need not run.
 */
export const RABBITMQ_CHANNEL_STATS = ['depth', 'consumers'] as const;

/**
 * Depth (ready messages) and consumers of each queue, in the order given, from a passive
 * `queue.declare` on a short-lived channel per queue: read-only, never creates a queue, and
 * a missing queue reports zeros (nothing waits in it, nobody consumes it) rather than closing
 * a channel anyone else uses. Counts cover every process attached to the broker. Rejects with
 * a `TransportError` when the broker cannot be asked within `timeoutMs` per queue.
 */
export async function rabbitChannelStats(
  connection: ConnectionManager,
  channels: readonly string[],
  timeoutMs: number,
): Promise<ChannelStats[]> {
  const stats: ChannelStats[] = [];
  for (const channel of channels) {
    stats.push(
      await withChannel(connection, timeoutMs, `read the counts of queue '${channel}'`, async (amqp) => {
        try {
          const { messageCount, consumerCount } = await amqp.checkQueue(channel);
          return { channel, depth: messageCount, consumers: consumerCount };
        } catch (error) {
          if (replyCode(error) !== ReplyCode.notFound) throw error;
          return { channel, depth: 0, consumers: 0 };
        }
      }),
    );
  }
  return stats;
}

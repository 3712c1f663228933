import type { JetStreamManager } from '@nats-io/jetstream';
import type { ChannelStats } from '@switchyard/core/transport';
import { ApiCode, isApiError } from './errors.js';
import type { Names } from './names.js';

/**
 * What JetStream reports about each of `channels`: `depth` is `num_pending`
 * (stored, not yet delivered) and `inFlight` is `num_ack_pending` (delivered,
 * not yet acknowledged — a message nacked with a delay counts until it is
 * delivered again) of the channel's command consumer plus its event consumer.
 * A channel whose consumers do not exist reports zeros. `consumers` is not
 * reported: JetStream does not count the clients pulling from a durable
 * consumer. Two consumer-info requests per channel; read-only.
 */
export async function channelStats(
  jsm: JetStreamManager,
  names: Names,
  channels: readonly string[],
): Promise<ChannelStats[]> {
  return Promise.all(
    channels.map(async (channel) => {
      let depth = 0;
      let inFlight = 0;
      for (const consumer of [names.commandConsumer(channel), names.eventConsumer(channel)]) {
        try {
          const info = await jsm.consumers.info(names.stream, consumer);
          depth += info.num_pending;
          inFlight += info.num_ack_pending;
        } catch (error) {
          if (!isApiError(error, ApiCode.ConsumerNotFound) && !isApiError(error, ApiCode.StreamNotFound)) throw error;
        }
      }
      return { channel, depth, inFlight };
    }),
  );
}

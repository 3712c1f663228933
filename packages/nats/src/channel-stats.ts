import type { ConsumerInfo, JetStreamManager } from '@nats-io/jetstream';
import type { ChannelStats } from '@switchyard/core/transport';
import { ApiCode, isApiError } from './errors.js';
import type { Names } from './names.js';

/** The {@link ChannelStats} fields the NATS transport fills. */
export const NATS_CHANNEL_STATS = ['depth', 'inFlight'] as const;

/**
 * What JetStream reports about each channel, from the info of its two durable
 * consumers (commands, and events when it subscribes), summed: `depth` is
 * `num_pending` (messages matching the consumer's filter not yet delivered),
 * `inFlight` is `num_ack_pending` (delivered, not yet acked). The stream is
 * shared by every channel, so its own state says nothing per channel. Pull
 * clients are not counted by the server, so `consumers` stays absent. A
 * channel without consumers (never provisioned) reports zeros. Read-only.
 */
export async function readChannelStats(
  jsm: JetStreamManager,
  names: Names,
  channels: readonly string[],
): Promise<ChannelStats[]> {
  return Promise.all(
    channels.map(async (channel) => {
      const infos = await Promise.all([
        info(jsm, names, names.commandConsumer(channel)),
        info(jsm, names, names.eventConsumer(channel)),
      ]);
      let depth = 0;
      let inFlight = 0;
      for (const consumer of infos) {
        depth += consumer?.num_pending ?? 0;
        inFlight += consumer?.num_ack_pending ?? 0;
      }
      return { channel, depth, inFlight };
    }),
  );
}

async function info(jsm: JetStreamManager, names: Names, consumer: string): Promise<ConsumerInfo | undefined> {
  try {
    return await jsm.consumers.info(names.stream, consumer);
  } catch (error) {
    if (isApiError(error, ApiCode.ConsumerNotFound) || isApiError(error, ApiCode.StreamNotFound)) return undefined;
    throw error;
  }
}

import type { ChannelStats } from '@switchyard/core/transport';
import type { KafkaClient } from './client.js';

/** The {@link ChannelStats} fields the Kafka transport fills. */
export const KAFKA_CHANNEL_STATS = ['lag'] as const;

/** What the lag of one channel is made of: its topic read by its group, and the events topic if it subscribes. */
export interface LagSources {
  readonly channel: string;
  readonly reads: readonly { readonly groupId: string; readonly topic: string }[];
}

/**
 * The `lag` of each channel: records written and not yet committed by the
 * channel's consumer group, summed over partitions (high watermark − the
 * group's committed offset; where the group never committed, from the log
 * start, as its consumers read from the beginning) and over what the channel
 * reads: its own topic, and the events topic when it subscribes to events
 * (every event counts there, also those its patterns then filter out).
 * Delayed records waiting in the delay topic are not counted. Kafka keeps no
 * count of waiting or in-flight records, so `depth`, `inFlight` and
 * `consumers` stay absent. Read-only; two admin calls per topic.
 */
export async function readChannelStats(client: KafkaClient, sources: readonly LagSources[]): Promise<ChannelStats[]> {
  return Promise.all(
    sources.map(async ({ channel, reads }) => {
      const lags = await Promise.all(reads.map(({ groupId, topic }) => groupLag(client, groupId, topic)));
      return { channel, lag: Number(lags.reduce((sum, lag) => sum + lag, 0n)) };
    }),
  );
}

async function groupLag(client: KafkaClient, groupId: string, topic: string): Promise<bigint> {
  const [ends, committed] = await Promise.all([client.topicOffsets(topic), client.committedOffsets(groupId, topic)]);
  let lag = 0n;
  for (const [partition, { low, high }] of ends) {
    const offset = committed.get(partition) ?? -1n;
    // Never committed (-1) or behind retention: the group would start at the log start.
    const from = offset < low ? low : offset;
    if (high > from) lag += high - from;
  }
  return lag;
}

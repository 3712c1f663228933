import type { ChannelStats } from '../transport/types.js';
import type { MemoryBroker } from './broker.js';

/** The {@link ChannelStats} fields the in-memory transport fills. */
export const MEMORY_CHANNEL_STATS = ['depth', 'inFlight', 'consumers'] as const;

/**
 * What `broker` holds for each of `channels`, in the same order: `depth` counts
 * ready messages (delayed ones wait on the clock and are not counted), `inFlight`
 * the messages taken by a consumer and not yet acked or nacked, `consumers` those
 * attached. A channel that does not exist yet reports zeros: nothing waits in it.
 * Synchronous and exact: every transport on the broker shares these counters.
 */
export function memoryChannelStats(broker: MemoryBroker, channels: readonly string[]): ChannelStats[] {
  return channels.map((channel) => {
    const stats = broker.stats(channel);
    return {
      channel,
      depth: stats?.ready ?? 0,
      inFlight: stats?.inFlight ?? 0,
      consumers: stats?.consumers ?? 0,
    };
  });
}

import type { Attributes, BatchObservableCallback, Meter, Observable } from '@opentelemetry/api';
import type { ChannelStats, Transport } from '../transport/types.js';
import { withTimeout } from '../util/with-timeout.js';

type Field = 'depth' | 'inFlight' | 'consumers' | 'lag';

/**
 * The channel gauges: what the broker reports about a service's own channels
 * (see `Transport.channelStats`). Named in Switchyard's namespace, not under
 * `messaging.`: the messaging semantic conventions define no queue-depth
 * metrics, and names there are reserved for them.
 */
export const CHANNEL_GAUGES: Readonly<Record<Field, { name: string; description: string; unit: string }>> = {
  depth: {
    name: 'switchyard.channel.depth',
    description: 'Messages waiting in the channel, not yet delivered to a consumer (as the broker counts them)',
    unit: '{message}',
  },
  inFlight: {
    name: 'switchyard.channel.in_flight',
    description: 'Messages delivered from the channel and not yet acknowledged, by every consumer',
    unit: '{message}',
  },
  consumers: {
    name: 'switchyard.channel.consumers',
    description: 'Consumers attached to the channel, across all processes',
    unit: '{consumer}',
  },
  lag: {
    name: 'switchyard.channel.lag',
    description: "Records behind the consumer group's committed offsets, summed over partitions (log brokers)",
    unit: '{message}',
  },
};

/** How long one read of the broker may take before a collection gives up on it. */
const READ_TIMEOUT_MS = 5_000;

/** What {@link ChannelGauges} reads and how it labels it. */
export interface ChannelGaugeSource {
  readonly transport: Transport;
  readonly channels: readonly string[];
  /** `messaging.system` of the transport. */
  readonly system: string;
  /** `messaging.consumer.group.name`: the service. */
  readonly group: string;
  /** Reuse one read of the broker for this long (ms); 0 reads at every collection. */
  readonly maxAgeMs: number;
  /** Called when a read fails (the gauges then report nothing until the next read). */
  readonly onError: (error: unknown) => void;
}

/**
 * Observable gauges fed by `Transport.channelStats` of a service's own
 * channels, read when the meter provider collects (not on a timer of ours).
 * One read serves every gauge of a collection, and a read is reused for
 * `maxAgeMs`, failed ones included, so frequent scrapes or several readers
 * never hammer the broker, and a broker that is down is asked once per
 * `maxAgeMs`. Only the fields the transport lists in
 * `capabilities.channelStats` become gauges; a field a read leaves out is not
 * observed (absent, not zero). Attributes: `messaging.system`,
 * `messaging.destination.name` (the channel), `messaging.consumer.group.name`.
 * `close()` unregisters the callback (idempotent).
 */
export class ChannelGauges {
  readonly #source: ChannelGaugeSource;
  readonly #meter: Meter;
  readonly #gauges: Partial<Record<Field, Observable>> = {};
  readonly #attributes: Attributes[];
  readonly #callback: BatchObservableCallback;
  #last: { at: number; read: Promise<ChannelStats[] | undefined> } | undefined;

  constructor(meter: Meter, source: ChannelGaugeSource) {
    this.#meter = meter;
    this.#source = source;
    for (const field of source.transport.capabilities.channelStats ?? []) {
      const { name, description, unit } = CHANNEL_GAUGES[field];
      this.#gauges[field] = meter.createObservableGauge(name, { description, unit });
    }
    this.#attributes = source.channels.map((channel) => ({
      'messaging.system': source.system,
      'messaging.destination.name': channel,
      'messaging.consumer.group.name': source.group,
    }));
    this.#callback = async (result) => {
      const stats = await this.#read();
      if (stats === undefined) return;
      stats.forEach((stat, i) => {
        const attributes = this.#attributes[i];
        if (attributes === undefined) return;
        for (const [field, gauge] of Object.entries(this.#gauges) as [Field, Observable][]) {
          const value = stat[field];
          if (value !== undefined) result.observe(gauge, value, attributes);
        }
      });
    };
    const observables = Object.values(this.#gauges);
    if (observables.length > 0) meter.addBatchObservableCallback(this.#callback, observables);
  }

  /** Stop reporting. Idempotent. */
  close(): void {
    this.#meter.removeBatchObservableCallback(this.#callback, Object.values(this.#gauges));
  }

  #read(): Promise<ChannelStats[] | undefined> {
    const now = Date.now();
    const last = this.#last;
    if (last !== undefined && now - last.at < this.#source.maxAgeMs) return last.read;
    const { transport, channels, onError } = this.#source;
    const read = withTimeout(
      (transport.channelStats as NonNullable<Transport['channelStats']>).call(transport, channels),
      READ_TIMEOUT_MS,
      `channel stats from ${transport.name}`,
    ).catch((error: unknown) => {
      onError(error);
      return undefined;
    });
    this.#last = { at: now, read };
    return read;
  }
}

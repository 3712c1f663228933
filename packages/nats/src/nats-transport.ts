import type { DeadLetterStore } from '@switchyard/core';
import {
  type ChannelStats,
  ConfigurationError,
  type ConnectionState,
  type ConsumeOptions,
  type DeliveryHandler,
  describeError,
  ErrorCode,
  type RoutedMessage,
  type Subscription,
  SwitchyardError,
  type Topology,
  type Transport,
  type TransportCapabilities,
  TransportError,
  type TransportMessage,
  withTimeout,
} from '@switchyard/core/transport';
import { ChannelConsumer } from './channel-consumer.js';
import { NATS_CHANNEL_STATS, readChannelStats } from './channel-stats.js';
import { checkSize } from './codec.js';
import { Connection } from './connection.js';
import { NatsDeadLetterStore } from './dead-letter-store.js';
import { wrapError } from './errors.js';
import { Names } from './names.js';
import { type NatsTransportOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { type Outgoing, Publisher } from './publisher.js';
import { TopologyManager } from './topology.js';

/** `ping()` answers within this bound, whatever the network does. */
const PING_TIMEOUT_MS = 2_000;

/**
 * NATS JetStream transport (nats-server ≥ 2.9 with JetStream; tested on
 * 2.9.10). One stream `<prefix>` with interest retention; a channel is the
 * subject `<prefix>.ch.<channel>` and a durable pull consumer on it; events
 * are published once to `<prefix>.ev.<routing key>` and every channel that
 * subscribes has a durable pull consumer whose filter subject covers its
 * patterns, so the server does the fan-out. See docs/transports/nats.md.
 *
 * - `send`/`publish` resolve once the stream acknowledged every message
 *   (stored on disk, replicated as the stream is configured); a message whose
 *   acknowledgement is lost is re-published with the same `Nats-Msg-Id` and
 *   stored once. A message over `maxMessageBytes` rejects with
 *   `SY_TOO_LARGE`; anything else that fails rejects with `SY_SEND_FAILED`.
 * - A send to a channel that was never provisioned creates its consumer
 *   first, so the stream keeps the message for it.
 * - Deliveries are removed by `ack`; `nack` is a JetStream `-NAK`, with the
 *   delay when one is given. `deliveryCount` is JetStream's delivery count.
 * - Construction does no I/O; the first operation connects. The client
 *   reconnects by itself and consumers resume on their own.
 */
export class NatsTransport implements Transport {
  readonly name = 'nats';
  readonly capabilities: TransportCapabilities;
  readonly #options: ResolvedOptions;
  readonly #names: Names;
  readonly #connection: Connection;
  readonly #topology: TopologyManager;
  readonly #publisher: Publisher;
  readonly #consumers = new Set<ChannelConsumer>();
  #closing: Promise<void> | undefined;

  /** Throws a ConfigurationError when an option is invalid. */
  constructor(options?: NatsTransportOptions) {
    this.#options = resolveOptions(options);
    this.#names = new Names(this.#options.prefix);
    this.#connection = new Connection(this.#options, options?.url ?? 'nats://127.0.0.1:4222');
    this.#topology = new TopologyManager(this.#names, this.#options, () => this.#connection.jsm());
    this.#publisher = new Publisher(
      () => this.#connection.nc(),
      this.#options,
      // No responders: the stream may have been deleted (or the server lost it); declare it again.
      async () => {
        this.#topology.forget();
        await this.#topology.ensureStream();
      },
    );
    // Publishes sent into a connection that died are answered by nobody: re-publish them at once.
    this.#connection.watch((state) => {
      if (state.status === 'connected') this.#publisher.reconnected();
    });
    this.capabilities = {
      // The transport holds a message with a future deliverAt on the broker (nak with delay).
      delayedDelivery: 'native',
      // Parallel handlers and redelivery after nak or ack wait reorder messages.
      orderingPerKey: false,
      maxMessageBytes: this.#options.maxMessageBytes,
      // Interest retention removes a message once every interested consumer acknowledged it.
      replay: false,
      nativeDeadLetter: false,
      patternFiltering: 'server',
      durable: true,
      reconnect: true,
      channelStats: NATS_CHANNEL_STATS,
    };
  }

  /** The prefix in use: stream name and first subject token (tests and tools). */
  get prefix(): string {
    return this.#options.prefix;
  }

  async provision(topology: Topology): Promise<void> {
    this.#assertOpen();
    for (const channel of topology.channels) {
      if (channel.name.length === 0) throw new ConfigurationError('a channel name must not be empty');
    }
    try {
      await this.#topology.ensureStream();
      for (const channel of topology.channels) {
        await this.#topology.ensureChannel(channel.name);
        await this.#topology.provisionEvents(channel.name, channel.subscriptions);
      }
    } catch (error) {
      throw wrapError(error, ErrorCode.TransportUnavailable, 'provision failed');
    }
    const changed = new Set(topology.channels.map((c) => c.name));
    await Promise.all(
      [...this.#consumers].filter((c) => changed.has(c.channel)).map((c) => c.refresh().catch(() => {})),
    );
  }

  async send(channel: string, messages: readonly TransportMessage[]): Promise<void> {
    this.#assertOpen();
    for (const message of messages) checkSize(message, this.#options.maxMessageBytes);
    const subject = this.#names.channelSubject(channel);
    try {
      await this.#topology.ensureChannel(channel);
      await this.#publisher.publish(messages.map((message) => ({ subject, message })));
    } catch (error) {
      throw sendFailed(error, `send to '${channel}' failed`);
    }
  }

  async publish(messages: readonly RoutedMessage[]): Promise<void> {
    this.#assertOpen();
    const batch: Outgoing[] = [];
    for (const message of messages) {
      checkSize(message, this.#options.maxMessageBytes);
      try {
        batch.push({ subject: this.#names.eventSubject(message.routingKey), message });
      } catch (error) {
        throw wrapError(error, ErrorCode.SendFailed, 'publish failed');
      }
    }
    try {
      await this.#topology.ensureStream();
      await this.#publisher.publish(batch);
    } catch (error) {
      throw sendFailed(error, 'publish failed');
    }
  }

  async consume(channel: string, handler: DeliveryHandler, options: ConsumeOptions = {}): Promise<Subscription> {
    this.#assertOpen();
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new ConfigurationError(`concurrency must be a positive integer, got ${concurrency}`);
    }
    const prefetch = options.prefetch ?? Math.max(concurrency, this.#options.defaultPrefetch);
    if (!Number.isInteger(prefetch) || prefetch < 1) {
      throw new ConfigurationError(`prefetch must be a positive integer, got ${prefetch}`);
    }
    const consumer: ChannelConsumer = new ChannelConsumer({
      channel,
      names: this.#names,
      topology: this.#topology,
      js: () => this.#connection.js(),
      options: this.#options,
      handler,
      concurrency,
      prefetch,
      onClosed: () => this.#consumers.delete(consumer),
    });
    this.#consumers.add(consumer);
    try {
      await consumer.start();
    } catch (error) {
      await consumer.close({ drainTimeoutMs: 0 });
      throw wrapError(error, ErrorCode.TransportUnavailable, `consume from '${channel}' failed`);
    }
    return consumer;
  }

  /** Depth and in-flight of each channel's durable consumers (see {@link readChannelStats}). */
  async channelStats(channels: readonly string[]): Promise<ChannelStats[]> {
    try {
      return await readChannelStats(await this.#connection.jsm(), this.#names, channels);
    } catch (error) {
      throw wrapError(error, ErrorCode.TransportUnavailable, 'reading channel stats');
    }
  }

  /** Resolves when the server answers a JetStream request; rejects with SY_TRANSPORT_UNAVAILABLE otherwise, within 2 s. */
  async ping(): Promise<void> {
    try {
      await withTimeout(
        this.#connection.jsm().then((jsm) => jsm.getAccountInfo()),
        PING_TIMEOUT_MS,
        'the NATS server to answer',
      );
    } catch (error) {
      if (error instanceof SwitchyardError && error.code === ErrorCode.Closed) throw error;
      throw new TransportError(
        ErrorCode.TransportUnavailable,
        `nats: ping of ${this.#connection.endpoint} failed: ${describeError(error)}`,
        { cause: error },
      );
    }
  }

  /**
   * The dead letters of `service`, kept in the stream `<prefix>_dlq` (one subject per record) on
   * this transport's connection. Closing the store leaves the transport open.
   */
  deadLetterStore(service: string): DeadLetterStore {
    return new NatsDeadLetterStore({
      service,
      names: this.#names,
      js: () => this.#connection.js(),
      jsm: () => this.#connection.jsm(),
      options: this.#options,
    });
  }

  /**
   * Report the connection's state to `listener`: `connected` on the first connect and every
   * reconnect, `disconnected` when it drops or a first connect fails, `retrying` before each
   * reconnect attempt (every 250 ms, without limit). Until the returned function is called.
   */
  watchConnection(listener: (state: ConnectionState) => void): () => void {
    return this.#connection.watch(listener);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#consumers].map((consumer) => consumer.close()));
    // Sends already accepted finish (or fail) before the connection goes.
    await Promise.race([this.#publisher.idle(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    this.#publisher.close();
    await this.#connection.close();
  }

  #closed = false;

  #assertOpen(): void {
    if (this.#closed) throw new TransportError(ErrorCode.Closed, 'nats transport is closed');
  }
}

/** A failed send is SY_SEND_FAILED (the message may not be stored), unless the transport was closed. */
function sendFailed(error: unknown, what: string): SwitchyardError {
  if (error instanceof SwitchyardError && (error.code === ErrorCode.Closed || error.code === ErrorCode.SendFailed)) {
    return error;
  }
  return new TransportError(ErrorCode.SendFailed, `nats: ${what}: ${describeError(error)}`, { cause: error });
}

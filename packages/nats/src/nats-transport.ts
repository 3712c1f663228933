import type { DeadLetterStore } from '@switchyard/core';
import {
  type ChannelStats,
  ConfigurationError,
  type ConnectionState,
  type ConsumeOptions,
  consumeLimits,
  type DeliveryHandler,
  type EndpointMessage,
  ErrorCode,
  type RoutedMessage,
  type Subscription,
  type Topology,
  type Transport,
  type TransportCapabilities,
  TransportError,
  type TransportMessage,
} from '@switchyard/core/transport';
import { ChannelConsumer, type ChannelConsumerParts } from './channel-consumer.js';
import { channelStats } from './channel-stats.js';
import { checkSize } from './codec.js';
import { Connection } from './connection.js';
import { NatsDeadLetterStore } from './dead-letter-store.js';
import { NatsEndpoints } from './endpoints.js';
import { sendFailed, wrapError } from './errors.js';
import { Names } from './names.js';
import { type NatsTransportOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { type Outgoing, Publisher } from './publisher.js';
import { NatsReplyChannels } from './reply-channels.js';
import { TopologyManager } from './topology.js';

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
  readonly #consumers = new Set<Subscription>();
  readonly #endpoints: NatsEndpoints;
  #closing: Promise<void> | undefined;
  /** Per-instance reply subjects on core NATS, see {@link NatsReplyChannels}. */
  readonly replies: NatsReplyChannels;

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
    this.#endpoints = new NatsEndpoints({
      connection: this.#connection,
      publisher: this.#publisher,
      options: this.#options,
      consumers: this.#consumers,
      consume: (endpoint, handler, consumeOptions, target) => this.#consume(endpoint, handler, consumeOptions, target),
    });
    this.replies = new NatsReplyChannels({
      connection: () => this.#connection.nc(),
      prefix: this.#options.prefix,
      maxMessageBytes: this.#options.maxMessageBytes,
    });
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
      // JetStream counts stored and unacknowledged messages per consumer, not the clients pulling.
      channelStats: ['depth', 'inFlight'],
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
      [...this.#consumers]
        .filter((c): c is ChannelConsumer => c instanceof ChannelConsumer && changed.has(c.channel))
        .map((c) => c.refresh().catch(() => {})),
    );
  }

  async send(channel: string, messages: readonly TransportMessage[]): Promise<void> {
    this.#assertOpen();
    for (const message of messages) checkSize(message, this.#options.maxMessageBytes);
    const subject = this.#names.channelSubject(channel);
    try {
      if (!this.#topology.channelReady(channel)) await this.#topology.ensureChannel(channel);
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

  consume(channel: string, handler: DeliveryHandler, options: ConsumeOptions = {}): Promise<Subscription> {
    return this.#consume(channel, handler, options);
  }

  /**
   * Consume a subject that Switchyard does not own (see `Transport.consumeEndpoint`).
   * `<subject>` (wildcards allowed): the JetStream stream that captures it is found, and the
   * durable pull consumer `sy_ep_<group>` filtered on the subject is created on it if missing,
   * from the stream's first message; at-least-once like a channel (explicit acks, ack wait with
   * progress reports, nak with delay). No stream captures it: rejects with `SY_CONFIGURATION`.
   * `core:<subject>`: a plain core-NATS subscription in queue group `<group>`, at most once
   * (see `CoreSubscription`). The message id is `ce-id`, else the producer's
   * `Nats-Msg-Id`, else `nats:<stream>/<sequence>` (JetStream only).
   */
  async consumeEndpoint(
    endpoint: string,
    handler: DeliveryHandler,
    options: ConsumeOptions & { readonly group?: string } = {},
  ): Promise<Subscription> {
    this.#assertOpen();
    return this.#endpoints.consume(endpoint, handler, options);
  }

  /**
   * Publish raw messages to a subject that Switchyard does not own (see `Transport.sendEndpoint`).
   * `<subject>`: a JetStream publish per message, headers exactly as given, `Nats-Msg-Id` = the
   * message id (the foreign stream drops a copy within its duplicate window); resolves once the
   * stream acknowledged each one, retried like `send`. No stream captures the subject: rejects with
   * `SY_CONFIGURATION` before anything is published. `core:<subject>`: plain core-NATS publishes,
   * resolved once the server has processed them (a flush round trip): delivered, at most once, to
   * whoever subscribes at that moment. Keys and routing keys are not carried.
   */
  async sendEndpoint(endpoint: string, messages: readonly EndpointMessage[]): Promise<void> {
    this.#assertOpen();
    return this.#endpoints.send(endpoint, messages);
  }

  async #consume(
    channel: string,
    handler: DeliveryHandler,
    options: ConsumeOptions,
    endpoint?: ChannelConsumerParts['endpoint'],
  ): Promise<Subscription> {
    this.#assertOpen();
    const { concurrency, prefetch } = consumeLimits(options, (c) => Math.max(c, this.#options.defaultPrefetch));
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
      ...(endpoint ? { endpoint } : {}),
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

  /** See {@link channelStats}: depth and in-flight of each channel's consumers; rejects with SY_TRANSPORT_UNAVAILABLE. */
  async channelStats(channels: readonly string[]): Promise<ChannelStats[]> {
    this.#assertOpen();
    try {
      return await channelStats(await this.#connection.jsm(), this.#names, channels);
    } catch (error) {
      throw wrapError(error, ErrorCode.TransportUnavailable, 'reading channel stats failed');
    }
  }

  /** See {@link Connection.ping}. */
  ping(): Promise<void> {
    return this.#connection.ping();
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
      ...(this.#options.deadLetterRetention ? { retention: this.#options.deadLetterRetention } : {}),
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

import {
  type ChannelStats,
  ConfigurationError,
  type ConnectionState,
  type ConsumeOptions,
  type DeliveryHandler,
  type EndpointMessage,
  ErrorCode,
  type ReplyChannels,
  type RoutedMessage,
  redact,
  type Subscription,
  SwitchyardError,
  type Topology,
  type Transport,
  type TransportCapabilities,
  TransportError,
  type TransportMessage,
  withTimeout,
} from '@switchyard/core/transport';
import { RABBITMQ_CHANNEL_STATS, rabbitChannelStats } from './channel-stats.js';
import { ConnectionManager } from './connection-manager.js';
import { RabbitMqDeadLetterStore } from './dead-letter-store.js';
import { declareExchanges } from './delay.js';
import { withEcotoneBindings } from './ecotone-bindings.js';
import { InFlight } from './in-flight.js';
import { checkExchange, checkQueue, helperName, withChannel, wrap } from './ops-channel.js';
import { checkChannelName, type RabbitMqTransportOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { RabbitReplyChannels } from './reply-channels.js';
import { RabbitSender } from './sender.js';
import { RabbitSubscription } from './subscription.js';
import { TopologyManager } from './topology.js';

/**
 * The RabbitMQ transport (AMQP 0-9-1, amqplib). Topology:
 * - one queue per channel (durable; classic, or quorum by option), filled by
 *   direct sends through the default exchange (routing key = queue name);
 * - one durable topic exchange (default `switchyard`) for events, each channel
 *   queue bound with its subscription patterns (AMQP topic semantics are
 *   Switchyard's: `*` one segment, `#` zero or more);
 * - delay queues per delay bucket for `deliverAt` and `nack({ delayMs })`.
 *
 * Guarantees: sends and publishes resolve after publisher confirms; a send to
 * a channel nobody provisioned declares its queue first (cached), and a
 * message returned unroutable is never dropped silently. After a connection
 * loss the transport reconnects with backoff, consumers re-attach, and
 * unconfirmed messages are published again (so they may arrive twice).
 * Construction does no I/O. See docs/transports/rabbitmq.md.
 */
export class RabbitMqTransport implements Transport {
  readonly name = 'rabbitmq';
  readonly capabilities: TransportCapabilities = {
    delayedDelivery: 'native',
    orderingPerKey: true,
    maxMessageBytes: 128 * 1024 * 1024,
    replay: false,
    nativeDeadLetter: true,
    patternFiltering: 'server',
    durable: true,
    reconnect: true,
    channelStats: RABBITMQ_CHANNEL_STATS,
    wireForms: ['ecotone'],
  };
  readonly #options: ResolvedOptions;
  readonly #connection: ConnectionManager;
  readonly #topology: TopologyManager;
  /** The send/publish path: confirms, delay queues, unroutable returns. */
  readonly #sender: RabbitSender;
  /** Per-instance reply queues with `x-expires`, see {@link RabbitReplyChannels}. */
  readonly replies: ReplyChannels;
  readonly #subscriptions = new Set<RabbitSubscription>();
  readonly #inflight = new InFlight();
  #closing: Promise<void> | undefined;

  /** Throws a ConfigurationError for invalid options; connects on first use. */
  constructor(options: RabbitMqTransportOptions = {}) {
    const resolved = resolveOptions(options);
    this.#options = resolved;
    this.#connection = new ConnectionManager({
      ...resolved,
      setup: (model) => declareExchanges(model, resolved.exchange),
    });
    this.#topology = new TopologyManager(this.#connection, {
      exchange: resolved.exchange,
      queueType: resolved.queueType,
      timeoutMs: resolved.operationTimeoutMs,
    });
    this.#sender = new RabbitSender(this.#connection, this.#topology, resolved);
    this.replies = new RabbitReplyChannels({
      connection: this.#connection,
      exchange: resolved.exchange,
      timeoutMs: resolved.operationTimeoutMs,
      consume: (queue, handler, declare, concurrency) => this.#subscribe(queue, handler, { concurrency }, declare),
      assertOpen: () => this.#assertOpen(),
    });
  }

  /** The topic exchange events are published to. */
  get exchange(): string {
    return this.#options.exchange;
  }

  async provision(topology: Topology): Promise<void> {
    this.#assertOpen();
    await this.#topology.provision(this.#options.wire === 'ecotone' ? withEcotoneBindings(topology) : topology);
  }

  async send(channel: string, messages: readonly TransportMessage[]): Promise<void> {
    this.#assertOpen();
    checkChannelName(channel);
    if (messages.length === 0) return;
    this.#inflight.begin();
    try {
      await this.#sender.send(channel, messages);
    } finally {
      this.#inflight.end();
    }
  }

  /**
   * Publish raw messages to an exchange Switchyard does not own (`''` is the
   * default exchange, where the routing key names a queue), with publisher
   * confirms (see `Transport.sendEndpoint`). Headers go to the header table
   * as given; `content-type` becomes the AMQP property. A missing exchange
   * rejects with `SY_CONFIGURATION`.
   */
  async sendEndpoint(endpoint: string, messages: readonly EndpointMessage[]): Promise<void> {
    this.#assertOpen();
    if (messages.length === 0) return;
    if (endpoint !== '') await checkExchange(this.#connection, endpoint, this.#options.operationTimeoutMs);
    this.#inflight.begin();
    try {
      await this.#sender.sendEndpoint(endpoint, messages);
    } finally {
      this.#inflight.end();
    }
  }

  async publish(messages: readonly RoutedMessage[]): Promise<void> {
    this.#assertOpen();
    if (messages.length === 0) return;
    this.#inflight.begin();
    try {
      await this.#sender.publish(messages);
    } finally {
      this.#inflight.end();
    }
  }

  async consume(channel: string, handler: DeliveryHandler, options: ConsumeOptions = {}): Promise<Subscription> {
    this.#assertOpen();
    checkChannelName(channel);
    return this.#subscribe(channel, handler, options, (again) => {
      if (again) this.#topology.forget(channel);
      return this.#topology.ensureQueue(channel);
    });
  }

  /**
   * Consume an existing queue that Switchyard does not own (see
   * `Transport.consumeEndpoint`): it is checked, never declared; rejects with
   * `SY_CONFIGURATION` when it does not exist. Same reconnects and settlement as `consume`.
   */
  async consumeEndpoint(
    endpoint: string,
    handler: DeliveryHandler,
    options: ConsumeOptions = {},
  ): Promise<Subscription> {
    this.#assertOpen();
    return this.#subscribe(endpoint, handler, options, () =>
      checkQueue(this.#connection, endpoint, this.#options.operationTimeoutMs),
    );
  }

  async #subscribe(
    channel: string,
    handler: DeliveryHandler,
    options: ConsumeOptions,
    ensureQueue: (again: boolean) => Promise<void>,
  ): Promise<Subscription> {
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new ConfigurationError(`consume concurrency must be a positive integer, got ${String(concurrency)}`);
    }
    const prefetch = Math.max(options.prefetch ?? this.#options.prefetch, concurrency);
    if (!Number.isInteger(prefetch) || prefetch > 65_535) {
      throw new ConfigurationError(`consume prefetch must be an integer up to 65535, got ${String(prefetch)}`);
    }
    const subscription = new RabbitSubscription(this.#connection, {
      queue: channel,
      handler,
      concurrency,
      prefetch,
      redelay: (queue, message, count, delayMs) => this.#sender.redelay(queue, message, count, delayMs),
      ensureQueue,
      initialDelayMs: this.#options.initialDelayMs,
      maxDelayMs: this.#options.maxDelayMs,
      timeoutMs: this.#options.operationTimeoutMs,
      onClosed: () => this.#subscriptions.delete(subscription),
    });
    try {
      await subscription.start();
    } catch (error) {
      await subscription.close({ drainTimeoutMs: 0 });
      if (error instanceof SwitchyardError) throw error;
      throw wrap(ErrorCode.TransportUnavailable, `could not consume channel '${channel}'`, error);
    }
    if (this.#closing) {
      // close() began while this consumer attached and did not see it.
      await subscription.close({ drainTimeoutMs: 0 });
      this.#assertOpen();
    }
    this.#subscriptions.add(subscription);
    return subscription;
  }

  /**
   * The dead-letter store of `service`: durable classic queue `<exchange>.dead-letters.<service>`
   * on this broker, over this transport's connection (see {@link RabbitMqDeadLetterStore}).
   */
  deadLetterStore(service: string): RabbitMqDeadLetterStore {
    return new RabbitMqDeadLetterStore({
      connection: this.#connection,
      queue: helperName(this.#options.exchange, 'dead-letters', service),
      timeoutMs: this.#options.operationTimeoutMs,
      ...(this.#options.deadLetterRetention ? { retention: this.#options.deadLetterRetention } : {}),
    });
  }

  /** Ready messages and consumers of each channel's queue; see {@link rabbitChannelStats}. */
  async channelStats(channels: readonly string[]): Promise<ChannelStats[]> {
    this.#assertOpen();
    return rabbitChannelStats(this.#connection, channels, this.#options.operationTimeoutMs);
  }

  /** Reports every connect, loss and scheduled reconnect attempt (with its backoff) of the one AMQP connection. */
  watchConnection(listener: (state: ConnectionState) => void): () => void {
    return this.#connection.watch(listener);
  }

  /**
   * Checks the events exchange. Answers within 2 s: a refused or failed connect attempt rejects at
   * once, a broker that does not answer after 2 s; both with `SY_TRANSPORT_UNAVAILABLE` naming the
   * broker and the error.
   */
  async ping(): Promise<void> {
    this.#assertOpen();
    const timeoutMs = Math.min(this.#options.operationTimeoutMs, 2_000);
    const check = withChannel(
      this.#connection,
      timeoutMs,
      'check the exchange',
      (channel) => channel.checkExchange(this.#options.exchange),
      true,
    );
    try {
      await withTimeout(check, timeoutMs, 'RabbitMQ to answer');
    } catch (error) {
      if (!(error instanceof SwitchyardError) || error.code !== ErrorCode.Timeout) throw error;
      throw new TransportError(
        ErrorCode.TransportUnavailable,
        `RabbitMQ at ${redact(this.#options.url)} did not answer within ${timeoutMs} ms`,
        { cause: error },
      );
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    // Let sends already running get their confirms, within the same bound as a reconnect;
    // with no connection there is nothing to wait for, and they reject once it is closed.
    if (this.#inflight.size > 0 && this.#connection.current !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise((resolve) => {
        timer = setTimeout(resolve, this.#options.operationTimeoutMs);
      });
      await Promise.race([this.#inflight.idle(), bound]);
      clearTimeout(timer);
    }
    await this.#sender.close();
    await this.#connection.close();
  }

  #assertOpen(): void {
    if (this.#closing) throw new TransportError(ErrorCode.Closed, 'the RabbitMQ transport is closed');
  }
}

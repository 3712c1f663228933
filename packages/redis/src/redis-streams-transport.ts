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
  SwitchyardError,
  type Topology,
  type Transport,
  type TransportCapabilities,
  TransportError,
  type TransportMessage,
  withTimeout,
} from '@switchyard/core/transport';
import { BatchedSender } from './batched-sender.js';
import { REDIS_CHANNEL_STATS, readChannelStats } from './channel-stats.js';
import { checkSize, EndpointKeys, Keys } from './codec.js';
import { CommandConnection } from './command-connection.js';
import { RedisDeadLetterStore } from './dead-letter-store.js';
import { appendToEndpoint, checkEndpointStream, ensureEndpointGroup } from './endpoint-streams.js';
import { isBusyGroup, wrapError } from './errors.js';
import { FanOutPublisher } from './fan-out-publisher.js';
import { type RedisStreamsTransportOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { SubscriptionRegistry } from './registry.js';
import { RedisReplyChannels } from './reply-channels.js';
import { StreamConsumer } from './stream-consumer.js';

/**
 * Redis Streams transport (Redis ≥ 6.2; tested on 7.0). One stream per
 * channel, one consumer group per stream, a subscription registry in a hash;
 * see docs/transports/redis.md for the key layout and the guarantees.
 *
 * - `send`/`publish` resolve once Redis executed the Lua script that appended
 *   every message (as durable as the server's persistence settings), and are
 *   idempotent per script call: a call that ioredis re-sends after a reconnect
 *   is not appended twice (a marker key `<prefix>:sent:<token>` with a TTL).
 *   Concurrent sends are merged into one script call per channel per
 *   event-loop turn, concurrent publishes into one per turn (see
 *   BatchedSender), so there is one marker per batch. A message over
 *   `maxMessageBytes` rejects its own call with `SY_TOO_LARGE`; a call that
 *   fails otherwise rejects with `SY_SEND_FAILED`, its messages may or may
 *   not be stored.
 * - Deliveries are removed by `ack` (XACK + XDEL, so the stream never keeps
 *   acknowledged entries and nothing unacknowledged is ever trimmed); `nack`
 *   moves the entry to the stream's tail or, with a delay, to the channel's
 *   delay set. Unsettled deliveries of a consumer that dies are reclaimed after
 *   `leaseMs`.
 * - Construction does no I/O; the first operation connects. ioredis
 *   reconnects by itself and consumers resume on their own.
 */
export class RedisStreamsTransport implements Transport {
  readonly name = 'redis';
  readonly capabilities: TransportCapabilities;
  readonly #options: ResolvedOptions;
  readonly #keys: Keys;
  readonly #registry: SubscriptionRegistry;
  readonly #consumers = new Set<StreamConsumer>();
  readonly #sender: BatchedSender;
  readonly #fanOut: FanOutPublisher;
  readonly #connection: CommandConnection;
  #closing: Promise<void> | undefined;
  /** Per-instance reply streams with a refreshed expiry, see {@link RedisReplyChannels}. */
  readonly replies: RedisReplyChannels;

  /** Throws a ConfigurationError when an option is invalid. */
  constructor(options?: RedisStreamsTransportOptions) {
    this.#options = resolveOptions(options);
    this.#connection = new CommandConnection(this.#options);
    this.#keys = new Keys(this.#options.prefix);
    this.#registry = new SubscriptionRegistry(this.#keys);
    this.#fanOut = new FanOutPublisher({
      keys: this.#keys,
      registry: this.#registry,
      dedupTtlMs: this.#options.sendDedupTtlMs,
      maxMessageBytes: this.#options.maxMessageBytes,
    });
    this.#sender = new BatchedSender({
      // send() opened the connection; a batch flushed while close() waits for it still goes out.
      connection: () => this.#connection.forFlush(),
      keys: this.#keys,
      dedupTtlMs: this.#options.sendDedupTtlMs,
      maxBatch: this.#options.sendChunk,
      maxMessageBytes: this.#options.maxMessageBytes,
      publishBatch: (messages) => this.#fanOut.publish(this.#connection.forFlush(), messages),
    });
    this.replies = new RedisReplyChannels({
      connection: () => this.#connection.get(),
      prefix: this.#options.prefix,
      maxMessageBytes: this.#options.maxMessageBytes,
      blockMs: this.#options.blockMs,
    });
    this.capabilities = {
      delayedDelivery: 'native',
      // Consumers of one group read in parallel and nack re-appends at the tail: no per-key order.
      orderingPerKey: false,
      maxMessageBytes: this.#options.maxMessageBytes,
      // Acked entries are deleted from the stream, so there is no log to re-read.
      replay: false,
      nativeDeadLetter: false,
      patternFiltering: 'server',
      durable: true,
      reconnect: true,
      channelStats: REDIS_CHANNEL_STATS,
    };
  }

  /** The key prefix in use (tests and tools). */
  get prefix(): string {
    return this.#options.prefix;
  }

  async provision(topology: Topology): Promise<void> {
    const conn = this.#connection.get();
    try {
      for (const channel of topology.channels) {
        if (channel.name.length === 0) throw new ConfigurationError('a channel name must not be empty');
        await this.#ensureGroup(channel.name);
      }
      await this.#registry.provision(conn, topology.channels);
    } catch (error) {
      throw wrapError(error, ErrorCode.TransportUnavailable, 'provision failed');
    }
  }

  async send(channel: string, messages: readonly TransportMessage[]): Promise<void> {
    this.#connection.get();
    const { maxMessageBytes } = this.#options;
    // Checked here, not in the batch, so a message that is too large fails only its own send.
    for (const message of messages) checkSize(message, maxMessageBytes);
    try {
      await this.#bounded(this.#sender.send(channel, messages), `send to '${channel}'`);
    } catch (error) {
      throw wrapError(error, ErrorCode.SendFailed, `send to '${channel}' failed`);
    }
  }

  async publish(messages: readonly RoutedMessage[]): Promise<void> {
    this.#connection.get();
    // Checked here, not in the batch, so a message that is too large fails only its own publish.
    for (const message of messages) checkSize(message, this.#options.maxMessageBytes);
    try {
      await this.#bounded(this.#sender.publish(messages), 'publish');
    } catch (error) {
      throw wrapError(error, ErrorCode.SendFailed, 'publish failed');
    }
  }

  /** `work` within `sendTimeoutMs`, else SY_TIMEOUT naming the server (the work itself goes on; see the option). */
  #bounded(work: Promise<void>, what: string): Promise<void> {
    const ms = this.#options.sendTimeoutMs;
    return withTimeout(work, ms, `${this.#connection.endpoint} to confirm a ${what}`).catch((error: unknown) => {
      // withTimeout's own rejection is a plain SwitchyardError; the transport's errors are TransportErrors.
      if (!(error instanceof SwitchyardError) || error instanceof TransportError || error.code !== ErrorCode.Timeout) {
        throw error;
      }
      throw new TransportError(
        ErrorCode.Timeout,
        `redis: ${what} not confirmed within ${ms} ms (sendTimeoutMs); the messages may still be stored`,
        { cause: error },
      );
    });
  }

  /** See {@link CommandConnection.watch}: the command connection's states as ioredis reports them. */
  watchConnection(listener: (state: ConnectionState) => void): () => void {
    return this.#connection.watch(listener);
  }

  /**
   * Append raw entries to a stream Switchyard does not own, by key (see
   * `Transport.sendEndpoint`): each header becomes a field, the body the
   * field `data`; all of one call in one MULTI/EXEC. Creates the stream when
   * it is missing (as XADD does); a key of another type rejects with `SY_CONFIGURATION`.
   */
  sendEndpoint(endpoint: string, messages: readonly EndpointMessage[]): Promise<void> {
    return appendToEndpoint(this.#connection, endpoint, messages, this.#options.maxMessageBytes);
  }

  async consume(channel: string, handler: DeliveryHandler, options: ConsumeOptions = {}): Promise<Subscription> {
    return this.#consume(this.#keys, channel, handler, options, () => this.#ensureGroup(channel));
  }

  /**
   * Consume an existing stream that Switchyard does not own, by its key (see
   * `Transport.consumeEndpoint`). Rejects with `SY_CONFIGURATION` when no
   * stream has that key. The transport's consumer group (`switchyard`) is
   * created on it if missing, from the entries added after that (`$`); a
   * delayed nack parks entries in `<prefix>:delay:endpoint:<key>`.
   */
  async consumeEndpoint(
    endpoint: string,
    handler: DeliveryHandler,
    options: ConsumeOptions = {},
  ): Promise<Subscription> {
    const conn = this.#connection.get();
    await checkEndpointStream(conn, endpoint);
    const keys = new EndpointKeys(this.#keys.prefix);
    return this.#consume(keys, endpoint, handler, options, () => ensureEndpointGroup(conn, endpoint));
  }

  async #consume(
    keys: Keys,
    channel: string,
    handler: DeliveryHandler,
    options: ConsumeOptions,
    ensureGroup: () => Promise<void>,
  ): Promise<Subscription> {
    const conn = this.#connection.get();
    const { concurrency, prefetch } = consumeLimits(options, (concurrency) =>
      Math.max(concurrency, this.#options.defaultPrefetch),
    );
    const blockConn = conn.duplicate({ lazyConnect: true, maxRetriesPerRequest: null });
    blockConn.on('error', (error: Error) => this.#options.onConnectionError(error));
    const consumer: StreamConsumer = new StreamConsumer({
      conn,
      blockConn,
      keys,
      channel,
      options: this.#options,
      handler,
      concurrency,
      prefetch,
      ensureGroup,
      onClosed: () => this.#consumers.delete(consumer),
    });
    this.#consumers.add(consumer);
    try {
      await consumer.start();
    } catch (error) {
      this.#consumers.delete(consumer);
      blockConn.disconnect();
      throw wrapError(error, ErrorCode.TransportUnavailable, `consume from '${channel}' failed`);
    }
    return consumer;
  }

  /**
   * The dead-letter store of `service` on this Redis (hash + sorted set under
   * `<prefix>:dl:<service>`, see {@link RedisDeadLetterStore}), over this transport's connection.
   */
  deadLetterStore(service: string): RedisDeadLetterStore {
    return new RedisDeadLetterStore({
      connection: () => this.#connection.get(),
      prefix: this.#options.prefix,
      service,
      ...(this.#options.deadLetterRetention ? { retention: this.#options.deadLetterRetention } : {}),
    });
  }

  /** Depth, in-flight and consumers of each channel's stream and group (see {@link readChannelStats}). */
  async channelStats(channels: readonly string[]): Promise<ChannelStats[]> {
    try {
      return await readChannelStats(this.#connection.get(), this.#keys, channels);
    } catch (error) {
      throw wrapError(error, ErrorCode.TransportUnavailable, 'reading channel stats failed');
    }
  }

  /** See {@link CommandConnection.ping}. */
  ping(): Promise<void> {
    return this.#connection.ping();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#connection.markClosed();
    await Promise.allSettled([...this.#consumers].map((consumer) => consumer.close()));
    await this.replies.stopAll();
    // Sends already accepted are queued for the next turn: let them reach Redis before QUIT.
    await Promise.race([this.#sender.idle(), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    await this.#connection.quit();
  }

  async #ensureGroup(channel: string): Promise<void> {
    try {
      // From id 0, so messages sent before the first consumer attached are delivered too.
      await this.#connection.get().xgroup('CREATE', this.#keys.stream(channel), Keys.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!isBusyGroup(error)) {
        throw wrapError(error, ErrorCode.TransportUnavailable, `cannot create the consumer group of '${channel}'`);
      }
    }
  }
}

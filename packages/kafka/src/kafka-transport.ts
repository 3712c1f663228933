import {
  type ChannelStats,
  type ConnectionState,
  type ConsumeOptions,
  compilePattern,
  type DeadLetterRetention,
  type DeliveryHandler,
  describeError,
  type EndpointMessage,
  ErrorCode,
  messageSize,
  type RoutedMessage,
  type Subscription,
  type Topology,
  type Transport,
  type TransportCapabilities,
  TransportError,
  type TransportMessage,
  validatePattern,
} from '@switchyard/core/transport';
import { ChannelConsumer, type ChannelSubscriptions } from './channel-consumer.js';
import { KAFKA_CHANNEL_STATS, readChannelStats } from './channel-stats.js';
import type { KafkaClient, OutgoingRecord } from './client.js';
import { KafkaDeadLetterStore } from './dead-letter-store.js';
import { KafkajsClient } from './kafkajs-client.js';
import { type ChannelNames, channelNames } from './names.js';
import { assertTopicName, type KafkaTransportOptions, type ResolvedKafkaOptions, resolveOptions } from './options.js';
import { RecordProducer } from './record-producer.js';
import { KafkaReplyChannels } from './reply-channels.js';
import { InternalHeader, toRecord } from './wire.js';

/**
 * Switchyard transport on Apache Kafka (kafkajs by default, behind the
 * {@link KafkaClient} seam).
 *
 * Topology: one topic per channel (`<prefix>ch.<channel>`) read by the group
 * of the same name; published events go to one events topic, read by one
 * group per subscribed channel (`<prefix>events.<channel>`) that keeps only
 * the events matching the channel's provisioned patterns (core re-checks:
 * `patternFiltering` is `client`). Delays use a per-channel delay topic
 * (`<prefix>delay.<channel>`) whose forwarder re-produces each message to the
 * channel topic when due, so delayed messages never block the channel.
 *
 * Guarantees: sends resolve after acks=all; the key is the partition key, so
 * order per key holds (until a nack re-produces a message at the end); offsets
 * are committed only below messages that were settled; a nack re-produces the
 * message (delivery count + 1, in the `x-sy-delivery-count` header, stripped
 * on delivery) and then counts as settled. An ack is recorded at once and
 * committed asynchronously: a crash before the commit redelivers it (at
 * least once; core's inbox drops the duplicate).
 *
 * Construction does no I/O. `close()` is idempotent; afterwards every call
 * rejects with `SY_CLOSED`.
 */
export class KafkaTransport implements Transport {
  readonly name = 'kafka';
  readonly capabilities: TransportCapabilities;
  readonly #options: ResolvedKafkaOptions;
  readonly #client: KafkaClient;
  readonly #producer: RecordProducer;
  readonly #subscriptions = new Map<string, ChannelSubscriptions>();
  readonly #consumers = new Set<ChannelConsumer>();
  /** Names by channel: a send per message must not rebuild and re-validate them. */
  readonly #names = new Map<string, ChannelNames>();
  /** Topics this transport already ensured, so a send does not wait on the client for them. */
  readonly #readyTopics = new Set<string>();
  /** Sends under way; close lets them finish so each one resolves or rejects on its own merits. */
  #sending = 0;
  #sendsDone: Array<() => void> = [];
  #closed: Promise<void> | undefined;
  readonly #deadLetterRetention: DeadLetterRetention | undefined;
  /** Per-instance reply channels on one reply topic per prefix, see {@link KafkaReplyChannels}. */
  readonly replies: KafkaReplyChannels;

  /** Throws ConfigurationError on invalid options. */
  constructor(options: KafkaTransportOptions) {
    this.#options = resolveOptions(options);
    this.#deadLetterRetention = options.deadLetterRetention;
    this.#client = options.client ?? new KafkajsClient(this.#options);
    this.#producer = new RecordProducer(this.#client, this.#options.maxMessageBytes, this.#options.maxBatchRecords);
    const repliesTopic = `${this.#options.topicPrefix}replies`;
    assertTopicName(repliesTopic, 'the reply topic');
    this.replies = new KafkaReplyChannels({
      client: this.#client,
      produce: (records) => {
        this.#assertOpen();
        return this.#produce(records);
      },
      topic: repliesTopic,
      headerPrefix: this.#options.headerPrefix,
      onError: (error) =>
        this.#options.logger?.({
          level: 'warn',
          message: `kafka reply group ${repliesTopic} could not join; retrying`,
          extra: { error: describeError(error) },
        }),
    });
    this.capabilities = {
      delayedDelivery: 'native',
      orderingPerKey: true,
      maxMessageBytes: this.#options.maxMessageBytes,
      replay: true,
      nativeDeadLetter: false,
      patternFiltering: 'client',
      durable: true,
      reconnect: true,
      channelStats: KAFKA_CHANNEL_STATS,
      wireForms: ['ecotone'],
    };
  }

  /** The resolved options (defaults applied); for diagnostics and tests. */
  get options(): ResolvedKafkaOptions {
    return this.#options;
  }

  async provision(topology: Topology): Promise<void> {
    this.#assertOpen();
    const topics = new Set<string>();
    const prepared = topology.channels.map((channel) => {
      const names = channelNames(this.#options, channel.name);
      for (const pattern of channel.subscriptions) validatePattern(pattern);
      topics.add(names.topic);
      topics.add(names.delayTopic);
      if (channel.subscriptions.length > 0) topics.add(this.#options.eventsTopic);
      return channel;
    });
    // A provisioned service sends (commands, replies, nacks): connect the producer meanwhile, not on the first send.
    this.#client.prepareProducer?.().catch(() => undefined);
    await this.#client.ensureTopics([...topics]);
    for (const channel of prepared) {
      if (channel.subscriptions.length === 0) {
        this.#subscriptions.delete(channel.name);
        continue;
      }
      const matchers = channel.subscriptions.map((pattern) => compilePattern(pattern));
      const since = this.#subscriptions.get(channel.name)?.since ?? Date.now();
      this.#subscriptions.set(channel.name, { since, matches: (key) => matchers.some((match) => match(key)) });
    }
  }

  async send(channel: string, messages: readonly TransportMessage[]): Promise<void> {
    this.#assertOpen();
    if (messages.length === 0) return;
    const names = this.#channelNames(channel);
    const now = Date.now();
    const records = messages.map((message) => {
      this.#assertSize(message);
      const delayed = message.deliverAt !== undefined && message.deliverAt > now;
      return toRecord(
        delayed ? names.delayTopic : names.topic,
        message,
        undefined,
        this.#options.headerPrefix,
        this.#options.wire,
      );
    });
    return this.#produce(records);
  }

  /**
   * Append raw records to a topic Switchyard does not own (see
   * `Transport.sendEndpoint`): headers exactly as given, the key as the
   * record key, acks=all. A missing topic is created, as a broker with
   * auto-creation would.
   */
  async sendEndpoint(endpoint: string, messages: readonly EndpointMessage[]): Promise<void> {
    this.#assertOpen();
    if (messages.length === 0) return;
    assertTopicName(endpoint, 'endpoint');
    const records: OutgoingRecord[] = messages.map((message) => {
      this.#assertSize(message);
      return message.key === undefined
        ? { topic: endpoint, value: message.body, headers: message.headers }
        : { topic: endpoint, key: message.key, value: message.body, headers: message.headers };
    });
    return this.#produce(records);
  }

  async publish(messages: readonly RoutedMessage[]): Promise<void> {
    this.#assertOpen();
    if (messages.length === 0) return;
    const topic = this.#options.eventsTopic;
    const records = messages.map((message) => {
      this.#assertSize(message);
      const { routingKey, ...plain } = message;
      const internal = { [InternalHeader.routingKey]: routingKey };
      return toRecord(topic, plain, internal, this.#options.headerPrefix, this.#options.wire);
    });
    return this.#produce(records);
  }

  async consume(channel: string, handler: DeliveryHandler, options?: ConsumeOptions): Promise<Subscription> {
    return this.#consume(
      channel,
      this.#channelNames(channel),
      () => this.#subscriptions.get(channel),
      handler,
      options,
    );
  }

  /**
   * Consume a topic that Switchyard does not own (see
   * `Transport.consumeEndpoint`), from its beginning for a new group. The
   * consumer group is `<prefix>endpoint.<group>`; a delayed nack parks
   * records in `<prefix>delay.endpoint.<topic>`. Kafka clients cannot tell a
   * missing topic from one still being created, so a missing topic is
   * created (as a broker with auto-creation would) rather than refused.
   */
  async consumeEndpoint(
    endpoint: string,
    handler: DeliveryHandler,
    options?: ConsumeOptions & { readonly group?: string },
  ): Promise<Subscription> {
    const p = this.#options.topicPrefix;
    const group = `${p}endpoint.${options?.group ?? endpoint}`;
    const names: ChannelNames = {
      topic: endpoint,
      delayTopic: `${p}delay.endpoint.${endpoint}`,
      group,
      eventsGroup: `${group}.events`,
      delayGroup: `${group}.delay`,
    };
    assertTopicName(endpoint, 'endpoint');
    assertTopicName(names.delayTopic, `endpoint '${endpoint}' gives delay topic`);
    return this.#consume(endpoint, names, () => undefined, handler, options);
  }

  async #consume(
    channel: string,
    names: ChannelNames,
    subscriptions: () => ChannelSubscriptions | undefined,
    handler: DeliveryHandler,
    options: ConsumeOptions | undefined,
  ): Promise<Subscription> {
    this.#assertOpen();
    const consumer: ChannelConsumer = new ChannelConsumer(
      {
        client: this.#client,
        produce: (records) => this.#producer.produce(records),
        options: this.#options,
        channel,
        names,
        subscriptions,
        onClosed: () => this.#consumers.delete(consumer),
      },
      handler,
      options,
    );
    this.#consumers.add(consumer);
    await consumer.start();
    if (this.#closed) {
      await consumer.close({ drainTimeoutMs: 0 });
      throw closedError();
    }
    return consumer;
  }

  /**
   * The dead-letter store of `service`: compacted topic `<topicPrefix>dead-letters.<service>`
   * on this cluster, read into memory by a consumer of its own (see {@link KafkaDeadLetterStore}).
   * The store has its own connections; closing it never closes the transport.
   */
  deadLetterStore(service: string): KafkaDeadLetterStore {
    const topic = `${this.#options.topicPrefix}dead-letters.${service}`;
    assertTopicName(topic, `service '${service}' gives dead-letter topic`);
    return new KafkaDeadLetterStore({
      kafka: this.#options,
      topic,
      ...(this.#deadLetterRetention ? { retention: this.#deadLetterRetention } : {}),
    });
  }

  /**
   * The consumer-group lag of each channel (see {@link readChannelStats}); the
   * events topic counts for a channel this transport provisioned with
   * subscriptions.
   */
  async channelStats(channels: readonly string[]): Promise<ChannelStats[]> {
    this.#assertOpen();
    const sources = channels.map((channel) => {
      const names = this.#channelNames(channel);
      const reads = [{ groupId: names.group, topic: names.topic }];
      if (this.#subscriptions.has(channel))
        reads.push({ groupId: names.eventsGroup, topic: this.#options.eventsTopic });
      return { channel, reads };
    });
    return readChannelStats(this.#client, sources);
  }

  /**
   * Reports the cluster connection as the client sees it (kafkajs: `connected`
   * once any request was answered, `disconnected` once connects or requests
   * failed and for a second nothing was answered; see `KafkajsClient`). A
   * custom client without `watchConnection` reports nothing. Stops at close.
   */
  watchConnection(listener: (state: ConnectionState) => void): () => void {
    return this.#client.watchConnection?.(listener) ?? (() => undefined);
  }

  async ping(): Promise<void> {
    this.#assertOpen();
    await this.#client.ping();
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.all([...this.#consumers].map((consumer) => consumer.close()));
      await this.replies.stopAll();
      if (this.#sending > 0) await new Promise<void>((resolve) => this.#sendsDone.push(resolve));
      await this.#client.close();
    })();
    return this.#closed;
  }

  async #produce(records: readonly OutgoingRecord[]): Promise<void> {
    this.#sending++;
    try {
      if (!records.every(({ topic }) => this.#readyTopics.has(topic))) {
        const topics = [...new Set(records.map(({ topic }) => topic))];
        await this.#client.ensureTopics(topics);
        for (const topic of topics) this.#readyTopics.add(topic);
      }
      // Batched with the other sends of this turn: core sends one message per call.
      await this.#producer.produce(records);
    } finally {
      if (--this.#sending === 0) for (const done of this.#sendsDone.splice(0)) done();
    }
  }

  #channelNames(channel: string): ChannelNames {
    let names = this.#names.get(channel);
    if (!names) {
      names = channelNames(this.#options, channel);
      this.#names.set(channel, names);
    }
    return names;
  }

  #assertSize(message: TransportMessage): void {
    const size = messageSize(message);
    if (size > this.#options.maxMessageBytes) {
      throw new TransportError(
        ErrorCode.TooLarge,
        `kafka: message ${message.id} is ${size} bytes, over maxMessageBytes ${this.#options.maxMessageBytes}`,
      );
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw closedError();
  }
}

function closedError(): TransportError {
  return new TransportError(ErrorCode.Closed, 'kafka: the transport is closed');
}

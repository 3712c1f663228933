import { ListQueuesCommand, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import {
  type ChannelStats,
  type ConnectionState,
  ConnectionWatch,
  type ConsumeOptions,
  type DeliveryHandler,
  describeError,
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
} from '@switchyard/core/transport';
import { readChannelStats, SQS_CHANNEL_STATS } from './channel-stats.js';
import { type AwsClients, createClients } from './clients.js';
import { SqsConsumer } from './consumer.js';
import { SqsDeadLetterStore } from './dead-letter-store.js';
import { wrapError } from './errors.js';
import { queueName } from './names.js';
import { type ResolvedSqsOptions, resolveOptions, type SqsTransportOptions } from './options.js';
import { Producer } from './producer.js';
import { Provisioner } from './provisioner.js';
import { QueueDirectory, type QueueRef } from './queue-directory.js';
import { SqsReplyChannels } from './reply-channels.js';
import { SubscriptionRegistry } from './subscription-registry.js';
import { sdkAttributes } from './wire.js';

/** The largest message SQS and SNS accept: 256 KiB (body and attributes). */
export const SQS_MAX_MESSAGE_BYTES = 256 * 1024;

/** Options of {@link SqsTransport} plus the error sink of background work. */
export interface SqsTransportConfig extends SqsTransportOptions {
  /** Errors of background work (polling, heartbeats, releases); default: `console.warn`. */
  readonly onError?: (error: Error) => void;
}

interface Connected {
  readonly clients: AwsClients;
  readonly queues: QueueDirectory;
  readonly producer: Producer;
  readonly provisioner: Provisioner;
}

/**
 * Amazon SQS transport: one queue per channel; events fan out through one SNS
 * topic with a filtered subscription per channel queue (`fanout: 'sns'`,
 * default), or straight to the matching queues (`fanout: 'direct'`).
 *
 * Guarantees: `send`/`publish` resolve only after SQS/SNS accepted every
 * entry of every batch, else reject with `SY_SEND_FAILED` naming the refused
 * messages. A delivery is removed only by `ack` (DeleteMessage); unsettled
 * messages come back after the visibility timeout, which a heartbeat extends
 * while the handler runs. Delivery is at least once; ordering per key only in
 * FIFO mode. Construction does no I/O. `close()` is idempotent: it stops
 * every consumer (see {@link SqsConsumer}) and later calls reject with `SY_CLOSED`.
 */
export class SqsTransport implements Transport {
  readonly name = 'sqs';
  readonly capabilities: TransportCapabilities;
  readonly #options: ResolvedSqsOptions;
  readonly #registry: SubscriptionRegistry;
  readonly #onError: (error: Error) => void;
  readonly #consumers = new Set<SqsConsumer>();
  #connected: Connected | undefined;
  #closing: Promise<void> | undefined;
  readonly #connection: ConnectionWatch;
  /** Per-instance reply queues with a heartbeat tag, see {@link SqsReplyChannels}. */
  readonly replies: SqsReplyChannels;

  /** Throws a ConfigurationError for invalid options. */
  constructor(config: SqsTransportConfig = {}) {
    this.#options = resolveOptions(config);
    this.#registry = config.registry ?? new SubscriptionRegistry();
    this.#onError = config.onError ?? ((error) => console.warn(`[switchyard:sqs] ${error.message}`));
    this.#connection = new ConnectionWatch({ endpoint: this.#options.endpoint ?? 'AWS SQS' });
    this.replies = new SqsReplyChannels({
      sqs: () => this.#use().clients.sqs,
      queuePrefix: this.#options.queuePrefix,
      consume: async (queue, handler, concurrency) => this.#consume(this.#use(), queue, handler, { concurrency }),
      onError: this.#onError,
    });
    this.capabilities = {
      // FIFO queues refuse per-message DelaySeconds: core holds early deliveries instead.
      delayedDelivery: this.#options.fifo ? 'emulated' : 'native',
      orderingPerKey: this.#options.fifo,
      maxMessageBytes: SQS_MAX_MESSAGE_BYTES,
      replay: false,
      nativeDeadLetter: true,
      // SNS filter policies approximate `*` (see filter-policy.ts); direct fan-out matches exactly.
      patternFiltering: this.#options.fanout === 'direct' ? 'server' : 'client',
      durable: true,
      reconnect: true,
      channelStats: SQS_CHANNEL_STATS,
      wireForms: ['ecotone'],
    };
  }

  /** The registry used by the direct fan-out mode. */
  get registry(): SubscriptionRegistry {
    return this.#registry;
  }

  async provision(topology: Topology): Promise<void> {
    const { provisioner } = this.#use();
    await provisioner.provision(topology);
    if (this.#options.fanout === 'direct') {
      for (const channel of topology.channels) this.#registry.set(channel.name, channel.subscriptions);
    }
  }

  async send(channel: string, messages: readonly TransportMessage[]): Promise<void> {
    const { queues, producer } = this.#use();
    if (messages.length === 0) return;
    const queue = await this.#resolveForSend(queues, channel);
    await producer.sendToQueue(queue.url, queue.name, messages);
  }

  async publish(messages: readonly RoutedMessage[]): Promise<void> {
    const { queues, producer, provisioner } = this.#use();
    if (messages.length === 0) return;
    if (this.#options.fanout === 'sns') {
      const topicArn = await provisioner.topicArn().catch((error: unknown) => {
        throw wrapError(ErrorCode.SendFailed, 'create the SNS topic', error);
      });
      await producer.publishToTopic(
        topicArn,
        messages.map((message) => ({ message, routingKey: message.routingKey })),
      );
      return;
    }
    const byChannel = new Map<string, RoutedMessage[]>();
    for (const message of messages) {
      for (const channel of this.#registry.channelsFor(message.routingKey)) {
        const list = byChannel.get(channel) ?? [];
        list.push(message);
        byChannel.set(channel, list);
      }
    }
    await Promise.all(
      [...byChannel].map(async ([channel, list]) => {
        const queue = await this.#resolveForSend(queues, channel);
        await producer.sendToQueue(queue.url, queue.name, list, (m) => (m as RoutedMessage).routingKey);
      }),
    );
  }

  /**
   * Send raw messages to an existing queue Switchyard does not own, by name
   * or URL (see `Transport.sendEndpoint`): the body as UTF-8 text, the headers
   * as string message attributes (SQS allows 10), the key as the message
   * group of a FIFO queue (`.fifo`, deduplicated by message id). A missing
   * queue rejects with `SY_CONFIGURATION`.
   */
  async sendEndpoint(endpoint: string, messages: readonly EndpointMessage[]): Promise<void> {
    const connected = this.#use();
    if (messages.length === 0) return;
    const queue = await connected.queues.existing(endpoint);
    const fifo = queue.name.endsWith('.fifo');
    const decoder = new TextDecoder();
    const items = messages.map((message) => {
      const body = decoder.decode(message.body);
      const entry: SendMessageBatchRequestEntry = {
        Id: '',
        MessageBody: body,
        MessageAttributes: sdkAttributes({ ...message.headers }),
      };
      if (fifo) {
        entry.MessageGroupId = message.key ?? 'default';
        entry.MessageDeduplicationId = message.id;
      }
      let bytes = Buffer.byteLength(body);
      for (const [name, value] of Object.entries(message.headers)) bytes += name.length + 6 + Buffer.byteLength(value);
      return { id: message.id, bytes, entry };
    });
    await connected.producer.sendWire(queue.url, queue.name, items);
  }

  async consume(channel: string, handler: DeliveryHandler, options: ConsumeOptions = {}): Promise<Subscription> {
    const connected = this.#use();
    const queue = await connected.queues.resolve(channel).catch((error: unknown) => {
      throw wrapError(ErrorCode.TransportUnavailable, `resolve queue of channel '${channel}'`, error);
    });
    return this.#consume(connected, queue, handler, options);
  }

  /**
   * Consume an existing queue that Switchyard does not own, by name or URL
   * (see `Transport.consumeEndpoint`); rejects with `SY_CONFIGURATION` when
   * it does not exist. A body that is not a CloudEvent reaches core as it is.
   */
  async consumeEndpoint(
    endpoint: string,
    handler: DeliveryHandler,
    options: ConsumeOptions = {},
  ): Promise<Subscription> {
    const connected = this.#use();
    const queue = await connected.queues.existing(endpoint);
    return this.#consume(connected, queue, handler, options, true);
  }

  async #consume(
    connected: Connected,
    queue: QueueRef,
    handler: DeliveryHandler,
    options: ConsumeOptions,
    foreign = false,
  ): Promise<Subscription> {
    const concurrency = options.concurrency ?? 1;
    const prefetch = Math.max(concurrency, options.prefetch ?? Math.max(10, concurrency));
    // close() may have run while the queue was being resolved: attach nothing after it.
    if (this.#closing !== undefined) throw new TransportError(ErrorCode.Closed, 'SQS transport is closed');
    const consumer = new SqsConsumer({
      sqs: connected.clients.sqs,
      producer: connected.producer,
      options: this.#options,
      queue,
      handler,
      concurrency,
      prefetch,
      onError: this.#onError,
      foreign,
    });
    this.#consumers.add(consumer);
    const close = consumer.close.bind(consumer);
    const subscription: Subscription = {
      close: async (closeOptions) => {
        await close(closeOptions);
        this.#consumers.delete(consumer);
      },
    };
    consumer.start();
    return subscription;
  }

  /**
   * The dead-letter store of `service`: a standard queue `<queuePrefix><service>-dead-letters…`
   * on this account, over this transport's SQS client (see {@link SqsDeadLetterStore}).
   */
  deadLetterStore(service: string): SqsDeadLetterStore {
    return new SqsDeadLetterStore({
      sqs: () => this.#use().clients.sqs,
      queueName: queueName(this.#options.queuePrefix, `${service}.dead-letters`, false),
      ...(this.#options.deadLetterRetention ? { retention: this.#options.deadLetterRetention } : {}),
    });
  }

  /** Depth and in-flight of each channel's queue, as SQS approximates them (see {@link readChannelStats}). */
  channelStats(channels: readonly string[]): Promise<ChannelStats[]> {
    const { clients, queues } = this.#use();
    return readChannelStats(clients.sqs, queues, channels);
  }

  /**
   * Reports whether the SQS/SNS endpoint answers. HTTP holds no connection:
   * `connected` once a request (a poll, a send, anything) got an HTTP answer,
   * an error status included; `disconnected` once a request failed before any
   * answer (refused, reset, timed out, after the SDK's retries) and for a second
   * after that none was answered. An idle transport (no consumer polling)
   * learns nothing new. Stops at close.
   */
  watchConnection(listener: (state: ConnectionState) => void): () => void {
    return this.#connection.watch(listener);
  }

  async ping(): Promise<void> {
    const { clients } = this.#use();
    try {
      await clients.sqs.send(new ListQueuesCommand({ MaxResults: 1 }));
    } catch (error) {
      throw wrapError(ErrorCode.TransportUnavailable, `reach SQS at ${this.#options.endpoint ?? 'AWS'}`, error);
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.replies.stopHeartbeats();
      await Promise.all([...this.#consumers].map((consumer) => consumer.close()));
      this.#consumers.clear();
      this.#connection.close();
      this.#connected?.clients.sqs.destroy();
      this.#connected?.clients.sns.destroy();
    })();
    return this.#closing;
  }

  async #resolveForSend(queues: QueueDirectory, channel: string) {
    try {
      return await queues.resolve(channel);
    } catch (error) {
      // A send that never reached SendMessage failed all the same: one code for callers to handle.
      if (error instanceof SwitchyardError && error.code === ErrorCode.Configuration) throw error;
      throw new TransportError(
        ErrorCode.SendFailed,
        `SQS: send to channel '${channel}' failed: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  #use(): Connected {
    if (this.#closing !== undefined) throw new TransportError(ErrorCode.Closed, 'SQS transport is closed');
    if (this.#connected === undefined) {
      const clients = createClients(this.#options, this.#connection);
      const queues = new QueueDirectory(clients.sqs, this.#options);
      this.#connected = {
        clients,
        queues,
        producer: new Producer(clients.sqs, clients.sns, this.#options),
        provisioner: new Provisioner(clients, queues, this.#options),
      };
    }
    return this.#connected;
  }
}

import {
  type ConnectionState,
  ConnectionWatch,
  describeError,
  ErrorCode,
  TransportError,
} from '@switchyard/core/transport';
import type { Admin, Consumer, IHeaders, Producer } from 'kafkajs';
import kafkajs from 'kafkajs';
import type { ConsumerSpec, GroupConsumer, KafkaClient, OutgoingRecord } from './client.js';
import { closed, unavailable } from './kafkajs-errors.js';
import { type MemberHost, startGroupConsumer, watchRequests } from './kafkajs-group-consumer.js';
import { quietLogCreator } from './kafkajs-log.js';
import type { ResolvedKafkaOptions } from './options.js';

const { Kafka, Partitioners, logLevel } = kafkajs;
type KafkaInstance = InstanceType<typeof Kafka>;

/**
 * {@link KafkaClient} on kafkajs 2.x. Connects lazily (the first call that
 * needs a connection opens it) and reconnects through kafkajs's own retry.
 * kafkajs's logging goes to the `logger` option, or nowhere.
 *
 * Its connection state ({@link watchConnection}) is the cluster's, as its
 * requests see it: `connected` once any request of the admin, the producer or
 * a consumer was answered; `disconnected` once a connect attempt or a socket
 * failed, or a request timed out, and for a second after that no request was
 * answered (a cluster with one broker away still serves the others).
 */
export class KafkajsClient implements KafkaClient {
  readonly #options: ResolvedKafkaOptions;
  readonly #kafka: KafkaInstance;
  /** Topics known to exist (true), or the request creating them. */
  readonly #ensured = new Map<string, true | Promise<void>>();
  #admin: Promise<Admin> | undefined;
  #producer: Promise<Producer> | undefined;
  #hasController: Promise<boolean> | undefined;
  readonly #consumers = new Set<Consumer>();
  readonly #memberHost: MemberHost;
  readonly #connection: ConnectionWatch;
  #closed = false;

  constructor(options: ResolvedKafkaOptions) {
    this.#options = options;
    this.#connection = new ConnectionWatch({ endpoint: options.brokers.join(',') });
    const watch = this.#connection;
    this.#kafka = new Kafka({
      brokers: [...options.brokers],
      clientId: options.clientId,
      connectionTimeout: options.connectionTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      retry: {
        retries: options.retry.retries,
        initialRetryTime: options.retry.initialRetryTimeMs,
        maxRetryTime: options.retry.maxRetryTimeMs,
      },
      // At least errors: connection failures are reported only there.
      logLevel: options.logger ? logLevel.INFO : logLevel.ERROR,
      logCreator: quietLogCreator(options.logger, (error) => watch.down(error)),
      ...(options.socketFactory ? { socketFactory: options.socketFactory } : {}),
    });
    this.#memberHost = {
      kafka: this.#kafka,
      options,
      members: this.#consumers,
      isClosed: () => this.#closed,
      connection: watch,
    };
  }

  watchConnection(listener: (state: ConnectionState) => void): () => void {
    return this.#connection.watch(listener);
  }

  async produce(records: readonly OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    const byTopic = new Map<string, { key: string | null; value: Buffer; headers: IHeaders }[]>();
    for (const record of records) {
      let list = byTopic.get(record.topic);
      if (!list) {
        list = [];
        byTopic.set(record.topic, list);
      }
      const value = record.value;
      list.push({
        key: record.key ?? null,
        value: Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        // kafkajs only reads the headers; no copy.
        headers: record.headers as IHeaders,
      });
    }
    const producer = await this.#connectProducer();
    try {
      await producer.sendBatch({
        acks: -1,
        timeout: this.#options.requestTimeoutMs,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    } catch (error) {
      throw new TransportError(
        ErrorCode.SendFailed,
        `kafka: send failed, records may not be stored: ${describeError(error)}`,
        { cause: error },
      );
    }
  }

  async prepareProducer(): Promise<void> {
    await this.#connectProducer();
  }

  ensureTopics(topics: readonly string[]): Promise<void> {
    const waits: Promise<void>[] = [];
    const missing: string[] = [];
    for (const topic of topics) {
      const known = this.#ensured.get(topic);
      if (known === true) continue;
      if (known) waits.push(known);
      else if (!missing.includes(topic)) missing.push(topic);
    }
    if (missing.length > 0) {
      // Shared by every caller until it settles: a burst of first sends to a channel makes one request, not one each.
      const creating = this.#createTopics(missing);
      for (const topic of missing) this.#ensured.set(topic, creating);
      creating.then(
        () => {
          for (const topic of missing) if (this.#ensured.get(topic) === creating) this.#ensured.set(topic, true);
        },
        () => {
          for (const topic of missing) if (this.#ensured.get(topic) === creating) this.#ensured.delete(topic);
        },
      );
      waits.push(creating);
    }
    if (waits.length === 0) return Promise.resolve();
    return waits.length === 1 ? (waits[0] as Promise<void>) : Promise.all(waits).then(() => undefined);
  }

  async #createTopics(missing: readonly string[]): Promise<void> {
    const admin = await this.#connectAdmin();
    try {
      if (await this.#controllerKnown()) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({
            topic,
            numPartitions: this.#options.partitions,
            replicationFactor: this.#options.replicationFactor,
          })),
        });
      } else {
        // No controller (librdkafka's mock): CreateTopics cannot be routed, so let a
        // metadata request auto-create them with the broker's default partition count.
        await admin.fetchTopicMetadata({ topics: [...missing] });
      }
    } catch (error) {
      throw new TransportError(
        ErrorCode.TransportUnavailable,
        `kafka: cannot create topics ${missing.join(', ')}: ${describeError(error)}`,
        { cause: error },
      );
    }
  }

  async committedOffsets(groupId: string, topic: string): Promise<ReadonlyMap<number, bigint>> {
    const admin = await this.#connectAdmin();
    try {
      const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return new Map((result?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    } catch (error) {
      throw unavailable(`cannot read offsets of group ${groupId}`, error);
    }
  }

  async topicOffsets(topic: string): Promise<ReadonlyMap<number, { readonly low: bigint; readonly high: bigint }>> {
    const admin = await this.#connectAdmin();
    try {
      const partitions = await admin.fetchTopicOffsets(topic);
      return new Map(partitions.map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }]));
    } catch (error) {
      if ((error as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION') return new Map();
      throw unavailable(`cannot read offsets of topic ${topic}`, error);
    }
  }

  startConsumer(spec: ConsumerSpec): Promise<GroupConsumer> {
    return startGroupConsumer(this.#memberHost, spec);
  }

  async ping(): Promise<void> {
    const admin = await this.#connectAdmin();
    try {
      await admin.describeCluster();
    } catch (error) {
      throw unavailable('cluster does not answer', error);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#connection.close();
    const admin = this.#admin;
    const producer = this.#producer;
    this.#admin = undefined;
    this.#producer = undefined;
    await Promise.all([
      ...[...this.#consumers].map((c) => c.disconnect().catch(() => undefined)),
      admin?.then((a) => a.disconnect()).catch(() => undefined),
      producer?.then((p) => p.disconnect()).catch(() => undefined),
    ]);
    this.#consumers.clear();
  }

  #connectAdmin(): Promise<Admin> {
    if (this.#closed) return Promise.reject(closed());
    this.#admin ??= (async () => {
      const admin = this.#kafka.admin();
      watchRequests(admin, this.#connection);
      try {
        await admin.connect();
        return admin;
      } catch (error) {
        this.#admin = undefined;
        throw unavailable(`cannot connect to ${this.#options.brokers.join(',')}`, error);
      }
    })();
    return this.#admin;
  }

  #controllerKnown(): Promise<boolean> {
    this.#hasController ??= this.#connectAdmin()
      .then((admin) => admin.describeCluster())
      .then((cluster) => cluster.brokers.some((b) => b.nodeId === cluster.controller))
      .catch((error: unknown) => {
        this.#hasController = undefined;
        throw unavailable('cannot describe the cluster', error);
      });
    return this.#hasController;
  }

  #connectProducer(): Promise<Producer> {
    if (this.#closed) return Promise.reject(closed());
    this.#producer ??= (async () => {
      try {
        const setting = this.#options.idempotent;
        const idempotent = setting === 'auto' ? await this.#controllerKnown() : setting;
        const producer = this.#kafka.producer({
          idempotent,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: true,
          createPartitioner: Partitioners.DefaultPartitioner,
          retry: { retries: this.#options.retry.retries, initialRetryTime: this.#options.retry.initialRetryTimeMs },
        });
        watchRequests(producer, this.#connection);
        await producer.connect();
        return producer;
      } catch (error) {
        this.#producer = undefined;
        if (error instanceof TransportError) throw error;
        throw unavailable(`cannot connect a producer to ${this.#options.brokers.join(',')}`, error);
      }
    })();
    return this.#producer;
  }
}

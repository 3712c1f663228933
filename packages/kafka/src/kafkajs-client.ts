import { describeError, ErrorCode, TransportError } from '@switchyard/core/transport';
import type { Admin, Consumer, IHeaders, KafkaMessage, Producer } from 'kafkajs';
import kafkajs from 'kafkajs';
import type { ConsumerSpec, GroupConsumer, IncomingRecord, KafkaClient, OutgoingRecord } from './client.js';
import { quietLogCreator } from './kafkajs-log.js';
import type { ResolvedKafkaOptions } from './options.js';

const { Kafka, Partitioners, logLevel } = kafkajs;
type KafkaInstance = InstanceType<typeof Kafka>;

/**
 * {@link KafkaClient} on kafkajs 2.x. Connects lazily (the first call that
 * needs a connection opens it) and reconnects through kafkajs's own retry.
 * kafkajs's logging goes to the `logger` option, or nowhere.
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
  #closed = false;

  constructor(options: ResolvedKafkaOptions) {
    this.#options = options;
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
      logLevel: options.logger ? logLevel.INFO : logLevel.NOTHING,
      logCreator: quietLogCreator(options.logger),
    });
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

  async startConsumer(spec: ConsumerSpec): Promise<GroupConsumer> {
    if (this.#closed) throw closed();
    let stopped = false;
    let restarting: Promise<void> | undefined;
    let current: Consumer | undefined;
    // A member that crashed fatally before it became `current` (during its own launch).
    let crashedEarly: Consumer | undefined;
    // kafkajs gives up on a member after a crash it deems fatal (restart: false), e.g. retries
    // exhausted while the brokers were away. Consumers must resume by themselves, so the member
    // is replaced by a new one, with backoff, until one joins and stays or the consumer is stopped.
    const replace = (dead: Consumer) => {
      if (dead !== current) {
        crashedEarly = dead;
        return;
      }
      if (stopped || this.#closed || restarting !== undefined) return;
      restarting = (async () => {
        for (let delay = 250; !stopped && !this.#closed; delay = Math.min(delay * 2, 10_000)) {
          const previous = current as Consumer;
          this.#consumers.delete(previous);
          await previous.disconnect().catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, delay));
          if (stopped || this.#closed) return;
          try {
            current = await this.#launch(spec, replace);
            if (crashedEarly !== current) return;
          } catch (error) {
            this.#options.logger?.({
              level: 'warn',
              message: `kafka consumer ${spec.groupId} could not rejoin; retrying`,
              extra: { error: describeError(error) },
            });
          }
        }
      })().finally(() => {
        restarting = undefined;
      });
    };
    current = await this.#launch(spec, replace);
    if (crashedEarly === current) replace(current);
    let stopping: Promise<void> | undefined;
    return {
      pause: (topic, partitions) => current?.pause([{ topic, partitions: [...partitions] }]),
      resume: (topic, partitions) => current?.resume([{ topic, partitions: [...partitions] }]),
      commit: async (offsets) => {
        try {
          await (current as Consumer).commitOffsets(
            offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })),
          );
        } catch (error) {
          throw unavailable(`commit failed for group ${spec.groupId}`, error);
        }
      },
      stop: () => {
        stopped = true;
        stopping ??= (async () => {
          await restarting;
          const consumer = current as Consumer;
          await consumer.disconnect().catch(() => undefined);
          this.#consumers.delete(consumer);
        })();
        return stopping;
      },
    };
  }

  /** Create, connect, subscribe and run one group member; `onFatal` is told when kafkajs will not restart it. */
  async #launch(spec: ConsumerSpec, onFatal: (consumer: Consumer) => void): Promise<Consumer> {
    if (this.#closed) throw closed();
    const o = this.#options;
    const consumer = this.#kafka.consumer({
      groupId: spec.groupId,
      sessionTimeout: o.sessionTimeoutMs,
      rebalanceTimeout: o.rebalanceTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      maxWaitTimeInMs: o.maxWaitTimeMs,
      allowAutoTopicCreation: true,
      retry: {
        retries: o.retry.retries,
        initialRetryTime: o.retry.initialRetryTimeMs,
        maxRetryTime: o.retry.maxRetryTimeMs,
      },
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => spec.onAssignment(event.payload.memberAssignment));
    consumer.on(consumer.events.CRASH, (event) => {
      o.logger?.({
        level: 'error',
        message: `kafka consumer ${spec.groupId} crashed (restart: ${event.payload.restart})`,
        extra: { error: describeError(event.payload.error) },
      });
      if (!event.payload.restart) onFatal(consumer);
    });
    this.#consumers.add(consumer);
    try {
      await consumer.connect();
      for (const { topic, fromBeginning } of spec.topics) await consumer.subscribe({ topic, fromBeginning });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: spec.partitionsConcurrently,
        eachBatch: async ({ batch, resolveOffset, isRunning, isStale }) => {
          await spec.onBatch(
            { topic: batch.topic, partition: batch.partition, records: batch.messages.map(toIncoming) },
            { markTaken: resolveOffset, isActive: () => isRunning() && !isStale() },
          );
        },
      });
    } catch (error) {
      this.#consumers.delete(consumer);
      await consumer.disconnect().catch(() => undefined);
      throw unavailable(`cannot join consumer group ${spec.groupId}`, error);
    }
    return consumer;
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

function closed(): TransportError {
  return new TransportError(ErrorCode.Closed, 'kafka: the client is closed');
}

function unavailable(what: string, error: unknown): TransportError {
  return new TransportError(ErrorCode.TransportUnavailable, `kafka: ${what}: ${describeError(error)}`, {
    cause: error,
  });
}

function toIncoming(message: KafkaMessage): IncomingRecord {
  const headers: Record<string, string> = {};
  const raw = message.headers;
  for (const name in raw) {
    const entry = raw[name];
    const value = Array.isArray(entry) ? entry[entry.length - 1] : entry;
    if (value !== undefined) headers[name] = typeof value === 'string' ? value : value.toString('utf8');
  }
  const value = message.value ?? Buffer.alloc(0);
  return {
    offset: message.offset,
    key: message.key === null || message.key === undefined ? undefined : message.key.toString('utf8'),
    value: new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
    headers,
    timestamp: Number(message.timestamp),
  };
}

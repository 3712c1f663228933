import { randomUUID } from 'node:crypto';
import {
  countDeadLetters,
  type DeadLetterFilter,
  type DeadLetterRecord,
  type DeadLetterRetention,
  type DeadLetterStore,
  decodeDeadLetter,
  describeError,
  ErrorCode,
  encodeDeadLetter,
  expiredDeadLetters,
  selectDeadLetters,
  TransportError,
} from '@switchyard/core/transport';
import type { Admin, Consumer, Producer } from 'kafkajs';
import kafkajs from 'kafkajs';
import { closed, unavailable } from './kafkajs-errors.js';
import { quietLogCreator } from './kafkajs-log.js';
import type { ResolvedKafkaOptions } from './options.js';

const { Kafka, logLevel } = kafkajs;

/** Options of {@link KafkaDeadLetterStore}. */
export interface KafkaDeadLetterStoreOptions {
  /** The transport's resolved options (brokers, client id, timeouts, retry, logger). */
  readonly kafka: ResolvedKafkaOptions;
  /** The compacted topic holding the records, e.g. `switchyard.dead-letters.order-service`. */
  readonly topic: string;
  /** Optional retention, enforced by tombstones on every `add` (and by `retention.ms` where the topic is created). */
  readonly retention?: DeadLetterRetention;
}

/**
 * Dead letters of one service in a compacted Kafka topic keyed by record id (value: the record as
 * JSON, original body in base64; delete: a tombstone, a null value under the id).
 *
 * - The store reads the whole topic from the beginning with a consumer of its own (a fresh group
 *   that never commits) into a table in memory, and before every read waits until it has
 *   consumed up to the topic's high watermark as of that read: every record written before the
 *   call is seen, from any process. The first call of a store pays for the group join (seconds).
 * - `add` resolves once the record is written with acks=all. It is idempotent on the id within
 *   what this store has read (the first write wins); two processes adding the same id at once
 *   leave the later value, which compaction keeps.
 * - `delete` writes a tombstone (acks=all); compaction removes the record and, after the topic's
 *   `delete.retention.ms`, the tombstone.
 * - Cost: memory for every record in each open store and a full read of the topic per new
 *   store; tens of thousands of records are fine, millions are not.
 * - Topic: created with `cleanup.policy=compact` (and `compact,delete` with `retention.ms` when
 *   `retention.maxAgeMs` is set) where the cluster accepts CreateTopics; a cluster without a
 *   controller (librdkafka's mock) auto-creates it with broker defaults instead. Retention is also
 *   enforced on every `add` by tombstones: expired records and the oldest beyond `maxCount`.
 * - Own connections (admin, producer, consumer); `close` disconnects them and is idempotent;
 *   later calls reject with SY_CLOSED. Errors reject as TransportError.
 */
export class KafkaDeadLetterStore implements DeadLetterStore {
  readonly #options: KafkaDeadLetterStoreOptions;
  readonly #table = new Map<string, DeadLetterRecord>();
  /** Next offset to read, by partition. */
  readonly #position = new Map<number, bigint>();
  #waiters: Array<() => void> = [];
  #started: Promise<{ admin: Admin; producer: Producer; consumer: Consumer }> | undefined;
  #closed = false;

  constructor(options: KafkaDeadLetterStoreOptions) {
    this.#options = options;
  }

  /** The topic holding the records. */
  get topic(): string {
    return this.#options.topic;
  }

  async add(record: DeadLetterRecord): Promise<void> {
    try {
      await this.#caughtUp();
      if (this.#table.has(record.id)) return;
      await this.#write([{ key: record.id, value: Buffer.from(encodeDeadLetter(record)) }]);
      this.#table.set(record.id, record);
      await this.#enforceRetention();
    } catch (error) {
      throw wrap(ErrorCode.SendFailed, `cannot store dead letter '${record.id}'`, error);
    }
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> {
    await this.#read('list dead letters');
    return selectDeadLetters(this.#table.values(), filter);
  }

  async count(filter: DeadLetterFilter = {}): Promise<number> {
    await this.#read('count dead letters');
    return countDeadLetters(this.#table.values(), filter);
  }

  async get(id: string): Promise<DeadLetterRecord | undefined> {
    await this.#read('read a dead letter');
    return this.#table.get(id);
  }

  async delete(id: string): Promise<boolean> {
    await this.#read('delete a dead letter');
    if (!this.#table.has(id)) return false;
    try {
      await this.#write([{ key: id, value: null }]);
    } catch (error) {
      throw wrap(ErrorCode.TransportUnavailable, `cannot delete dead letter '${id}'`, error);
    }
    this.#table.delete(id);
    return true;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const wake of this.#waiters.splice(0)) wake();
    const started = this.#started;
    this.#started = undefined;
    const parts = await started?.catch(() => undefined);
    if (!parts) return;
    await Promise.all([
      parts.consumer.disconnect().catch(() => undefined),
      parts.producer.disconnect().catch(() => undefined),
      parts.admin.disconnect().catch(() => undefined),
    ]);
  }

  async #read(what: string): Promise<void> {
    try {
      await this.#caughtUp();
    } catch (error) {
      throw wrap(ErrorCode.TransportUnavailable, `cannot ${what}`, error);
    }
  }

  async #write(messages: Array<{ key: string; value: Buffer | null }>): Promise<void> {
    const { producer } = await this.#start();
    await producer.send({ topic: this.#options.topic, acks: -1, messages });
  }

  /** Tombstones for what retention removes (nothing without retention). */
  async #enforceRetention(): Promise<void> {
    const doomed = expiredDeadLetters(this.#table.values(), this.#options.retention, Date.now());
    if (doomed.length === 0) return;
    await this.#write(doomed.map((record) => ({ key: record.id, value: null })));
    for (const record of doomed) this.#table.delete(record.id);
  }

  /** Resolves once the table holds everything written to the topic before this call. */
  async #caughtUp(): Promise<void> {
    const { admin } = await this.#start();
    const ends = await admin.fetchTopicOffsets(this.#options.topic);
    const done = () =>
      ends.every(({ partition, high, low }) => high === low || (this.#position.get(partition) ?? -1n) >= BigInt(high));
    while (!done()) {
      if (this.#closed) throw closed();
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  #start(): Promise<{ admin: Admin; producer: Producer; consumer: Consumer }> {
    if (this.#closed) return Promise.reject(closed());
    this.#started ??= this.#connect();
    this.#started.catch(() => {
      this.#started = undefined;
    });
    return this.#started;
  }

  async #connect(): Promise<{ admin: Admin; producer: Producer; consumer: Consumer }> {
    const options = this.#options.kafka;
    const kafka = new Kafka({
      brokers: [...options.brokers],
      clientId: `${options.clientId}-dead-letters`,
      connectionTimeout: options.connectionTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      retry: {
        retries: options.retry.retries,
        initialRetryTime: options.retry.initialRetryTimeMs,
        maxRetryTime: options.retry.maxRetryTimeMs,
      },
      logLevel: options.logger ? logLevel.INFO : logLevel.NOTHING,
      logCreator: quietLogCreator(options.logger),
      ...(options.socketFactory ? { socketFactory: options.socketFactory } : {}),
    });
    const admin = kafka.admin();
    const producer = kafka.producer({ allowAutoTopicCreation: true, idempotent: false });
    const consumer = kafka.consumer({
      groupId: `${this.#options.topic}.reader.${randomUUID()}`,
      sessionTimeout: options.sessionTimeoutMs,
      rebalanceTimeout: options.rebalanceTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      maxWaitTimeInMs: options.maxWaitTimeMs,
    });
    try {
      await admin.connect();
      await this.#ensureTopic(admin);
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topic: this.#options.topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) this.#apply(message.key, message.value);
          const next = BigInt(batch.lastOffset()) + 1n;
          if (next > (this.#position.get(batch.partition) ?? -1n)) this.#position.set(batch.partition, next);
          for (const wake of this.#waiters.splice(0)) wake();
        },
      });
    } catch (error) {
      await Promise.all(
        [consumer.disconnect(), producer.disconnect(), admin.disconnect()].map((p) => p.catch(() => 0)),
      );
      throw unavailable(`cannot open dead-letter topic '${this.#options.topic}'`, error);
    }
    return { admin, producer, consumer };
  }

  #apply(key: Buffer | null, value: Buffer | null): void {
    if (key === null) return;
    const id = key.toString('utf8');
    if (value === null) {
      this.#table.delete(id);
      return;
    }
    try {
      // A later value of the same id (a concurrent add elsewhere) replaces it, as compaction would.
      this.#table.set(id, decodeDeadLetter(value));
    } catch {
      // Not a record: ignored.
    }
  }

  async #ensureTopic(admin: Admin): Promise<void> {
    const topic = this.#options.topic;
    const maxAgeMs = this.#options.retention?.maxAgeMs;
    const cluster = await admin.describeCluster();
    if (cluster.brokers.some((broker) => broker.nodeId === cluster.controller)) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic,
            numPartitions: 1,
            replicationFactor: this.#options.kafka.replicationFactor,
            configEntries: [
              { name: 'cleanup.policy', value: maxAgeMs === undefined ? 'compact' : 'compact,delete' },
              ...(maxAgeMs === undefined ? [] : [{ name: 'retention.ms', value: String(maxAgeMs) }]),
            ],
          },
        ],
      });
    } else {
      // No controller (librdkafka's mock): a metadata request auto-creates it with broker defaults.
      await admin.fetchTopicMetadata({ topics: [topic] });
    }
  }
}

function wrap(code: ErrorCode, what: string, error: unknown): TransportError {
  if (error instanceof TransportError) return error;
  return new TransportError(code, `kafka: ${what}: ${describeError(error)}`, { cause: error });
}

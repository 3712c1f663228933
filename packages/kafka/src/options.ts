import {
  ConfigurationError,
  checkRetention,
  type DeadLetterRetention,
  WIRE_FORMS,
  type WireForm,
} from '@switchyard/core/transport';
import type { ISocketFactory } from 'kafkajs';
import type { KafkaClient } from './client.js';

/** One log line from the Kafka client library. */
export interface KafkaLogEntry {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly message: string;
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** Options of {@link KafkaTransport}; only `brokers` is required. */
export interface KafkaTransportOptions {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[];
  /** Client id sent to the brokers (default `switchyard`). */
  readonly clientId?: string;
  /** Prefix of every topic and group this transport names (default `switchyard.`). */
  readonly topicPrefix?: string;
  /** Topic that carries published events (default `<prefix>events`). */
  readonly eventsTopic?: string;
  /** Partitions of the topics this transport creates (default 3; brokers without a controller use their own default). */
  readonly partitions?: number;
  /** Replication factor of created topics (default: the broker's default). */
  readonly replicationFactor?: number;
  /** Consumer group session timeout in ms (default 30000). */
  readonly sessionTimeoutMs?: number;
  /** Consumer group rebalance timeout in ms (default 60000). */
  readonly rebalanceTimeoutMs?: number;
  /** Heartbeat interval in ms (default 3000; keep it under a third of the session timeout). */
  readonly heartbeatIntervalMs?: number;
  /**
   * Longest a fetch waits on the broker for new records, in ms (default 500). A real broker answers as soon as
   * records arrive; librdkafka's mock cluster holds an empty fetch for the whole wait, so use 100 or less there.
   */
  readonly maxWaitTimeMs?: number;
  /** TCP connect timeout in ms (default 3000). */
  readonly connectionTimeoutMs?: number;
  /** Request timeout in ms (default 30000). */
  readonly requestTimeoutMs?: number;
  /** Client retry policy for broker requests. */
  readonly retry?: {
    readonly retries?: number;
    readonly initialRetryTimeMs?: number;
    readonly maxRetryTimeMs?: number;
  };
  /**
   * Idempotent producer. `auto` (default) enables it when the cluster reports
   * a controller broker; librdkafka's mock cluster does not, and then the
   * producer runs with acks=all and one request in flight, so retries cannot
   * reorder records (a retry may duplicate one; core's inbox drops it).
   */
  readonly idempotent?: boolean | 'auto';
  /** Largest message accepted by `send`/`publish` (default 1_000_000, Kafka's default). */
  readonly maxMessageBytes?: number;
  /**
   * Most records in one produce request (default 1000). Sends made while a
   * request is in flight go out together in the next one, so batches grow
   * with the load up to this cap (and to `maxMessageBytes` per request).
   */
  readonly maxBatchRecords?: number;
  /** Prefetch when `consume` is given none (default max(concurrency, 32)). */
  readonly defaultPrefetch?: number;
  /** Records held by a channel's delay forwarder before it pauses the delay topic (default 10000). */
  readonly maxHeldDelayed?: number;
  /**
   * How CloudEvents attribute headers are named on the records this transport
   * writes: `ce_` (default, the CloudEvents Kafka binding: `ce_id`, `ce_type`, …)
   * or `ce-` (the form Switchyard wrote before). Records in either form are read.
   */
  readonly headerPrefix?: 'ce_' | 'ce-';
  /**
   * Headers written on every record: `cloudevents` (default) or `ecotone`
   * (the same plus Ecotone's distributed-bus headers, `ecotone.distributed.*`,
   * `id`, `timestamp`, `correlationId`, `parentId`, `contentType`, so an
   * Ecotone Kafka channel reads what Switchyard sends). A service map entry's
   * `wire` chooses per target service instead. Ecotone records are read
   * whichever is chosen.
   */
  readonly wire?: WireForm;
  /** Receives the client library's log lines; by default they are dropped. */
  readonly logger?: (entry: KafkaLogEntry) => void;
  /** Use this client instead of the built-in kafkajs one (other client libraries, tests). */
  readonly client?: KafkaClient;
  /** Retention of the dead-letter stores this transport offers (default: keep every record). */
  readonly deadLetterRetention?: DeadLetterRetention;
  /**
   * Opens the socket of every broker connection of the built-in kafkajs client (its
   * `socketFactory`): to go through a proxy, or for tests that cut the network. Brokers are
   * reached at the addresses the cluster advertises, so a proxy must map each of them.
   */
  readonly socketFactory?: ISocketFactory;
}

/** Options with defaults applied. */
export interface ResolvedKafkaOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly topicPrefix: string;
  readonly eventsTopic: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxWaitTimeMs: number;
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly retry: { readonly retries: number; readonly initialRetryTimeMs: number; readonly maxRetryTimeMs: number };
  readonly idempotent: boolean | 'auto';
  readonly maxMessageBytes: number;
  readonly maxBatchRecords: number;
  readonly defaultPrefetch: number;
  readonly maxHeldDelayed: number;
  readonly headerPrefix: 'ce_' | 'ce-';
  readonly wire: WireForm;
  readonly logger: ((entry: KafkaLogEntry) => void) | undefined;
  readonly socketFactory: ISocketFactory | undefined;
}

const TOPIC_CHARS = /^[A-Za-z0-9._-]*$/;
const BROKER = /^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/;

/** Validate and complete options. Throws ConfigurationError saying what to change. */
export function resolveOptions(options: KafkaTransportOptions): ResolvedKafkaOptions {
  if (!Array.isArray(options.brokers) || options.brokers.length === 0) {
    throw new ConfigurationError('kafka: `brokers` must list at least one host:port');
  }
  for (const broker of options.brokers) {
    if (typeof broker !== 'string' || !BROKER.test(broker)) {
      throw new ConfigurationError(`kafka: broker '${String(broker)}' is not host:port`);
    }
  }
  checkRetention('kafka option deadLetterRetention', options.deadLetterRetention);
  const topicPrefix = options.topicPrefix ?? 'switchyard.';
  if (!TOPIC_CHARS.test(topicPrefix) || topicPrefix.length > 100) {
    throw new ConfigurationError(`kafka: topicPrefix '${topicPrefix}' may only hold A-Z a-z 0-9 . _ - (at most 100)`);
  }
  const eventsTopic = options.eventsTopic ?? `${topicPrefix}events`;
  assertTopicName(eventsTopic, 'eventsTopic');
  const sessionTimeoutMs = positiveInt(options.sessionTimeoutMs, 30_000, 'sessionTimeoutMs');
  const heartbeatIntervalMs = positiveInt(
    options.heartbeatIntervalMs,
    Math.min(3000, Math.floor(sessionTimeoutMs / 3)),
    'heartbeatIntervalMs',
  );
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw new ConfigurationError('kafka: heartbeatIntervalMs must be below sessionTimeoutMs (a third of it is usual)');
  }
  const idempotent = options.idempotent ?? 'auto';
  if (idempotent !== 'auto' && typeof idempotent !== 'boolean') {
    throw new ConfigurationError("kafka: idempotent must be true, false or 'auto'");
  }
  const headerPrefix = options.headerPrefix ?? 'ce_';
  if (headerPrefix !== 'ce_' && headerPrefix !== 'ce-') {
    throw new ConfigurationError(
      `kafka: headerPrefix must be 'ce_' (the CloudEvents Kafka binding) or 'ce-', got '${String(headerPrefix)}'`,
    );
  }
  const wire = options.wire ?? 'cloudevents';
  if (!WIRE_FORMS.includes(wire)) {
    throw new ConfigurationError(`kafka: wire must be ${WIRE_FORMS.join(' or ')}, got '${String(wire)}'`);
  }
  if (options.logger !== undefined && typeof options.logger !== 'function') {
    throw new ConfigurationError('kafka: logger must be a function');
  }
  return {
    brokers: [...options.brokers],
    clientId: options.clientId ?? 'switchyard',
    topicPrefix,
    eventsTopic,
    partitions: positiveInt(options.partitions, 3, 'partitions'),
    replicationFactor:
      options.replicationFactor === undefined ? -1 : positiveInt(options.replicationFactor, 1, 'replicationFactor'),
    sessionTimeoutMs,
    rebalanceTimeoutMs: positiveInt(options.rebalanceTimeoutMs, 60_000, 'rebalanceTimeoutMs'),
    heartbeatIntervalMs,
    maxWaitTimeMs: positiveInt(options.maxWaitTimeMs, 500, 'maxWaitTimeMs'),
    connectionTimeoutMs: positiveInt(options.connectionTimeoutMs, 3000, 'connectionTimeoutMs'),
    requestTimeoutMs: positiveInt(options.requestTimeoutMs, 30_000, 'requestTimeoutMs'),
    retry: {
      retries: nonNegativeInt(options.retry?.retries, 5, 'retry.retries'),
      initialRetryTimeMs: positiveInt(options.retry?.initialRetryTimeMs, 300, 'retry.initialRetryTimeMs'),
      maxRetryTimeMs: positiveInt(options.retry?.maxRetryTimeMs, 30_000, 'retry.maxRetryTimeMs'),
    },
    idempotent,
    maxMessageBytes: positiveInt(options.maxMessageBytes, 1_000_000, 'maxMessageBytes'),
    maxBatchRecords: positiveInt(options.maxBatchRecords, 1_000, 'maxBatchRecords'),
    defaultPrefetch: positiveInt(options.defaultPrefetch, 32, 'defaultPrefetch'),
    maxHeldDelayed: positiveInt(options.maxHeldDelayed, 10_000, 'maxHeldDelayed'),
    headerPrefix,
    wire,
    logger: options.logger,
    socketFactory: options.socketFactory,
  };
}

/** Throws ConfigurationError unless `name` is a legal Kafka topic name. */
export function assertTopicName(name: string, what: string): void {
  if (name.length === 0 || name.length > 249 || !TOPIC_CHARS.test(name) || name === '.' || name === '..') {
    throw new ConfigurationError(
      `kafka: ${what} '${name}' is not a valid topic name (A-Z a-z 0-9 . _ -, 1 to 249 characters)`,
    );
  }
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1)
    throw new ConfigurationError(`kafka: ${name} must be a positive integer, got ${String(value)}`);
  return value;
}

function nonNegativeInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0)
    throw new ConfigurationError(`kafka: ${name} must be a non-negative integer, got ${String(value)}`);
  return value;
}

import type { StandardSchemaV1 } from '@standard-schema/spec';
import {
  ConfigurationError,
  describeError,
  ErrorCode,
  PoisonMessageError,
  SwitchyardError,
  TransportError,
} from '@switchyard/core/transport';
import type { ConsumeMessage } from 'amqplib';
import { ConnectionManager } from './connection-manager.js';
import { ReplyCode, replyCode, withChannel } from './ops-channel.js';
import { type RabbitMqTransportOptions, resolveOptions } from './options.js';
import { type RabbitDelivery, RabbitSubscription } from './subscription.js';
import { headerText } from './wire.js';

/** A message from a foreign queue, as it arrived: no Switchyard headers expected. */
export interface ForeignMessage {
  /** The parsed JSON body (bytes as they are when the content type is not JSON). */
  readonly payload: unknown;
  /** Every AMQP header whose value is text, a number or a boolean, as text. */
  readonly headers: Readonly<Record<string, string>>;
  readonly routingKey: string;
  readonly exchange: string;
  readonly messageId?: string;
  readonly contentType?: string;
  /** The broker delivered it before (a consumer failed or disconnected). */
  readonly redelivered: boolean;
}

/** A foreign message turned into a Switchyard message name and a payload of its contract. */
export interface ConvertedMessage<T = unknown> {
  readonly name: string;
  readonly payload: T;
}

/** What to do with a message that could not be used. */
export interface InvalidMessage {
  readonly content: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly routingKey: string;
  /** `SY_DECODE`, `SY_TOO_LARGE` or `SY_VALIDATION`, with the reason in `message`. */
  readonly error: SwitchyardError;
}

/** Options of {@link RabbitMqMessageConsumer}. Give either `convert`, or `messageName` and `schema`. */
export interface RabbitMqMessageConsumerOptions<T>
  extends Pick<
    RabbitMqTransportOptions,
    'url' | 'connectionName' | 'reconnect' | 'operationTimeoutMs' | 'heartbeatSeconds' | 'tls'
  > {
  /** The existing queue to consume; it is checked, never declared. */
  readonly queue: string;
  /** Turn a raw message into a contract message; throw (or reject) to mark it invalid. */
  readonly convert?: (message: ForeignMessage) => ConvertedMessage<T> | Promise<ConvertedMessage<T>>;
  /** With `schema`: the message name every message of this queue gets. */
  readonly messageName?: string;
  /** With `messageName`: a Standard Schema (zod, valibot, arktype, …) the payload must satisfy. */
  readonly schema?: StandardSchemaV1<unknown, T>;
  /** Handle one valid message; resolve to ack it, reject to requeue it. */
  readonly handle: (message: ConvertedMessage<T>, raw: ForeignMessage) => Promise<void>;
  /**
   * Told about each invalid message before it is rejected without requeue
   * (to the queue's dead-letter exchange if it has one, else dropped by the
   * broker). Store it here to keep it. If this rejects, the message is requeued.
   */
  readonly onInvalid?: (message: InvalidMessage) => void | Promise<void>;
  /** Handlers at once. Default 1. */
  readonly concurrency?: number;
  /** Deliveries fetched ahead; default 100, at least `concurrency`. */
  readonly prefetch?: number;
  /** Larger bodies are invalid (`SY_TOO_LARGE`). Default 1 MiB. */
  readonly maxBytes?: number;
}

/**
 * A standalone consumer outside any service; it has no retries, dead letters
 * or inbox of its own. Prefer `service.consumeEndpoint({ endpoint: queue, … })`,
 * which runs a foreign queue through the service's receive pipeline.
 *
 * Consumes a queue Switchyard does not own, whose messages carry plain JSON
 * and no Switchyard headers, and hands each to `handle` as a contract message
 * (via `convert`, or `messageName` + `schema`). Acks after `handle` resolves;
 * requeues when it rejects. A message that cannot be used (not JSON, unsafe
 * JSON, too large, failing `convert` or the schema) never reaches `handle`
 * and never stops the consumer: `onInvalid` is told, then it is rejected
 * without requeue. Reconnects by itself like the transport.
 *
 * `start` resolves once consuming; `close` stops fetching, waits for running
 * handlers (bounded) and returns unsettled messages to the queue. Idempotent.
 */
export class RabbitMqMessageConsumer<T = unknown> {
  readonly #options: RabbitMqMessageConsumerOptions<T>;
  readonly #connection: ConnectionManager;
  readonly #subscription: RabbitSubscription;
  readonly #maxBytes: number;
  #closing: Promise<void> | undefined;

  /** Throws a ConfigurationError for invalid options. */
  constructor(options: RabbitMqMessageConsumerOptions<T>) {
    if (typeof options?.queue !== 'string' || options.queue.length === 0) {
      throw new ConfigurationError('RabbitMqMessageConsumer needs the name of an existing queue (`queue`)');
    }
    if (options.convert === undefined && (options.messageName === undefined || options.schema === undefined)) {
      throw new ConfigurationError('RabbitMqMessageConsumer needs `convert`, or both `messageName` and `schema`');
    }
    if (typeof options.handle !== 'function') throw new ConfigurationError('RabbitMqMessageConsumer needs `handle`');
    const resolved = resolveOptions({ ...options, exchange: 'unused', prefetch: options.prefetch ?? 100 });
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new ConfigurationError(
        `RabbitMqMessageConsumer concurrency must be a positive integer, got ${concurrency}`,
      );
    }
    this.#options = options;
    this.#maxBytes = options.maxBytes ?? 1024 * 1024;
    this.#connection = new ConnectionManager(resolved);
    this.#subscription = new RabbitSubscription(this.#connection, {
      queue: options.queue,
      handler: (delivery) => this.#handle(delivery),
      concurrency,
      prefetch: Math.max(resolved.prefetch, concurrency),
      ensureQueue: () => this.#checkQueue(resolved.operationTimeoutMs),
      initialDelayMs: resolved.initialDelayMs,
      maxDelayMs: resolved.maxDelayMs,
      timeoutMs: resolved.operationTimeoutMs,
      onClosed: () => undefined,
    });
  }

  /** Start consuming; rejects with a TransportError when the queue does not exist or the broker is unreachable. */
  async start(): Promise<void> {
    if (this.#closing) throw new TransportError(ErrorCode.Closed, 'the RabbitMQ message consumer is closed');
    try {
      await this.#subscription.start();
    } catch (error) {
      if (error instanceof SwitchyardError) throw error;
      throw new TransportError(
        ErrorCode.TransportUnavailable,
        `RabbitMQ: could not consume queue '${this.#options.queue}': ${describeError(error)}`,
        { cause: error },
      );
    }
  }

  /** Stop consuming and close the connection. Idempotent. */
  close(options?: { drainTimeoutMs?: number }): Promise<void> {
    this.#closing ??= this.#subscription.close(options).then(() => this.#connection.close());
    return this.#closing;
  }

  async #handle(delivery: RabbitDelivery): Promise<void> {
    const raw = delivery.raw;
    let converted: ConvertedMessage<T>;
    let foreign: ForeignMessage;
    try {
      foreign = this.#foreign(raw);
      converted = await this.#convert(foreign);
    } catch (error) {
      const reason =
        error instanceof SwitchyardError
          ? error
          : new PoisonMessageError(
              ErrorCode.Validation,
              `foreign message rejected by convert: ${describeError(error)}`,
              {
                cause: error,
              },
            );
      await this.#options.onInvalid?.({
        content: raw.content,
        headers: textHeaders(raw),
        routingKey: raw.fields.routingKey,
        error: reason,
      });
      await delivery.reject();
      return;
    }
    await this.#options.handle(converted, foreign);
    await delivery.ack();
  }

  #foreign(raw: ConsumeMessage): ForeignMessage {
    if (raw.content.byteLength > this.#maxBytes) {
      throw new PoisonMessageError(
        ErrorCode.TooLarge,
        `message is ${raw.content.byteLength} bytes, over the limit of ${this.#maxBytes}`,
      );
    }
    const contentType: unknown = raw.properties.contentType;
    const messageId: unknown = raw.properties.messageId;
    const json = typeof contentType !== 'string' || contentType.includes('json');
    const foreign: { -readonly [K in keyof ForeignMessage]: ForeignMessage[K] } = {
      payload: json ? parseJson(raw.content) : raw.content,
      headers: textHeaders(raw),
      routingKey: raw.fields.routingKey,
      exchange: raw.fields.exchange,
      redelivered: raw.fields.redelivered,
    };
    if (typeof messageId === 'string') foreign.messageId = messageId;
    if (typeof contentType === 'string') foreign.contentType = contentType;
    return foreign;
  }

  async #convert(message: ForeignMessage): Promise<ConvertedMessage<T>> {
    if (this.#options.convert) return this.#options.convert(message);
    const schema = this.#options.schema as StandardSchemaV1<unknown, T>;
    const name = this.#options.messageName as string;
    const result = await schema['~standard'].validate(message.payload);
    if (result.issues) {
      const issues = result.issues.map((issue) => {
        const path = issue.path?.map((part) => String(typeof part === 'object' ? part.key : part)).join('.');
        return path ? `${path}: ${issue.message}` : issue.message;
      });
      throw new PoisonMessageError(ErrorCode.Validation, `payload of '${name}' is invalid: ${issues.join('; ')}`);
    }
    return { name, payload: result.value };
  }

  #checkQueue(timeoutMs: number): Promise<void> {
    return checkQueue(this.#connection, this.#options.queue, timeoutMs);
  }
}

/** Resolves when `queue` exists; rejects with a TransportError (`SY_CONFIGURATION`) when it does not. Declares nothing. */
export async function checkQueue(connection: ConnectionManager, queue: string, timeoutMs: number): Promise<void> {
  await withChannel(connection, timeoutMs, `check queue '${queue}'`, async (channel) => {
    try {
      await channel.checkQueue(queue);
    } catch (error) {
      if (replyCode(error) !== ReplyCode.notFound) throw error;
      throw new TransportError(ErrorCode.Configuration, `RabbitMQ queue '${queue}' does not exist`, { cause: error });
    }
  });
}

function textHeaders(raw: ConsumeMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  const table = raw.properties.headers ?? {};
  for (const name in table) {
    const text = headerText(table[name]);
    if (text !== undefined) headers[name] = text;
  }
  return headers;
}

/** JSON.parse that refuses prototype-pollution keys, as core's codec does for Switchyard messages. */
function parseJson(content: Buffer): unknown {
  try {
    return JSON.parse(content.toString('utf8'), (key, value: unknown) => {
      if (
        key === '__proto__' ||
        (key === 'constructor' && typeof value === 'object' && value !== null && 'prototype' in value)
      ) {
        throw new Error(`forbidden key '${key}'`);
      }
      return value;
    });
  } catch (error) {
    throw new PoisonMessageError(ErrorCode.Decode, `message body is not safe JSON: ${describeError(error)}`, {
      cause: error,
    });
  }
}

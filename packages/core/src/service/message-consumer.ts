import type { StandardSchemaV1 } from '@standard-schema/spec';
import { ConfigurationError, describeError, ErrorCode, PoisonMessageError, TransportError } from '../errors.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import type { Handler, HandlerContext } from '../handlers/types.js';
import { Header } from '../message/codec.js';
import type { RetryPolicyOptions } from '../resilience/retry-policy.js';
import { splitBatches } from '../runtime/batch.js';
import type { Delivery, DeliveryHandler, Subscription, TransportMessage } from '../transport/types.js';
import { newId } from '../util/ids.js';
import type { ServiceMap } from './service-map.js';

/** A message from an endpoint Switchyard does not own, as the handler's `convert` sees it. */
export interface ForeignMessage {
  /** The JSON body, parsed safely. */
  readonly payload: unknown;
  /**
   * The message's metadata: its CloudEvents extensions and the broker headers
   * that are valid metadata keys (docs/wire-format.md, "Metadata keys"), under their own names.
   */
  readonly headers: Readonly<Record<string, string>>;
  /** The endpoint it came from. */
  readonly endpoint: string;
}

/** Options of {@link MessageConsumers.add}: give `schema` (with `messageName`), `convert`, or neither. */
export interface MessageConsumerOptions<T = unknown> {
  /** The destination to consume, as the broker names it (queue, topic, stream key). */
  readonly endpoint: string;
  /** Transport name from the service's `transports` (default: the service's own). */
  readonly transport?: string;
  /** Consumer group (Kafka, Redis); default `<service>.<endpoint>`. */
  readonly group?: string;
  /** Message name given to messages without a CloudEvents `type` (default: the endpoint). */
  readonly messageName?: string;
  /** A Standard Schema the payload must satisfy; a failing payload is dead-lettered (`SY_VALIDATION`), not retried. */
  readonly schema?: StandardSchemaV1<unknown, T>;
  /** Turn the foreign message into the handler's payload; a throw dead-letters it without retries. */
  readonly convert?: (message: ForeignMessage) => T | Promise<T>;
  /** Handler id (default `endpoint:<endpoint>`): retries and dead letters name it. */
  readonly name?: string;
  /** Instant and delayed retries of the handler (default: the service's policy); `retryable` is honoured. */
  readonly retry?: RetryPolicyOptions;
  /** Deliveries of this endpoint handled at once (default 1). */
  readonly concurrency?: number;
}

interface Entry {
  readonly options: MessageConsumerOptions;
  readonly channel: string;
}

/**
 * The message consumers of one service: each consumes one foreign endpoint
 * through the service's own receive pipeline, so a foreign message gets
 * exactly what a distributed message gets — safe decoding and size bound,
 * validation, inbox dedup, instant retries, delayed retries (re-sent to the
 * service's own inbox, addressed to this handler alone), dead letters in the
 * service's store with the reason, bounded concurrency and a graceful stop.
 *
 * A foreign message is given CloudEvents attributes before the pipeline sees
 * it: its own where it carries them (`ce-specversion` present), otherwise id
 * = the broker's message id (a generated one where the broker has none),
 * type = `messageName`, source = `endpoint:<endpoint>`, time = receive time,
 * and its headers as metadata.
 */
export class MessageConsumers {
  readonly #service: string;
  readonly #registry: HandlerRegistry;
  readonly #entries: Entry[] = [];
  readonly #subscriptions: Subscription[] = [];

  constructor(service: string, registry: HandlerRegistry) {
    this.#service = service;
    this.#registry = registry;
  }

  /** Register a consumer of `options.endpoint` running `handler`. Throws a ConfigurationError for bad options. */
  add<T>(options: MessageConsumerOptions<T>, handler: Handler<T>): void {
    if (typeof options?.endpoint !== 'string' || options.endpoint.length === 0) {
      throw new ConfigurationError('a message consumer needs the name of the endpoint to consume (`endpoint`)');
    }
    if (options.schema !== undefined && options.convert !== undefined) {
      throw new ConfigurationError(`message consumer of '${options.endpoint}': give 'schema' or 'convert', not both`);
    }
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new ConfigurationError(`message consumer concurrency must be a positive integer, got ${concurrency}`);
    }
    const channel = `endpoint:${options.endpoint}`;
    const convert = options.convert;
    const invoke: Handler = convert
      ? async (payload, context) => handler(await converted(convert, payload, context, options.endpoint), context)
      : (payload, context) => handler(payload as T, context);
    const userRetryable = options.retry?.retryable;
    const retry: RetryPolicyOptions = {
      ...options.retry,
      // A payload `convert` refuses stays refused: dead-letter it at once.
      retryable: (error) => !(error instanceof PoisonMessageError) && (userRetryable?.(error) ?? true),
    };
    const contract = options.schema
      ? { name: options.messageName ?? options.endpoint, kind: 'message' as const, schema: options.schema }
      : undefined;
    this.#registry.addEndpoint(channel, invoke, { name: options.name ?? channel, retry }, contract);
    this.#entries.push({ options: options as MessageConsumerOptions, channel });
  }

  /** Start consuming every endpoint; deliveries go to `receive` (the service's receiver). On failure none is left running. */
  async start(map: ServiceMap, receive: DeliveryHandler): Promise<void> {
    try {
      await this.#startAll(map, receive);
    } catch (error) {
      // All or nothing: a consumer that could not attach leaves none running (start may be tried again).
      await this.close({ drainTimeoutMs: 0 });
      throw error;
    }
  }

  async #startAll(map: ServiceMap, receive: DeliveryHandler): Promise<void> {
    for (const { options, channel } of this.#entries) {
      const transport =
        options.transport === undefined
          ? (await map.route(this.#service)).transport
          : await map.transport(options.transport);
      if (transport.consumeEndpoint === undefined) {
        throw new TransportError(
          ErrorCode.Configuration,
          `transport '${transport.name}' cannot consume foreign endpoints (it has no consumeEndpoint)`,
        );
      }
      const name = options.messageName ?? options.endpoint;
      const adapt = (delivery: Delivery): Delivery => ({
        message: toSwitchyard(delivery.message, { service: this.#service, channel, name, endpoint: options.endpoint }),
        channel: delivery.channel,
        deliveryCount: delivery.deliveryCount,
        ack: () => delivery.ack(),
        nack: (nackOptions) => delivery.nack(nackOptions),
      });
      const subscription = await transport.consumeEndpoint(
        options.endpoint,
        splitBatches((delivery) => receive(adapt(delivery))),
        {
          concurrency: options.concurrency ?? 1,
          group: options.group ?? `${this.#service}.${options.endpoint}`,
        },
      );
      this.#subscriptions.push(subscription);
    }
  }

  /** Stop every endpoint consumer (as `Subscription.close`). Idempotent. */
  async close(options?: { drainTimeoutMs?: number }): Promise<void> {
    await Promise.all(this.#subscriptions.splice(0).map((subscription) => subscription.close(options)));
  }
}

async function converted<T>(
  convert: (message: ForeignMessage) => T | Promise<T>,
  payload: unknown,
  context: HandlerContext,
  endpoint: string,
): Promise<T> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(context.headers.metadata)) headers[name] = value;
  try {
    return await convert({ payload, headers, endpoint });
  } catch (error) {
    throw new PoisonMessageError(ErrorCode.Validation, `convert refused the message: ${describeError(error)}`, {
      cause: error,
    });
  }
}

/**
 * The message as the receive pipeline reads it: a plain message to `channel`
 * of `service`. Keeps the foreign message's own CloudEvents attributes where
 * it has them, and its body unchanged (the decoder parses it safely).
 */
function toSwitchyard(
  message: TransportMessage,
  to: { service: string; channel: string; name: string; endpoint: string },
): TransportMessage {
  const h = message.headers;
  // A retry of this consumer's own message (re-sent to the service inbox) is already in Switchyard form.
  if (h[Header.endpoint] === to.channel && h[Header.targetService] === to.service) return message;
  const cloudEvent =
    h[Header.specversion] !== undefined || h[Header.contentType]?.startsWith('application/cloudevents');
  const id = h[Header.id] || message.id || newId();
  const headers: Record<string, string> = cloudEvent
    ? { ...h }
    : {
        [Header.specversion]: '1.0',
        [Header.id]: id,
        [Header.type]: to.name,
        [Header.source]: `endpoint:${to.endpoint}`,
        [Header.contentType]: h[Header.contentType] ?? 'application/json',
      };
  if (!cloudEvent) {
    // The broker's own headers travel as metadata under their own names (the decoder keeps the valid ones).
    for (const name in h) {
      if (name === Header.contentType) continue;
      const carried = /^[a-z0-9]{1,20}$/.test(name) ? `ce-${name}` : name;
      headers[carried] ??= h[name] as string;
    }
  }
  headers[Header.kind] = 'message';
  headers[Header.targetService] = to.service;
  headers[Header.endpoint] = to.channel;
  if (cloudEvent && headers[Header.type] === undefined) headers[Header.type] = to.name;
  const copy: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = { id, headers, body: message.body };
  if (message.key !== undefined) copy.key = message.key;
  return copy;
}

import { AckPolicy, DeliverPolicy, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  type ConsumeOptions,
  consumeLimits,
  type DeliveryHandler,
  type EndpointMessage,
  ErrorCode,
  type Subscription,
  TransportError,
} from '@switchyard/core/transport';
import type { ChannelConsumerParts } from './channel-consumer.js';
import { checkSize, encodedHeaders, headerBlock } from './codec.js';
import type { Connection } from './connection.js';
import { CoreSubscription } from './core-subscription.js';
import { ApiCode, isApiError, sendFailed, wrapError } from './errors.js';
import { channelToken } from './names.js';
import type { ResolvedOptions } from './options.js';
import type { Publisher } from './publisher.js';

/** Endpoint prefix naming a plain core-NATS subject (at most once) instead of a JetStream one. */
export const CORE_NATS = 'core:';

/** A foreign endpoint: the subject, and whether it is plain core NATS (`core:<subject>`). */
export interface Endpoint {
  readonly subject: string;
  readonly core: boolean;
}

const TOKEN = /^[^\s.*>]+$/;

/**
 * Parse `endpoint` (`<subject>` or `core:<subject>`). A subject is dot-separated non-empty
 * tokens without whitespace; `*` and a final `>` are allowed where `wildcards` is true (consuming).
 * Throws a TransportError (`SY_CONFIGURATION`) saying what is wrong.
 */
export function parseEndpoint(endpoint: string, wildcards: boolean): Endpoint {
  const core = endpoint.startsWith(CORE_NATS);
  const subject = core ? endpoint.slice(CORE_NATS.length) : endpoint;
  const tokens = subject.split('.');
  const valid = tokens.every(
    (token, i) => TOKEN.test(token) || (wildcards && (token === '*' || (token === '>' && i === tokens.length - 1))),
  );
  if (subject.length === 0 || !valid) {
    throw new TransportError(
      ErrorCode.Configuration,
      `nats: endpoint '${endpoint}' is not a NATS subject${wildcards ? '' : ' without wildcards'} (dot-separated tokens, optionally after 'core:')`,
    );
  }
  return { subject, core };
}

/** The stream that captures `subject`; rejects with `SY_CONFIGURATION` when none does. */
export async function streamOf(jsm: JetStreamManager, subject: string): Promise<string> {
  let stream: string | undefined;
  try {
    stream = await jsm.streams.find(subject);
  } catch (error) {
    if (!isApiError(error, ApiCode.StreamNotFound) && !/no stream matches/i.test(String(error))) throw error;
  }
  if (!stream) {
    throw new TransportError(
      ErrorCode.Configuration,
      `nats: no JetStream stream captures subject '${subject}'; name it 'core:${subject}' for plain core NATS (at most once)`,
    );
  }
  return stream;
}

/** Durable consumer name of an endpoint consumer group: `sy_ep_<group as one token>`. */
export function endpointConsumerName(group: string): string {
  return `sy_ep_${channelToken(group)}`;
}

/**
 * Declare the durable pull consumer `name` on the foreign `stream`, filtered on `subject`, from
 * the stream's first message (deliver all), with the transport's ack wait and `max_ack_pending`.
 * An existing consumer of that name is used as it is when its filter is `subject`, and refused
 * (`SY_CONFIGURATION`) otherwise: the group already consumes another subject.
 */
export async function ensureEndpointConsumer(
  jsm: JetStreamManager,
  target: { readonly stream: string; readonly name: string; readonly subject: string },
  options: ResolvedOptions,
): Promise<void> {
  const { stream, name, subject } = target;
  try {
    const info = await jsm.consumers.info(stream, name);
    if (info.config.filter_subject !== subject) {
      throw new TransportError(
        ErrorCode.Configuration,
        `nats: consumer '${name}' on stream '${stream}' filters '${info.config.filter_subject ?? '>'}', not '${subject}': give this endpoint consumer another group`,
      );
    }
    return;
  } catch (error) {
    if (!isApiError(error, ApiCode.ConsumerNotFound)) throw error;
  }
  await jsm.consumers.add(stream, {
    durable_name: name,
    filter_subject: subject,
    deliver_policy: DeliverPolicy.All,
    ack_policy: AckPolicy.Explicit,
    ack_wait: options.ackWaitMs * 1_000_000,
    max_deliver: -1,
    max_ack_pending: options.maxAckPending,
  });
}

/** Subjects known to be captured by a stream, checked once per transport (a send must not ask every time). */
export class EndpointStreams {
  readonly #known = new Set<string>();

  /** Resolves when a stream captures `subject`; rejects with `SY_CONFIGURATION` when none does. */
  async check(subject: string, jsm: () => Promise<JetStreamManager>): Promise<void> {
    if (this.#known.has(subject)) return;
    await streamOf(await jsm(), subject);
    this.#known.add(subject);
  }
}

/**
 * Publish raw messages to a plain core-NATS subject, headers exactly as given; resolves once the
 * server has processed them (a flush round trip): delivered, at most once, to whoever subscribes then.
 */
export async function publishCore(
  nc: NatsConnection,
  subject: string,
  messages: readonly EndpointMessage[],
): Promise<void> {
  for (const message of messages) {
    nc.publish(subject, message.body, { headers: encodedHeaders(headerBlock(message, undefined, true)) });
  }
  await nc.flush();
}

/** What {@link NatsEndpoints} needs from its transport. */
export interface NatsEndpointsParts {
  readonly connection: Connection;
  readonly publisher: Publisher;
  readonly options: ResolvedOptions;
  /** The transport's open subscriptions: a core one is added while open, for the transport's close. */
  readonly consumers: Set<Subscription>;
  /** The transport's channel consumer, run on a JetStream consumer of a foreign stream. */
  readonly consume: (
    endpoint: string,
    handler: DeliveryHandler,
    options: ConsumeOptions,
    target: NonNullable<ChannelConsumerParts['endpoint']>,
  ) => Promise<Subscription>;
}

/**
 * Subjects that Switchyard does not own, consumed and sent to through the transport's
 * connection: `<subject>` on JetStream (at least once), `core:<subject>` on plain core NATS (at
 * most once). See the transport's `consumeEndpoint` and `sendEndpoint` for the contract.
 */
export class NatsEndpoints {
  readonly #parts: NatsEndpointsParts;
  readonly #streams = new EndpointStreams();

  constructor(parts: NatsEndpointsParts) {
    this.#parts = parts;
  }

  /** See `NatsTransport.consumeEndpoint`. */
  async consume(
    endpoint: string,
    handler: DeliveryHandler,
    options: ConsumeOptions & { readonly group?: string },
  ): Promise<Subscription> {
    const { connection, consumers } = this.#parts;
    const { subject, core } = parseEndpoint(endpoint, true);
    const group = options.group ?? endpoint;
    if (core) {
      const subscription: CoreSubscription = await CoreSubscription.open({
        endpoint,
        subject,
        group: channelToken(group),
        nc: await connection.nc(),
        handler,
        concurrency: consumeLimits(options).concurrency,
        onClosed: () => consumers.delete(subscription),
      });
      consumers.add(subscription);
      return subscription;
    }
    let stream: string;
    try {
      stream = await streamOf(await connection.jsm(), subject);
    } catch (error) {
      throw wrapError(error, ErrorCode.TransportUnavailable, `looking up the stream of '${subject}' failed`);
    }
    const consumer = endpointConsumerName(group);
    return this.#parts.consume(endpoint, handler, options, {
      stream,
      consumer,
      ensure: async () =>
        ensureEndpointConsumer(await connection.jsm(), { stream, name: consumer, subject }, this.#parts.options),
    });
  }

  /** See `NatsTransport.sendEndpoint`. */
  async send(endpoint: string, messages: readonly EndpointMessage[]): Promise<void> {
    const { connection, publisher, options } = this.#parts;
    const { subject, core } = parseEndpoint(endpoint, false);
    for (const message of messages) checkSize(message, options.maxMessageBytes);
    if (messages.length === 0) return;
    try {
      if (core) return await publishCore(await connection.nc(), subject, messages);
      await this.#streams.check(subject, () => connection.jsm());
      await publisher.publish(messages.map((message) => ({ subject, message, raw: true })));
    } catch (error) {
      throw sendFailed(error, `send to endpoint '${endpoint}' failed`);
    }
  }
}

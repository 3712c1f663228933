import {
  ConfigurationError,
  type DeliveryHandler,
  type ReplyChannel,
  type ReplyChannels,
  type Subscription,
  type TransportMessage,
} from '@switchyard/core/transport';
import type { ConfirmPublisher } from './confirm-publisher.js';
import type { ConnectionManager } from './connection-manager.js';
import { helperName, sendError, withChannel } from './ops-channel.js';
import { publishOptions, toBuffer } from './wire.js';

/** What {@link RabbitReplyChannels} borrows from its transport. */
export interface RabbitReplySettings {
  readonly connection: ConnectionManager;
  readonly publisher: ConfirmPublisher;
  /** The transport's events exchange; reply queues are named `<exchange>.replies.<owner>`. */
  readonly exchange: string;
  readonly timeoutMs: number;
  /** The transport's consume: attaches (and re-attaches after a reconnect) calling `declare` first. */
  readonly consume: (
    queue: string,
    handler: DeliveryHandler,
    declare: (again: boolean) => Promise<void>,
    concurrency: number,
  ) => Promise<Subscription>;
  /** Throws `SY_CLOSED` once the transport is closing. */
  readonly assertOpen: () => void;
}

/** Replies handled at once per reply queue: core's reply handler only settles a waiting request. */
const REPLY_CONCURRENCY = 64;

/**
 * Reply channels on RabbitMQ: one non-durable classic queue per instance,
 * `<exchange>.replies.<owner>`, declared with `x-expires = expireAfterMs`, so the
 * broker deletes it (with what it holds) once it had no consumer for that long:
 * the cleanup after a crash. Not exclusive: a reply that arrives while the
 * connection is being re-established waits in the queue instead of being
 * lost with it, and the consumer re-declares the queue on every re-attach.
 *
 * Replies are published non-persistent to the default exchange (routing key
 * = queue name), with publisher confirms but not `mandatory`: a reply to a
 * queue that no longer exists is dropped by the broker and `send` resolves.
 *
 * Why not direct reply-to (`amq.rabbitmq.reply-to`): it only works when the
 * request is published on the very channel that consumes the pseudo-queue, and
 * the broker writes the real address into the AMQP `reply_to` property of that
 * publish. Core sends requests through the shared confirm channel and carries
 * the address in a CloudEvents header, and the address must outlive a
 * reconnect; direct reply-to would lose every reply of a dropped channel.
 */
export class RabbitReplyChannels implements ReplyChannels {
  readonly #settings: RabbitReplySettings;

  constructor(settings: RabbitReplySettings) {
    this.#settings = settings;
  }

  /** Declares the queue and consumes it; rejects with `SY_CONFIGURATION` for a non-integer `expireAfterMs` below 1. */
  async open(
    owner: string,
    handler: DeliveryHandler,
    options: { readonly expireAfterMs: number },
  ): Promise<ReplyChannel> {
    this.#settings.assertOpen();
    const { expireAfterMs } = options;
    if (!Number.isInteger(expireAfterMs) || expireAfterMs < 1) {
      throw new ConfigurationError(
        `reply channel expireAfterMs must be a positive integer, got ${String(expireAfterMs)}`,
      );
    }
    const { connection, exchange, timeoutMs } = this.#settings;
    const queue = helperName(exchange, 'replies', owner);
    const declare = async (): Promise<void> => {
      await withChannel(connection, timeoutMs, `declare reply queue '${queue}'`, (channel) =>
        channel.assertQueue(queue, { durable: false, arguments: { 'x-expires': expireAfterMs } }),
      );
    };
    const subscription = await this.#settings.consume(queue, handler, declare, REPLY_CONCURRENCY);
    let closing: Promise<void> | undefined;
    return {
      address: queue,
      close: () => {
        closing ??= (async () => {
          await subscription.close({ drainTimeoutMs: timeoutMs });
          await withChannel(connection, timeoutMs, `delete reply queue '${queue}'`, (channel) =>
            channel.deleteQueue(queue),
          );
        })();
        return closing;
      },
    };
  }

  /** Publishes non-persistent with a confirm; a missing queue drops the reply (not mandatory). */
  async send(address: string, message: TransportMessage): Promise<void> {
    this.#settings.assertOpen();
    const options = { ...publishOptions(message, false), persistent: false };
    try {
      await this.#settings.publisher.publish([
        { exchange: '', routingKey: address, body: toBuffer(message.body), options },
      ]);
    } catch (error) {
      throw sendError(error);
    }
  }
}

import {
  ConfigurationError,
  type DeliveryHandler,
  type ReplyChannel,
  type ReplyChannels,
  type Subscription,
  type TransportMessage,
} from '@switchyard/core/transport';
import type { Channel } from 'amqplib';
import type { ConnectionManager, LiveConnection } from './connection-manager.js';
import { drained, helperName, sendError, withChannel } from './ops-channel.js';
import { publishOptions, toBuffer } from './wire.js';

/** What {@link RabbitReplyChannels} borrows from its transport. */
export interface RabbitReplySettings {
  readonly connection: ConnectionManager;
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
 * = queue name), not `mandatory` (a reply to a queue that no longer exists is
 * dropped by the broker), on a channel of their own without publisher
 * confirms: `send` resolves once the reply is written to the connection, so
 * the request is acked without waiting a broker round trip (a confirm was a
 * third of a request's frames). What a confirm would add is little: a reply
 * that cannot be sent is dropped either way, never retried. The cost: when
 * the connection drops just after the reply was written, the reply may be
 * lost though the request was acked; its caller then times out. `send`
 * rejects when there is no connection or its channel is closed, and waits
 * for the socket to drain when its buffer is full (backpressure).
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
  #sender: ReplySender | undefined;

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

  /** Writes the reply non-persistent, without a confirm (see the class comment); a missing queue drops it. */
  send(address: string, message: TransportMessage): Promise<void> {
    try {
      this.#settings.assertOpen();
      const live = this.#settings.connection.current;
      const sender = this.#sender;
      if (live === undefined || sender === undefined || sender.generation !== live.generation || !sender.channel) {
        return this.#sendOnNewChannel(address, message);
      }
      return this.#publish(sender.channel, address, message);
    } catch (error) {
      return Promise.reject(sendError(error));
    }
  }

  async #sendOnNewChannel(address: string, message: TransportMessage): Promise<void> {
    try {
      const channel = await this.#replyChannel(await this.#settings.connection.get(this.#settings.timeoutMs));
      await this.#publish(channel, address, message);
    } catch (error) {
      throw sendError(error);
    }
  }

  #publish(channel: Channel, address: string, message: TransportMessage): Promise<void> {
    const options = publishOptions(message, false);
    options.persistent = false;
    if (channel.publish('', address, toBuffer(message.body), options)) return DONE;
    // The socket's buffer is full: resolve once it drained (or the channel is gone), as a confirm would have paced us.
    return drained(channel);
  }

  /** The plain (no confirms) channel replies go out on, one per connection, opened at the first reply. */
  #replyChannel(live: LiveConnection): Promise<Channel> {
    const current = this.#sender;
    if (current !== undefined && current.generation === live.generation) return current.opening;
    const sender: ReplySender = {
      generation: live.generation,
      channel: undefined,
      opening: live.model.createChannel().then((channel) => {
        channel.on('error', () => undefined);
        channel.on('close', () => {
          if (this.#sender === sender) this.#sender = undefined;
        });
        sender.channel = channel;
        return channel;
      }),
    };
    this.#sender = sender;
    sender.opening.catch(() => {
      if (this.#sender === sender) this.#sender = undefined;
    });
    return sender.opening;
  }
}

/** The reply channel of one connection: `channel` once open. */
interface ReplySender {
  readonly generation: number;
  readonly opening: Promise<Channel>;
  channel: Channel | undefined;
}

const DONE: Promise<void> = Promise.resolve();

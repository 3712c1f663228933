import type { NatsConnection, Subscription as NatsSubscription } from '@nats-io/transport-node';
import {
  type Delivery,
  type DeliveryHandler,
  ErrorCode,
  type NackOptions,
  type ReplyChannel,
  type ReplyChannels,
  settleOnce,
  type TransportMessage,
} from '@switchyard/core/transport';
import { checkSize, encodedHeaders, fromNats, headerBlock } from './codec.js';
import { wrapError } from './errors.js';
import { channelToken } from './names.js';

/** What {@link NatsReplyChannels} borrows from its transport. */
export interface NatsReplySettings {
  /** The transport's connection; rejects with `SY_CLOSED` once it is closed. */
  readonly connection: () => Promise<NatsConnection>;
  /** Reply subjects are `<prefix>.reply.<owner>`, outside the JetStream stream's subjects. */
  readonly prefix: string;
  readonly maxMessageBytes: number;
}

/**
 * Reply channels on core NATS (no JetStream): a plain subscription on the
 * subject `<prefix>.reply.<owner>` (the owner as one subject token). Nothing
 * is created on the server, so nothing is left behind: the subscription ends
 * with `close`, with the connection, or with the process; `expireAfterMs`
 * has nothing to do. The client subscribes again by itself after a reconnect.
 *
 * `send` is a core publish: at most once, unconfirmed (core NATS has no
 * publish acknowledgement), and a reply to a subject nobody subscribes to is
 * dropped by the server; one lost with a connection becomes a timeout at the
 * requester. It rejects only when the connection is closed or the reply is too large.
 *
 * `ack` has nothing to do; `nack` publishes the reply to the same subject
 * again after `delayMs`, with the delivery count one higher.
 */
export class NatsReplyChannels implements ReplyChannels {
  readonly #settings: NatsReplySettings;

  constructor(settings: NatsReplySettings) {
    this.#settings = settings;
  }

  /** Subscribes (resolving once the server has the subscription); `expireAfterMs` is not needed. */
  async open(owner: string, handler: DeliveryHandler): Promise<ReplyChannel> {
    const subject = `${this.#settings.prefix}.reply.${channelToken(owner)}`;
    let nc: NatsConnection;
    let subscription: NatsSubscription;
    try {
      nc = await this.#settings.connection();
      subscription = nc.subscribe(subject, {
        callback: (error, msg) => {
          if (error !== null) return;
          const received = fromNats(msg.headers, msg.data);
          const { [DELIVERIES_HEADER]: count, ...headers } = received.headers;
          const message = { ...received, headers };
          void this.#deliver(subject, handler, message, Number(count ?? '1'));
        },
      });
      // The server has the subscription once a round trip after it came back.
      await nc.flush();
    } catch (error) {
      throw wrapError(error, ErrorCode.TransportUnavailable, `subscribe to reply subject '${subject}' failed`);
    }
    let closing: Promise<void> | undefined;
    return {
      address: subject,
      close: () => {
        closing ??= (async () => {
          if (subscription.isClosed()) return;
          subscription.unsubscribe();
          await nc.flush().catch(() => undefined);
        })();
        return closing;
      },
    };
  }

  /** Core publish to `address`; see the class comment for what it does not guarantee. */
  send(address: string, message: TransportMessage): Promise<void> {
    return this.#publish(address, message, 1);
  }

  async #publish(address: string, message: TransportMessage, deliveries: number): Promise<void> {
    checkSize(message, this.#settings.maxMessageBytes);
    try {
      const counted =
        deliveries > 1
          ? { ...message, headers: { ...message.headers, [DELIVERIES_HEADER]: String(deliveries) } }
          : message;
      const headers = encodedHeaders(headerBlock(counted, undefined));
      (await this.#settings.connection()).publish(address, message.body, { headers });
    } catch (error) {
      throw wrapError(error, ErrorCode.SendFailed, `reply to '${address}' failed`);
    }
  }

  async #deliver(subject: string, handler: DeliveryHandler, message: TransportMessage, count: number): Promise<void> {
    const settle = settleOnce(
      async () => undefined,
      async (options?: NackOptions) => {
        const again = () => this.#publish(subject, message, count + 1).catch(() => undefined);
        if (options?.delayMs) setTimeout(again, options.delayMs).unref();
        else await again();
      },
    );
    const delivery: Delivery = { message, channel: subject, deliveryCount: count, ...settle };
    try {
      await handler(delivery);
    } catch {
      await delivery.nack().catch(() => undefined);
    }
  }
}

/** Delivery count of a reply published again by `nack`. */
const DELIVERIES_HEADER = 'sy-deliveries';

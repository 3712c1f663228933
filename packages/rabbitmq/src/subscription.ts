import {
  ConcurrencyGate,
  type Delivery,
  type NackOptions,
  type Subscription,
  settleOnce,
} from '@switchyard/core/transport';
import type { Channel, ConsumeMessage } from 'amqplib';
import { AckBatcher } from './ack-batcher.js';
import { type ConnectionManager, closeWithin } from './connection-manager.js';
import { deliveryCountOf, fromAmqp } from './wire.js';

/** A delivery with the raw AMQP message and a way to drop it for good (`basic.reject`, no requeue). */
export interface RabbitDelivery extends Delivery {
  readonly raw: ConsumeMessage;
  /** Reject without requeue: the queue's dead-letter exchange gets it, or the broker drops it. Settles like ack. */
  reject(): Promise<void>;
}

/** What a {@link RabbitSubscription} calls per delivery; a {@link DeliveryHandler} fits. */
export type RabbitDeliveryHandler = (delivery: RabbitDelivery) => Promise<void>;

/** Marks the internal nack that is a reject; never passed by callers. */
const REJECT: unique symbol = Symbol('reject');

/** Re-publishes a delivery to its delay queue and resolves once the broker confirmed it. */
export type Redelayer = (
  channel: string,
  message: ConsumeMessage,
  deliveryCount: number,
  delayMs: number,
) => Promise<void>;

/** What a {@link RabbitSubscription} is given. */
export interface SubscriptionSettings {
  readonly queue: string;
  readonly handler: RabbitDeliveryHandler;
  readonly concurrency: number;
  readonly prefetch: number;
  /** Without it, `nack({ delayMs })` requeues at once (foreign queues have no delay queues of ours). */
  readonly redelay?: Redelayer;
  /**
   * Declares the queue if it is missing; called before every attach. `again`
   * is true on re-attaches, when a cached answer may be stale (the queue may
   * have been deleted, which is also how a consumer gets cancelled).
   */
  readonly ensureQueue: (again: boolean) => Promise<void>;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly timeoutMs: number;
  /** Called once the subscription is closed, so the transport can forget it. */
  readonly onClosed: () => void;
}

/** The consumer's channel of the moment; deliveries remember the one they came from. */
interface Attachment {
  readonly channel: Channel;
  readonly acks: AckBatcher;
  consumerTag?: string;
  open: boolean;
}

/**
 * One consumer of one queue, on its own channel with `basic.qos(prefetch)`,
 * running at most `concurrency` handlers at once and acking manually after
 * the handler.
 *
 * Reconnect: when its channel closes (connection lost, queue deleted,
 * consumer cancelled), it re-attaches by itself with backoff on the next
 * connection. Deliveries from a dead channel cannot be settled any more: their
 * `ack` and `nack` resolve as no-ops and RabbitMQ redelivers the message,
 * which core's inbox recognises as a duplicate.
 */
export class RabbitSubscription implements Subscription {
  readonly #connection: ConnectionManager;
  readonly #settings: SubscriptionSettings;
  readonly #gate: ConcurrencyGate;
  #attachment: Attachment | undefined;
  #closing: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #failures = 0;

  constructor(connection: ConnectionManager, settings: SubscriptionSettings) {
    this.#connection = connection;
    this.#settings = settings;
    this.#gate = new ConcurrencyGate(settings.concurrency);
  }

  /** Attach for the first time; rejects (without retrying) if that fails. */
  async start(): Promise<void> {
    await this.#attach(false, this.#settings.timeoutMs);
  }

  close(options?: { drainTimeoutMs?: number }): Promise<void> {
    this.#closing ??= this.#close(options?.drainTimeoutMs ?? 30_000);
    return this.#closing;
  }

  async #close(drainTimeoutMs: number): Promise<void> {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    const attachment = this.#attachment;
    // Stop fetching first, so the drain below has an end.
    if (attachment?.open && attachment.consumerTag !== undefined) {
      await attachment.channel.cancel(attachment.consumerTag).catch(() => undefined);
    }
    await this.#gate.drain(drainTimeoutMs);
    if (attachment?.open) {
      attachment.acks.flush();
      attachment.open = false;
      // Closing the channel hands every unsettled delivery back to the queue.
      await closeWithin(attachment.channel.close());
    }
    this.#attachment = undefined;
    this.#settings.onClosed();
  }

  async #attach(again: boolean, timeoutMs?: number): Promise<void> {
    const live = await this.#connection.get(timeoutMs);
    await this.#settings.ensureQueue(again);
    const channel = await live.model.createChannel();
    const attachment: Attachment = { channel, acks: new AckBatcher(channel), open: true };
    channel.on('error', () => undefined);
    channel.on('close', () => {
      attachment.open = false;
      if (this.#attachment === attachment) {
        this.#attachment = undefined;
        this.#scheduleReattach();
      }
    });
    try {
      await channel.prefetch(this.#settings.prefetch);
      if (this.#closing) throw new Error('closed while attaching');
      this.#attachment = attachment;
      const reply = await channel.consume(this.#settings.queue, (message) => this.#onMessage(attachment, message), {
        noAck: false,
      });
      attachment.consumerTag = reply.consumerTag;
      this.#failures = 0;
    } catch (error) {
      if (this.#attachment === attachment) this.#attachment = undefined;
      attachment.open = false;
      await closeWithin(channel.close());
      throw error;
    }
  }

  #scheduleReattach(): void {
    if (this.#closing || this.#retryTimer) return;
    const { initialDelayMs, maxDelayMs } = this.#settings;
    const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    this.#retryTimer = setTimeout(
      () => {
        this.#retryTimer = undefined;
        if (this.#closing || this.#connection.closed) return;
        this.#attach(true).catch(() => this.#scheduleReattach());
      },
      base / 2 + (Math.random() * base) / 2,
    );
  }

  #onMessage(attachment: Attachment, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled the consumer (queue deleted): start over on a new channel.
      if (attachment.open) {
        attachment.open = false;
        attachment.channel.close().catch(() => undefined);
      }
      return;
    }
    attachment.acks.delivered(message.fields.deliveryTag);
    const delivery = this.#delivery(attachment, message);
    const gate = this.#gate;
    if (gate.hasRoom) {
      void gate.acquire();
      this.#run(delivery);
    } else {
      void gate.acquire().then(() => {
        // Its channel died while it waited for a slot: the broker redelivers it, so skip the work.
        if (attachment.open) this.#run(delivery);
        else gate.release();
      });
    }
  }

  #run(delivery: RabbitDelivery): void {
    let running: Promise<void>;
    try {
      running = this.#settings.handler(delivery);
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      () => this.#gate.release(),
      () =>
        delivery.nack().then(
          () => this.#gate.release(),
          () => this.#gate.release(),
        ),
    );
  }

  #delivery(attachment: Attachment, message: ConsumeMessage): RabbitDelivery {
    const { channel, acks } = attachment;
    const tag = message.fields.deliveryTag;
    const deliveryCount = deliveryCountOf(message, message.fields.redelivered);
    const ack = async (): Promise<void> => {
      // On a dead channel the ack is moot: the broker redelivers the message.
      if (attachment.open) acks.ack(tag);
    };
    const nack = async (options?: NackOptions & { [REJECT]?: true }): Promise<void> => {
      if (!attachment.open) return;
      if (options?.[REJECT]) {
        acks.settledElsewhere(tag);
        try {
          channel.reject(message, false);
        } catch {
          // As for ack.
        }
        return;
      }
      const delayMs = options?.delayMs ?? 0;
      const redelay = this.#settings.redelay;
      if (delayMs > 0 && redelay) {
        // Confirmed re-publish first: a crash in between duplicates the message, never loses it.
        await redelay(this.#settings.queue, message, deliveryCount, delayMs);
        return ack();
      }
      acks.settledElsewhere(tag);
      try {
        channel.nack(message, false, true);
      } catch {
        // As for ack.
      }
    };
    const settle = settleOnce(ack, nack);
    return {
      message: fromAmqp(message),
      channel: this.#settings.queue,
      deliveryCount,
      ack: settle.ack,
      nack: settle.nack,
      raw: message,
      reject: () => settle.nack({ [REJECT]: true } as NackOptions),
    };
  }
}

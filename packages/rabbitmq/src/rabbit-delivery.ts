import type { Delivery, NackOptions, TransportMessage } from '@switchyard/core/transport';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { AckBatcher } from './ack-batcher.js';
import { deliveryCountOf, fromAmqp } from './wire.js';

/** A delivery with the raw AMQP message and a way to drop it for good (`basic.reject`, no requeue). */
export interface RabbitDelivery extends Delivery {
  readonly raw: ConsumeMessage;
  /** Reject without requeue: the queue's dead-letter exchange gets it, or the broker drops it. Settles like ack. */
  reject(): Promise<void>;
}

/** Re-publishes a delivery to its delay queue and resolves once the broker confirmed it. */
export type Redelayer = (
  channel: string,
  message: ConsumeMessage,
  deliveryCount: number,
  delayMs: number,
) => Promise<void>;

/** The consumer's channel of the moment; deliveries remember the one they came from. */
export interface Attachment {
  readonly channel: Channel;
  readonly acks: AckBatcher;
  consumerTag?: string;
  open: boolean;
}

/** What the deliveries of one subscription share. */
export interface DeliverySource {
  readonly queue: string;
  /** Without it, `nack({ delayMs })` requeues at once (foreign queues have no delay queues of ours). */
  readonly redelay?: Redelayer | undefined;
}

const SETTLED: Promise<void> = Promise.resolve();

/**
 * One AMQP delivery as core sees it. `ack`, `nack` and `reject` are
 * idempotent and mutually exclusive: the first call settles, later calls
 * return its promise; a settle that failed (a delayed nack whose re-publish
 * was not confirmed) may be tried again. On a channel that died they resolve
 * as no-ops: the broker redelivers the message.
 *
 * A class, not an object of closures: a delivery used to cost five closures
 * and two promises before its handler ran. Its methods need their `this`
 * (call them on the delivery).
 */
export class AmqpDelivery implements RabbitDelivery {
  readonly message: TransportMessage;
  readonly channel: string;
  readonly deliveryCount: number;
  readonly raw: ConsumeMessage;
  readonly #attachment: Attachment;
  readonly #source: DeliverySource;
  #settling: Promise<void> | undefined;

  constructor(attachment: Attachment, source: DeliverySource, raw: ConsumeMessage) {
    this.#attachment = attachment;
    this.#source = source;
    this.raw = raw;
    this.channel = source.queue;
    this.deliveryCount = deliveryCountOf(raw, raw.fields.redelivered);
    this.message = fromAmqp(raw);
  }

  /** False once the channel it came from closed: it can no longer be settled, and the broker redelivers it. */
  get live(): boolean {
    return this.#attachment.open;
  }

  ack(): Promise<void> {
    if (this.#settling) return this.#settling;
    this.#ackNow();
    this.#settling = SETTLED;
    return SETTLED;
  }

  nack(options?: NackOptions): Promise<void> {
    if (this.#settling) return this.#settling;
    return this.#settle(this.#nack(options?.delayMs ?? 0));
  }

  reject(): Promise<void> {
    if (this.#settling) return this.#settling;
    const { open, acks, channel } = this.#attachment;
    if (open) {
      acks.settledElsewhere(this.raw.fields.deliveryTag);
      try {
        channel.reject(this.raw, false);
      } catch {
        // The channel closed: the broker requeues everything unacked on it.
      }
    }
    this.#settling = SETTLED;
    return SETTLED;
  }

  #settle(running: Promise<void>): Promise<void> {
    const settling = running.catch((error: unknown) => {
      this.#settling = undefined;
      throw error;
    });
    this.#settling = settling;
    return settling;
  }

  #ackNow(): void {
    // On a dead channel the ack is moot: the broker redelivers the message.
    if (this.#attachment.open) this.#attachment.acks.ack(this.raw.fields.deliveryTag);
  }

  async #nack(delayMs: number): Promise<void> {
    const { open, acks, channel } = this.#attachment;
    if (!open) return;
    const redelay = this.#source.redelay;
    if (delayMs > 0 && redelay) {
      // Confirmed re-publish first: a crash in between duplicates the message, never loses it.
      await redelay(this.#source.queue, this.raw, this.deliveryCount, delayMs);
      this.#ackNow();
      return;
    }
    acks.settledElsewhere(this.raw.fields.deliveryTag);
    try {
      channel.nack(this.raw, false, true);
    } catch {
      // As for reject.
    }
  }
}

import { ConcurrencyGate, type Subscription } from '@switchyard/core/transport';
import type { ConsumeMessage } from 'amqplib';
import { AckBatcher } from './ack-batcher.js';
import { type ConnectionManager, closeWithin } from './connection-manager.js';
import {
  AmqpDelivery,
  type Attachment,
  type DeliverySource,
  type RabbitDelivery,
  type Redelayer,
} from './rabbit-delivery.js';

/** What a {@link RabbitSubscription} calls per delivery; a {@link DeliveryHandler} fits. */
export type RabbitDeliveryHandler = (delivery: RabbitDelivery) => Promise<void>;

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
  readonly #source: DeliverySource;
  /** Deliveries waiting for a handler slot, oldest at `#queuedHead`. */
  readonly #queued: AmqpDelivery[] = [];
  #queuedHead = 0;
  #attachment: Attachment | undefined;
  #closing: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #failures = 0;

  constructor(connection: ConnectionManager, settings: SubscriptionSettings) {
    this.#connection = connection;
    this.#settings = settings;
    this.#gate = new ConcurrencyGate(settings.concurrency);
    this.#source = { queue: settings.queue, redelay: settings.redelay };
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
    const delivery = new AmqpDelivery(attachment, this.#source, message);
    const gate = this.#gate;
    if (gate.hasRoom) {
      void gate.acquire();
      void this.#run(delivery);
    } else {
      // Waits for a slot in arrival order; a finishing handler hands its slot straight over (see #run).
      // A queue of deliveries, not a waiting promise and two closures each: with prefetch above
      // concurrency, most deliveries of a busy consumer wait here.
      this.#queued.push(delivery);
    }
  }

  /** Runs `delivery` in the slot it holds, then the queued ones in that slot; never rejects. */
  async #run(first: AmqpDelivery): Promise<void> {
    let delivery: AmqpDelivery | undefined = first;
    while (delivery !== undefined) {
      try {
        await this.#settings.handler(delivery);
      } catch {
        await delivery.nack().catch(() => undefined);
      }
      delivery = this.#nextQueued();
    }
    this.#gate.release();
  }

  /** The oldest queued delivery whose channel is still open; those of a dead channel are skipped (the broker redelivers them). */
  #nextQueued(): AmqpDelivery | undefined {
    const queued = this.#queued;
    while (this.#queuedHead < queued.length) {
      const next = queued[this.#queuedHead] as AmqpDelivery;
      queued[this.#queuedHead++] = undefined as unknown as AmqpDelivery;
      if (this.#queuedHead === queued.length) {
        queued.length = 0;
        this.#queuedHead = 0;
      }
      if (next.live) return next;
    }
    return undefined;
  }
}
